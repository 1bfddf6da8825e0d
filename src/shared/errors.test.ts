import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import '../http/http.errors.ts';
import '../modules/accounts/accounts.errors.ts';
import '../modules/billing/billing.errors.ts';
import '../modules/billing/commerce/commerce.errors.ts';
import '../modules/campaigns/campaigns.errors.ts';
import '../modules/channels/channels.errors.ts';
import '../modules/contacts/contacts.errors.ts';
import '../modules/credentials/credentials.errors.ts';
import '../modules/compliance/protection/protection.errors.ts';
import '../modules/compliance/rules/rules.errors.ts';
import '../modules/compliance/settings/settings.errors.ts';
import '../modules/compliance/signatures/signatures.errors.ts';
import '../modules/compliance/templates/templates.errors.ts';
import '../modules/messages/messages.errors.ts';
import '../modules/metrics/metrics.errors.ts';
import '../modules/smpp-server/smpp-accounts.errors.ts';
import '../modules/routing/routing.errors.ts';
import '../modules/shortlinks/shortlinks.errors.ts';
import '../modules/tenants/tenants.errors.ts';
import '../modules/verifications/verifications.errors.ts';
import '../modules/webhooks/webhooks.errors.ts';
import { registeredErrors } from './errors.ts';

describe('error codes', () => {
  it('docs/errors.md lists exactly the codes that exist, with their HTTP status', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    const documented = new Map<string, number>();
    for (const match of doc.matchAll(/^\| `([a-z_]+\.[a-z_]+)` \| (\d{3}) \|/gm))
      documented.set(match[1]!, Number(match[2]));
    const actual = new Map(registeredErrors().map((e) => [e.code, e.statusCode]));
    expect([...documented.keys()].sort()).toEqual([...actual.keys()].sort());
    for (const [code, status] of actual)
      expect({ code, status: documented.get(code) }).toEqual({ code, status });
  });

  it('codes are dotted area.reason', () => {
    for (const e of registeredErrors()) expect(e.code).toMatch(/^[a-z]+\.[a-z_]+$/);
  });
});
