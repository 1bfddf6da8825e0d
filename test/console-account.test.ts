// The tenant console's account and developer pages in a real browser (playwright-core driving the
// Debian Chromium) against a running Hongyan, the console built and served as `hongyan start` does:
// two-factor set up on the Security page and then asked for at login, the other sessions signed
// out, the webhook delivery log paged past its first page and a delivery replayed from its row,
// members added, given another role and removed, and an API credential created with an IP
// allowlist. Each change is read back through the API. The tenant works in English.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountsRepository } from '../src/modules/accounts/accounts.repository.ts';
import { newMember } from '../src/modules/accounts/accounts.testkit.ts';
import { createTenant } from '../src/modules/accounts/accounts.usecases.ts';
import { base32Decode, totp } from '../src/modules/accounts/totp.models.ts';
import {
  type ConsoleRig,
  haveChromium,
  logInMember,
  openConsole,
  pickOption,
  poll,
  startConsoleRig,
  warnIfNoChromium,
} from './helpers/console.ts';

warnIfNoChromium('console account browser tests');

let rig: ConsoleRig;
let tenantId: number;
const owner = { email: 'owner@account.test', password: 'correct horse battery' };
const securityMember = { email: 'security@account.test', password: 'first password 123' };
const sessionsMember = { email: 'sessions@account.test', password: 'first password 123' };

async function apiGet<T>(page: Page, path: string): Promise<T> {
  const res = await page.request.get(path);
  expect(res.status(), `${path}: ${await res.text()}`).toBe(200);
  return (await res.json()) as T;
}

/** A change through the page's session, with the CSRF token the console echoes. */
async function apiPost<T>(page: Page, path: string, body: unknown): Promise<T> {
  const cookies = await page.context().cookies();
  const csrf = cookies.find((c) => c.name === 'hy_csrf')?.value ?? '';
  const res = await page.request.post(path, { data: body, headers: { 'x-csrf-token': csrf } });
  expect(res.ok(), `${path}: ${await res.text()}`).toBe(true);
  return (await res.json()) as T;
}

/** The text of the error the page shows (an Alert of type error), or '' when none. */
async function errorShown(page: Page): Promise<string> {
  const alerts = page.locator('.ant-alert-error .ant-alert-message');
  return (await alerts.count()) ? ((await alerts.first().textContent()) ?? '') : '';
}

beforeAll(async () => {
  if (!haveChromium) return;
  rig = await startConsoleRig({
    // The endpoint registered below points at this machine; nothing listens there.
    HONGYAN_WEBHOOK_ALLOW_RANGES: '127.0.0.1/32',
  });
  const { db } = rig.t;
  const created = await createTenant({ name: 'account', repository: createAccountsRepository(db.kysely) });
  tenantId = Number(created.tenant.id);
  await newMember(db, created.tenant.id, owner.email, 'owner', owner.password);
  await newMember(db, created.tenant.id, securityMember.email, 'viewer', securityMember.password);
  await newMember(db, created.tenant.id, sessionsMember.email, 'developer', sessionsMember.password);
}, 240_000);

afterAll(() => rig?.close());

