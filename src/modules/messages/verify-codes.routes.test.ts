// A code the Verify API sent is never read back through a message view: GET /v1/messages, GET
// /v1/messages/{id} and the CSV export show it as asterisks of its length to the owner, the
// viewer and the API key, before and after the code is checked, while the stored row (what the
// carrier gets) keeps it. A verification-type message the tenant wrote itself is its own text and
// is shown as written.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { loginAs, newMember, withSession } from '../accounts/accounts.testkit.ts';
import { twilioMessageSid } from '../compat/compat.models.ts';
import { createApprovedTemplate } from '../compliance/templates/templates.usecases.ts';
import { SCOPES } from '../credentials/credentials.models.ts';
import { createCredentialsRepository } from '../credentials/credentials.repository.ts';
import { createCredential } from '../credentials/credentials.usecases.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
let tenant: Awaited<ReturnType<typeof newTenant>>;
let now = new Date('2026-11-30T10:00:00Z');
const clock = { now: () => now };
const readers: Record<string, Record<string, string>> = {};

/** What went to the carrier: the stored rows, by message id. */
const stored = new Map<string, string>();
const verifyMessages: { id: string; code: string }[] = [];
let ownMessageId = '';
const OWN_TEXT = '您的验证码是246810，5分钟内有效';
let twilio = { sid: '', auth: {} as Record<string, string> };

async function storedContent(id: string) {
  const r = await t.db.pool.query<{ content: string }>('select content from messages where id = $1', [id]);
  return r.rows[0]!.content;
}

/** Sends a code and reads it from the stored row: the first run of digits after `after`. */
async function sendCode(payload: object, after = '') {
  const r = await app.inject({ method: 'POST', url: '/v1/verifications', headers: tenant.auth, payload });
  expect(r.statusCode, r.body).toBe(201);
  const id = r.json<{ message_id: string }>().message_id;
  const content = await storedContent(id);
  stored.set(id, content);
  const text = content.replace(/^【[^】]*】/, '');
  const code = /(\d{4,8})/.exec(after === '' ? text : text.slice(text.indexOf(after)))![1]!;
  verifyMessages.push({ id, code });
  return code;
}

/** The content with the code as asterisks: what every reader must see. */
const masked = (content: string, code: string) => content.replace(code, '*'.repeat(code.length));

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app, ctx } = await buildTestApp(t.db, { clock }));
  tenant = await newTenant(ctx, 'Masked');
  readers.key = tenant.auth;
  for (const role of ['owner', 'viewer'] as const) {
    const m = await newMember(t.db, tenant.tenantId, `${role}@mask.cn`, role);
    readers[role] = withSession((await loginAs(app, m.email, m.password)).browser!);
  }
  // A tenant's own Verify template whose other variable holds digits (shorter than any code, so
  // never the code by chance): only the code is masked.
  const template = await createApprovedTemplate({
    db: t.db.pool,
    tenantId: tenant.tenantId,
    input: {
      name: 'Order code',
      type: 'verification',
      content: '订单{order}的验证码{code}，5分钟内有效',
      variables: [
        { name: 'order', kind: 'number' },
        { name: 'code', kind: 'code' },
      ],
    },
  });
  const { credential, appSecret } = await createCredential({
    tenantId: tenant.tenantId,
    name: 'twilio',
    scopes: [...SCOPES],
    repository: createCredentialsRepository(t.db.pool),
    keyRing: ctx.keyRing,
  });
  twilio = {
    sid: credential.twilio_account_sid,
    auth: {
      authorization: `Basic ${Buffer.from(`${credential.twilio_account_sid}:${appSecret}`).toString('base64')}`,
    },
  };
  await sendCode({ to: '13800138000', purpose: 'login' });
  await sendCode({ to: '13800138001', language: 'en', code_length: 8 });
  const withOrder = await sendCode(
    {
      to: '13800138003',
      template_id: template.id,
      code_length: 4,
      params: { order: '915' },
    },
    '验证码',
  );
  expect(stored.get(verifyMessages.at(-1)!.id)).toContain(`订单915的验证码${withOrder}`);
  // A resend of the first code 61 s later: the same code in a second message.
  now = new Date(now.getTime() + 61_000);
  const again = await sendCode({ to: '13800138000', purpose: 'login' });
  expect(again).toBe(verifyMessages[0]!.code);
  const own = await app.inject({
    method: 'POST',
    url: '/v1/messages',
    headers: tenant.auth,
    payload: { to: '13800138002', type: 'verification', content: OWN_TEXT },
  });
  expect(own.statusCode, own.body).toBe(202);
  ownMessageId = own.json<{ id: string }>().id;
  stored.set(ownMessageId, await storedContent(ownMessageId));
});

