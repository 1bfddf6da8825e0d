// Hostile input answered through inject(): each case gets its own documented 4xx code, and
// nothing it carried is stored.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../test/helpers/app.ts';
import { createTestDatabase } from '../../test/helpers/db.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let tenant: Awaited<ReturnType<typeof newTenant>>;

beforeAll(async () => {
  t = await createTestDatabase();
  const built = await buildTestApp(t.db);
  app = built.app;
  tenant = await newTenant(built.ctx, 'A');
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

const sendRaw = (payload: string, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url: '/v1/messages',
    headers: { ...tenant.auth, 'content-type': 'application/json', ...headers },
    payload,
  });
const send = (body: unknown) => sendRaw(JSON.stringify(body));
const get = (url: string) => app.inject({ method: 'GET', url, headers: tenant.auth });

async function count() {
  return Number((await t.db.pool.query('select count(*) from messages')).rows[0].count);
}

function expectError(res: { statusCode: number; json: () => unknown }, status: number, code: string) {
  expect({ status: res.statusCode, body: res.json() }).toMatchObject({
    status,
    body: { error: { code, message: expect.any(String) } },
  });
}

describe('strings PostgreSQL cannot store', () => {
  it('refuses a NUL in content or client_ref with request.invalid_text, naming the field', async () => {
    const before = await count();
    const nulContent = await sendRaw('{"to":"+8613800138000","content":"a\\u0000b"}');
    expectError(nulContent, 400, 'request.invalid_text');
    expect(nulContent.json().error.details).toEqual({ path: '/content', reason: 'nul' });
    const nulRef = await send({ to: '+8613800138000', content: 'hi', client_ref: 'a\u0000b' });
    expectError(nulRef, 400, 'request.invalid_text');
    expect(nulRef.json().error.details).toEqual({ path: '/client_ref', reason: 'nul' });
    expect(await count()).toBe(before);
  });

  it('refuses an escaped lone surrogate instead of storing U+FFFD', async () => {
    const res = await sendRaw('{"to":"+8613800138000","content":"hi \\ud83d there"}');
    expectError(res, 400, 'request.invalid_text');
    expect(res.json().error.details).toEqual({ path: '/content', reason: 'lone_surrogate' });
    const pair = await sendRaw('{"to":"+8613800138000","content":"hi \\ud83d\\ude00"}');
    expect(pair.statusCode).toBe(202);
  });

  it('refuses a NUL in a batch variable, in a key, and in the query string', async () => {
    const batch = await app.inject({
      method: 'POST',
      url: '/v1/batches',
      headers: { ...tenant.auth, 'content-type': 'application/json' },
      payload: JSON.stringify({
        content: 'hi {name}',
        recipients: [{ to: '+8613800138000', vars: { name: '\u0000' } }],
      }),
    });
    expectError(batch, 400, 'request.invalid_text');
    expect(batch.json().error.details.path).toBe('/recipients/0/vars/name');
    const key = await sendRaw('{"to":"+8613800138000","content":"hi","\\u0000":1}');
    expectError(key, 400, 'request.invalid_text');
    expectError(await get('/v1/messages?client_ref=a%00b'), 400, 'request.invalid_text');
    expectError(await get('/v1/messages?phone=%00'), 400, 'request.invalid_text');
  });
});

describe('bodies are taken as typed; query strings are coerced', () => {
  it('refuses a number, an array or a boolean where the body wants a string', async () => {
    const before = await count();
    for (const body of [
      { to: '+8613800138000', content: 123 },
      { to: ['+8613800138000'], content: 'hi' },
      { to: '+8613800138000', content: true },
      { to: '+8613800138000', content: 'hi', client_ref: 7 },
      { to: '+8613800138000', content: 'hi', send_at: null },
    ]) {
      expectError(await send(body), 400, 'request.invalid');
    }
    const batch = await app.inject({
      method: 'POST',
      url: '/v1/batches',
      headers: { ...tenant.auth, 'content-type': 'application/json' },
      payload: JSON.stringify({ content: 'hi', recipients: { to: '+8613800138000' } }),
    });
    expectError(batch, 400, 'request.invalid');
    expect(await count()).toBe(before);
  });

  it('reads limit=20 from the query string and refuses Infinity, NaN and 1e400 on messages and replies', async () => {
    expect((await get('/v1/messages?limit=20')).statusCode).toBe(200);
    expect((await get('/v1/replies?limit=20')).statusCode).toBe(200);
    for (const path of ['/v1/messages', '/v1/replies']) {
      for (const limit of ['Infinity', '-Infinity', 'NaN', '1e400', '1.5', '', '501']) {
        expectError(await get(`${path}?limit=${encodeURIComponent(limit)}`), 400, 'request.invalid');
      }
    }
  });
});

describe('send_at is a real calendar time', () => {
  it('refuses 30 February, 24:00 and a 25-hour zone instead of moving them', async () => {
    for (const sendAt of [
      '2027-02-30T00:00:00Z',
      '2027-02-29T00:00:00Z',
      '2027-04-31T08:00:00+08:00',
      '2027-01-01T24:00:00Z',
      '2027-01-01T10:60:00Z',
      '2027-01-01T10:00:00+25:00',
    ]) {
      expectError(
        await send({ to: '+8613800138000', content: 'hi', send_at: sendAt }),
        400,
        'messages.invalid_send_at',
      );
    }
    const ok = await send({ to: '+8613800138000', content: 'hi', send_at: '2028-02-29T00:00:00Z' });
    // A year away from the test's clock at most: accepted or out of range, never moved.
    if (ok.statusCode === 202) expect(ok.json().send_at).toBe('2028-02-29T00:00:00.000Z');
    else expectError(ok, 400, 'messages.invalid_send_at');
  });
});

describe('list filters are real calendar times too', () => {
  it('refuses created_after and created_before on 30 February', async () => {
    expectError(await get('/v1/messages?created_after=2027-02-30T00:00:00Z'), 400, 'request.invalid');
    expectError(await get('/v1/messages?created_before=2027-02-28T24:00:00Z'), 400, 'request.invalid');
    expect((await get('/v1/messages?created_after=2028-02-29T00:00:00%2B08:00')).statusCode).toBe(200);
  });
});

describe('HTTP-layer errors use the documented shape', () => {
  it('answers a wrong method on a known route 405 with Allow, and an unknown route 404', async () => {
    const wrong = await app.inject({ method: 'DELETE', url: '/v1/messages/12', headers: tenant.auth });
    expectError(wrong, 405, 'request.method_not_allowed');
    expect(wrong.headers.allow).toContain('GET');
    expectError(await app.inject({ method: 'GET', url: '/v2/nothing' }), 404, 'request.not_found');
  });

  it('answers a bad URL escape and an over-long parameter 400 request.malformed', async () => {
    expectError(await get('/v1/messages/%E0%A4%A'), 400, 'request.malformed');
    expectError(await get(`/v1/messages/${'1'.repeat(200)}`), 400, 'request.malformed');
  });

  it('answers a non-JSON, a latin1 and a non-UTF-8 body with their own codes', async () => {
    expectError(
      await sendRaw('to=1', { 'content-type': 'application/x-www-form-urlencoded' }),
      415,
      'request.unsupported_media_type',
    );
    expectError(
      await sendRaw('{"to":"+8613800138000","content":"caf\u00e9"}', {
        'content-type': 'application/json; charset=latin1',
      }),
      415,
      'request.unsupported_media_type',
    );
    const latin1Bytes = Buffer.concat([
      Buffer.from('{"to":"+8613800138000","content":"caf'),
      Buffer.from([0xe9]),
      Buffer.from('"}'),
    ]);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { ...tenant.auth, 'content-type': 'application/json' },
      payload: latin1Bytes,
    });
    expectError(res, 400, 'request.invalid_encoding');
    const utf8 = await sendRaw('{"to":"+8613800138000","content":"café 鸿雁"}', {
      'content-type': 'application/json; charset="UTF-8"',
    });
    expect(utf8.statusCode).toBe(202);
  });
});