describe.skipIf(!haveChromium)('the console account pages in Chromium', () => {
  it('sets up two-factor on the Security page, then asks for a code at login', async () => {
    const page = await openConsole(rig, { lang: 'en-US' });
    const other = await openConsole(rig, { lang: 'en-US' });
    await logInMember(page, securityMember);
    await logInMember(other, securityMember);

    await page.getByRole('menuitem', { name: 'Security' }).click();
    await page.waitForURL('**/security');
    await expect.poll(() => page.getByTestId('two-factor-state').textContent()).toBe('Off');
    await page.getByRole('button', { name: 'Set up two-factor' }).click();
    await page.locator('canvas').first().waitFor(); // the QR code of the otpauth:// URI
    const secret = (await page.getByTestId('two-factor-secret').textContent())!.trim();
    expect(secret).toMatch(/^[A-Z2-7]+=*$/);
    const codeAt = (offsetSeconds: number) =>
      totp(base32Decode(secret), Math.floor(Date.now() / 1000) + offsetSeconds);
    // A wrong code is refused with the API's code, and two-factor stays off.
    const wrong = [0, -30, 30].some((o) => codeAt(o) === '000000') ? '111111' : '000000';
    await page.getByTestId('two-factor-code').fill(wrong);
    await page.getByRole('button', { name: 'Turn on' }).click();
    await poll(() => errorShown(page)).toContain('auth.invalid_code');
    await expect.poll(() => page.getByTestId('two-factor-state').textContent()).toBe('Off');
    // The previous step's code, so the login below (this step's code) is not a replay.
    await page.getByTestId('two-factor-code').fill(codeAt(-30));
    await page.getByRole('button', { name: 'Turn on' }).click();
    const codes = (await page.getByTestId('recovery-codes').textContent())!;
    expect(codes.trim().split('\n')).toHaveLength(10);
    await expect.poll(() => page.getByTestId('two-factor-state').textContent()).toBe('On');
    const me = await apiGet<{ two_factor: { enabled: boolean; recovery_codes_left: number } }>(
      page,
      '/v1/auth/me',
    );
    expect(me.two_factor).toMatchObject({ enabled: true, recovery_codes_left: 10 });
    // Turning two-factor on ended the session opened without it.
    expect((await other.request.get('/v1/auth/me')).status()).toBe(401);
    await other.context().close();

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL('**/login');
    await page.getByLabel('Email or username').fill(securityMember.email);
    await page.getByLabel('Password').fill(securityMember.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByLabel('Code').fill(codeAt(0));
    await page.getByRole('button', { name: 'Verify' }).click();
    await poll(() => page.getByTestId('account').textContent()).toBe(securityMember.email);
    expect(await apiGet<{ stage: string }>(page, '/v1/auth/me')).toMatchObject({ stage: 'active' });

    // Turning it off needs the password; a wrong one is refused.
    await page.goto('/security');
    await page.getByTestId('two-factor-disable-password').fill('not the password');
    await page.getByRole('button', { name: 'Turn off two-factor' }).click();
    await poll(() => errorShown(page)).toContain('auth.invalid_credentials');
    await page.getByTestId('two-factor-disable-password').fill(securityMember.password);
    await page.getByRole('button', { name: 'Turn off two-factor' }).click();
    await expect.poll(() => page.getByTestId('two-factor-state').textContent()).toBe('Off');
    expect((await apiGet<{ two_factor: { enabled: boolean } }>(page, '/v1/auth/me')).two_factor.enabled).toBe(
      false,
    );
    await page.context().close();
  }, 180_000);

  it('takes a member whose tenant requires two-factor to the Security page until it is on', async () => {
    const { db } = rig.t;
    const required = await createTenant({
      name: 'two-factor required',
      repository: createAccountsRepository(db.kysely),
    });
    await db.pool.query('update tenants set require_two_factor = true where id = $1', [required.tenant.id]);
    const member = { email: 'enrol@account.test', password: 'first password 123' };
    await newMember(db, required.tenant.id, member.email, 'developer', member.password);

    const page = await openConsole(rig, { lang: 'en-US' });
    await logInMember(page, member);
    await page.waitForURL('**/security');
    await page.getByText('The operator requires two-factor for this account.').waitFor();
    expect((await page.request.get('/v1/webhooks/endpoints')).status()).toBe(403);
    await page.goto('/developers');
    await page.waitForURL('**/security');

    await page.getByRole('button', { name: 'Set up two-factor' }).click();
    const secret = (await page.getByTestId('two-factor-secret').textContent())!.trim();
    await page.getByTestId('two-factor-code').fill(totp(base32Decode(secret), Math.floor(Date.now() / 1000)));
    await page.getByTestId('two-factor-code').press('Enter');
    await page.getByTestId('recovery-codes').waitFor();
    expect(await apiGet<{ stage: string }>(page, '/v1/auth/me')).toMatchObject({ stage: 'active' });
    // Required two-factor cannot be turned off here.
    expect(await page.getByRole('button', { name: 'Turn off two-factor' }).count()).toBe(0);
    await page.getByRole('menuitem', { name: 'Developers' }).click();
    await page.waitForURL('**/developers');
    await page.getByTestId('credential-name').waitFor();
    await page.context().close();
  }, 180_000);

  it('changes the password and signs the other sessions out', async () => {
    const page = await openConsole(rig, { lang: 'en-US' });
    const other = await openConsole(rig, { lang: 'en-US' });
    await logInMember(page, sessionsMember);
    await logInMember(other, sessionsMember);

    await page.goto('/security');
    await page.getByText('This session').waitFor();
    await poll(() => page.getByRole('button', { name: 'Sign out', exact: true }).count()).toBe(1);
    await page.getByRole('button', { name: 'Sign out other sessions' }).click();
    await page.locator('.ant-popconfirm').getByRole('button', { name: 'Sign out other sessions' }).click();
    await poll(() => page.getByRole('button', { name: 'Sign out', exact: true }).count()).toBe(0);
    expect((await other.request.get('/v1/auth/me')).status()).toBe(401);
    const sessions = await apiGet<{ sessions: { current: boolean }[] }>(page, '/v1/auth/sessions');
    expect(sessions.sessions).toEqual([expect.objectContaining({ current: true })]);

    const next = 'second password 456';
    await page.getByLabel('Current password').fill('not the password');
    await page.getByLabel('New password', { exact: true }).fill(next);
    await page.getByLabel('New password again').fill(next);
    await page.getByRole('button', { name: 'Change password' }).click();
    await poll(() => errorShown(page)).toContain('auth.invalid_credentials');
    await page.getByLabel('Current password').fill(sessionsMember.password);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Password changed').waitFor();
    // This session goes on; the new password logs in, the old one no longer does.
    expect((await page.request.get('/v1/auth/me')).status()).toBe(200);
    const login = (password: string) =>
      other.request.post('/v1/auth/login', { data: { login: sessionsMember.email, password } });
    expect((await login(sessionsMember.password)).status()).toBe(401);
    expect((await login(next)).status()).toBe(200);
    await other.context().close();
    await page.context().close();
  }, 180_000);

  it('pages the webhook deliveries past the first 20 and replays one from its row', async () => {
    const page = await openConsole(rig, { lang: 'en-US' });
    await logInMember(page, owner);
    const { endpoint } = await apiPost<{ endpoint: { id: string } }>(page, '/v1/webhooks/endpoints', {
      url: 'http://127.0.0.1:9/hooks/account',
      events: ['message.status'],
    });
    // 25 dead-lettered deliveries: the log shows 20 a page, newest first.
    const { rows } = await rig.t.db.pool.query<{ id: string }>(
      `insert into webhook_deliveries (tenant_id, endpoint_id, event_id, event_type, payload, state, attempts, done_at)
       select $1, $2, e, 'message.status',
              jsonb_build_object('id', e::text, 'type', 'message.status', 'data', '{}'::jsonb), 'dead', 1, now()
         from (select nextval('webhook_event_ids') as e from generate_series(1, 25)) s
       returning id`,
      [tenantId, Number(endpoint.id)],
    );
    const ids = rows.map((r) => String(r.id)).sort((a, b) => Number(a) - Number(b));
    const oldest = ids[0]!;
    const newest = ids.at(-1)!;

    await page.getByRole('menuitem', { name: 'Developers' }).click();
    const log = page.locator('.ant-card', { hasText: 'Webhook deliveries' });
    await log.getByTestId(`replay-${newest}`).waitFor();
    expect(await log.getByTestId(`replay-${oldest}`).count()).toBe(0);
    await log.getByRole('button', { name: 'Next' }).click();
    await log.getByTestId(`replay-${oldest}`).waitFor();
    expect(await log.getByTestId(`replay-${newest}`).count()).toBe(0);
    await expect.poll(() => log.locator('tbody tr.ant-table-row').count()).toBe(5);

    await log.getByTestId(`replay-${oldest}`).focus();
    await page.keyboard.press('Enter');
    const shown = (await log.getByTestId('replayed').textContent())!;
    const replayId = /delivery (\d+)/.exec(shown)?.[1];
    expect(replayId, shown).toBeTruthy();
    const replay = await apiGet<{ replay_of: string; event_id: string }>(
      page,
      `/v1/webhooks/deliveries/${replayId}`,
    );
    const original = await apiGet<{ event_id: string }>(page, `/v1/webhooks/deliveries/${oldest}`);
    expect(replay).toMatchObject({ replay_of: oldest, event_id: original.event_id });
    // A pending delivery has no Replay: the new one, on the first page.
    await log.getByRole('button', { name: 'Previous' }).click();
    await log.locator('tr', { hasText: replayId }).first().waitFor();
    expect(await log.getByTestId(`replay-${replayId}`).count()).toBe(0);
    await page.context().close();
  }, 180_000);

  it('adds a member with a generated password, changes the role and removes the member', async () => {
    const page = await openConsole(rig, { lang: 'en-US' });
    await logInMember(page, owner);
    await page.getByRole('menuitem', { name: 'Members' }).click();
    const email = 'added@account.test';
    const member = async () =>
      (await apiGet<{ data: { email: string; role: string }[] }>(page, '/v1/members')).data.find(
        (m) => m.email === email,
      );

    await page.getByTestId('member-email').fill(email);
    await pickOption(page.getByTestId('member-role'), 'Developer');
    await page.getByTestId('member-add').click();
    const password = (await page.getByTestId('member-password').textContent())!.trim();
    expect(await member()).toMatchObject({ role: 'developer' });
    const added = await openConsole(rig, { lang: 'en-US' });
    await logInMember(added, { email, password });
    await added.context().close();

    // The same address again is refused with the API's code.
    await page.getByTestId('member-email').fill(email);
    await page.getByTestId('member-add').click();
    await poll(() => errorShown(page)).toContain('members.email_taken');

    await pickOption(page.getByTestId(`member-role-${email}`), 'Viewer');
    await page.getByText("Role changed; the member's sessions have ended.").waitFor();
    expect(await member()).toMatchObject({ role: 'viewer' });

    await page.getByTestId(`member-remove-${email}`).click();
    await page.locator('.ant-popconfirm').getByRole('button', { name: 'Remove' }).click();
    await page.getByTestId(`member-remove-${email}`).waitFor({ state: 'detached' });
    expect(await member()).toBeUndefined();
    await page.context().close();
  }, 180_000);

  it('creates an API credential with an IP allowlist and changes the list', async () => {
    const page = await openConsole(rig, { lang: 'en-US' });
    await logInMember(page, owner);
    await page.goto('/developers');
    await page.getByTestId('credential-name').fill('office only');
    await page.getByTestId('credential-allow').fill('203.0.113.0/24, 2001:db8::/32');
    await page.getByTestId('credential-create').click();
    expect((await page.getByTestId('credential-secret').textContent())!.trim()).not.toBe('');
    const list = await apiGet<{ data: { id: number; name: string; allow: string[] }[] }>(
      page,
      '/v1/credentials',
    );
    expect(list.data.find((c) => c.name === 'office only')?.allow).toEqual([
      '203.0.113.0/24',
      '2001:db8::/32',
    ]);
    await page.locator('tr', { hasText: 'office only' }).getByText('203.0.113.0/24, 2001:db8::/32').waitFor();

    // The allowlist of the live credential changed from its row, with the keyboard.
    const id = list.data.find((c) => c.name === 'office only')!.id;
    await page.getByTestId(`credential-allow-${id}`).click();
    const edit = page.getByTestId('credential-edit-allow');
    await expect.poll(() => edit.inputValue()).toBe('203.0.113.0/24, 2001:db8::/32');
    await edit.fill('198.51.100.0/24');
    await edit.press('Enter');
    await edit.waitFor({ state: 'detached' });
    const changed = await apiGet<{ data: { id: number; allow: string[] }[] }>(page, '/v1/credentials');
    expect(changed.data.find((c) => c.id === id)?.allow).toEqual(['198.51.100.0/24']);
    await page.locator('tr', { hasText: 'office only' }).getByText('198.51.100.0/24').waitFor();

    // An address that is not one is refused with the API's code, and nothing is created.
    await page.getByTestId('credential-name').fill('bad allowlist');
    await page.getByTestId('credential-allow').fill('not-an-address');
    await page.getByTestId('credential-create').click();
    await poll(() => errorShown(page)).toContain('credentials.invalid');
    const after = await apiGet<{ data: { name: string }[] }>(page, '/v1/credentials');
    expect(after.data.map((c) => c.name)).toEqual(['office only']);
    await page.context().close();
  }, 180_000);
});