afterAll(async () => {
  await app?.close();
  await t?.drop();
});

async function listedContents(auth: Record<string, string>) {
  const r = await app.inject({ method: 'GET', url: '/v1/messages?limit=100', headers: auth });
  expect(r.statusCode, r.body).toBe(200);
  return new Map(r.json<{ data: { id: string; content: string }[] }>().data.map((m) => [m.id, m.content]));
}

async function detailContent(auth: Record<string, string>, id: string) {
  const r = await app.inject({ method: 'GET', url: `/v1/messages/${id}`, headers: auth });
  expect(r.statusCode, r.body).toBe(200);
  return r.json<{ content: string }>().content;
}

function expectMasked(seen: string | undefined, id: string, code: string) {
  const content = stored.get(id)!;
  expect(content).toContain(code);
  expect(seen).toBe(masked(content, code));
  expect(seen).not.toContain(code);
  expect(seen!.length).toBe(content.length);
}

describe('a Verify API code in message views', () => {
  it.each(['owner', 'viewer', 'key'])(
    'is asterisks of its length in the list and the detail (%s)',
    async (who) => {
      const auth = readers[who]!;
      const listed = await listedContents(auth);
      for (const { id, code } of verifyMessages) {
        expectMasked(listed.get(id), id, code);
        expectMasked(await detailContent(auth, id), id, code);
      }
      expect(masked(stored.get(verifyMessages[1]!.id)!, verifyMessages[1]!.code)).toContain('********');
      expect(listed.get(verifyMessages[2]!.id)).toContain('订单915的验证码****，');
    },
  );

  it('is asterisks in the Twilio-compatible API, fetched and listed', async () => {
    const base = `/2010-04-01/Accounts/${twilio.sid}/Messages`;
    const r = await app.inject({ method: 'GET', url: `${base}.json?PageSize=100`, headers: twilio.auth });
    expect(r.statusCode, r.body).toBe(200);
    const bodies = new Map(
      r.json<{ messages: { sid: string; body: string }[] }>().messages.map((m) => [m.sid, m.body]),
    );
    for (const { id, code } of verifyMessages) {
      expectMasked(bodies.get(twilioMessageSid(id)), id, code);
      const one = await app.inject({
        method: 'GET',
        url: `${base}/${twilioMessageSid(id)}.json`,
        headers: twilio.auth,
      });
      expect(one.statusCode, one.body).toBe(200);
      expectMasked(one.json<{ body: string }>().body, id, code);
    }
    expect(bodies.get(twilioMessageSid(ownMessageId))).toBe(stored.get(ownMessageId));
  });

  it('leaves a verification message the tenant wrote itself as written', async () => {
    for (const who of ['owner', 'viewer', 'key']) {
      expect((await listedContents(readers[who]!)).get(ownMessageId)).toBe(stored.get(ownMessageId));
      expect(await detailContent(readers[who]!, ownMessageId)).toBe(stored.get(ownMessageId));
    }
    expect(stored.get(ownMessageId)).toContain(OWN_TEXT);
  });

  it('is asterisks in the CSV export; the tenant-written code is not', async () => {
    const r = await app.inject({ method: 'GET', url: '/v1/messages/export', headers: readers.owner! });
    expect(r.statusCode, r.body).toBe(200);
    for (const { id, code } of verifyMessages) {
      expect(r.body).not.toContain(code);
      const line = r.body.split('\n').find((l) => l.startsWith(`${id},`));
      expect(line, r.body).toContain(masked(stored.get(id)!, code));
    }
    expect(r.body).toContain(OWN_TEXT);
    // The viewer may not export at all (messages.export).
    const viewer = await app.inject({ method: 'GET', url: '/v1/messages/export', headers: readers.viewer! });
    expect(viewer.statusCode).toBe(403);
  });

  it('stays masked once the code is checked and its sealed copy is gone, and the row keeps it', async () => {
    const { id, code } = verifyMessages[0]!;
    const check = await app.inject({
      method: 'POST',
      url: '/v1/verifications/check',
      headers: tenant.auth,
      payload: { to: '13800138000', purpose: 'login', code },
    });
    expect(check.json().status).toBe('approved');
    const sealed = await t.db.pool.query('select code_sealed from verifications where last_message_id = $1', [
      verifyMessages[3]!.id,
    ]);
    expect(sealed.rows[0].code_sealed).toBeNull();
    for (const who of ['owner', 'viewer']) {
      expectMasked(await detailContent(readers[who]!, id), id, code);
      expectMasked(
        (await listedContents(readers[who]!)).get(verifyMessages[3]!.id),
        verifyMessages[3]!.id,
        code,
      );
    }
    for (const m of verifyMessages) expect(await storedContent(m.id)).toContain(m.code);
  });
});