describe('what held before still holds', () => {
  it('answers 10,000- and 100,000-deep nesting with a \\u escape 400, never a 5xx', async () => {
    const deep = (n: number) => `${'['.repeat(n)}"\\u0041"${']'.repeat(n)}`;
    expectError(
      await sendRaw(`{"to":"+8613800138000","content":"hi","x":${deep(10_000)}}`),
      400,
      'request.invalid',
    );
    const batch = await app.inject({
      method: 'POST',
      url: '/v1/batches',
      headers: { ...tenant.auth, 'content-type': 'application/json' },
      payload: `{"content":"hi","recipients":${deep(100_000)}}`,
    });
    expectError(batch, 400, 'request.invalid');
    const nul = await sendRaw(
      `{"to":"+8613800138000","content":"hi","x":${deep(10_000).replace('0041', '0000')}}`,
    );
    expectError(nul, 400, 'request.invalid_text');
  });

  it('answers a 20 MB body 413 and a forged cursor 400', async () => {
    const big = await app.inject({
      method: 'POST',
      url: '/v1/batches',
      headers: { ...tenant.auth, 'content-type': 'application/json' },
      payload: `{"content":"${'x'.repeat(20 * 1024 * 1024)}"}`,
    });
    expectError(big, 413, 'request.too_large');
    const forged = Buffer.from('m:1 or 1=1').toString('base64url');
    expectError(await get(`/v1/messages?cursor=${forged}`), 400, 'messages.invalid_cursor');
    expectError(await get(`/v1/replies?cursor=${forged}`), 400, 'messages.invalid_cursor');
  });
});
