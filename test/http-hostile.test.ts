// Generated hostile values (fast-check) in every field of every tenant route, each sent while
// another tenant's well-formed single sends run through the same group-commit intake: the hostile
// request is never a 5xx and always in the documented error shape, and every good request gets
// its own message stored as sent.
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from './helpers/app.ts';
import { createTestDatabase } from './helpers/db.ts';
import { AWKWARD, anyCodeUnits, percentEncoded, UNSTORABLE } from './helpers/hostile-values.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let attacker: Awaited<ReturnType<typeof newTenant>>;
let victim: Awaited<ReturnType<typeof newTenant>>;
let attackerMessageId: string;
let attackerBatchId: string;

beforeAll(async () => {
  t = await createTestDatabase();
  const built = await buildTestApp(t.db);
  app = built.app;
  attacker = await newTenant(built.ctx, 'attacker');
  victim = await newTenant(built.ctx, 'victim');
  const m = await app.inject({
    method: 'POST',
    url: '/v1/messages',
    headers: attacker.auth,
    payload: {
      to: '+8613800138000',
      content: 'seed',
      send_at: new Date(Date.now() + 86_400_000).toISOString(),
    },
  });
  attackerMessageId = m.json().id;
  const b = await app.inject({
    method: 'POST',
    url: '/v1/batches',
    headers: attacker.auth,
    payload: { content: 'seed', recipients: [{ to: '+8613800138000' }] },
  });
  attackerBatchId = b.json().id;
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

const nasty = fc.oneof(fc.constantFrom(...UNSTORABLE), fc.constantFrom(...AWKWARD));
const jsonValue = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.oneof(
      { weight: 4, arbitrary: nasty },
      { weight: 3, arbitrary: anyCodeUnits },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme' }) },
    ),
  },
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(anyCodeUnits, fc.integer()), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), anyCodeUnits, { maxKeys: 3 }),
);
// Query and path text as it travels: percent-encoded UTF-8, or raw escapes that decode to
// nothing valid.
const queryText = fc.oneof(
  anyCodeUnits.map(percentEncoded),
  nasty.map(percentEncoded),
  fc.constantFrom(
    'Infinity',
    '1e400',
    '%',
    '%%',
    '%zz',
    '%ff',
    '%ED%A0%80',
    '%C0%80',
    'a%2',
    '+',
    '[]',
    '1&limit=2',
  ),
);
const headerText = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)) }),
  fc.constantFrom('', ' ', 'x'.repeat(300), 'é'),
);

const validSend = { to: '+8613800138000', content: 'hello', type: 'notification', client_ref: 'r1' };
const validBatch = { content: 'hi {name}', recipients: [{ to: '+8613800138000', vars: { name: 'a' } }] };

type Hostile = { method: 'GET' | 'POST'; url: string; payload?: string; headers?: Record<string, string> };

// Single sends weigh most: they share the group commit with the other tenant's sends.
const hostileRequest: fc.Arbitrary<Hostile> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record({
        field: fc.constantFrom(
          'to',
          'content',
          'content',
          'type',
          'client_ref',
          'client_ref',
          'send_at',
          'extra',
        ),
        value: jsonValue,
        key: fc.option(headerText, { nil: undefined }),
      })
      .map(({ field, value, key }): Hostile => ({
        method: 'POST',
        url: '/v1/messages',
        payload: JSON.stringify({ ...validSend, [field]: value }),
        headers: key === undefined ? {} : { 'idempotency-key': key },
      })),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({
        field: fc.constantFrom('content', 'type', 'send_at', 'recipients', 'to', 'client_ref', 'vars', 'var'),
        value: jsonValue,
      })
      .map(({ field, value }): Hostile => {
        const recipient: Record<string, unknown> = { ...validBatch.recipients[0] };
        const body: Record<string, unknown> = { ...validBatch, recipients: [recipient] };
        if (field === 'to' || field === 'client_ref' || field === 'vars') recipient[field] = value;
        else if (field === 'var') recipient.vars = { name: value };
        else body[field] = value;
        return { method: 'POST', url: '/v1/batches', payload: JSON.stringify(body) };
      }),
  },
  fc
    .record({
      field: fc.constantFrom(
        'phone',
        'status',
        'batch_id',
        'client_ref',
        'created_after',
        'created_before',
        'cursor',
        'limit',
      ),
      value: queryText,
    })
    .map(({ field, value }): Hostile => ({ method: 'GET', url: `/v1/messages?${field}=${value}` })),
  fc
    .record({ field: fc.constantFrom('cursor', 'limit'), value: queryText })
    .map(({ field, value }): Hostile => ({ method: 'GET', url: `/v1/replies?${field}=${value}` })),
  fc
    .record({
      route: fc.constantFrom(
        'GET /v1/messages/',
        'POST /v1/messages/',
        'GET /v1/batches/',
        'POST /v1/batches/',
      ),
      id: fc.oneof(
        queryText,
        fc
          .constantFrom(
            () => attackerMessageId,
            () => attackerBatchId,
          )
          .map((f) => f()),
      ),
    })
    .map(({ route, id }): Hostile => {
      const [method, path] = route.split(' ') as ['GET' | 'POST', string];
      return { method, url: `${path}${id}${method === 'POST' ? '/cancel' : ''}` };
    }),
  // A raw body: bytes that are not UTF-8, or not JSON at all.
  fc.uint8Array({ maxLength: 64 }).map((bytes): Hostile => ({
    method: 'POST' as const,
    url: '/v1/messages',
    payload: Buffer.from(bytes).toString('latin1'),
  })),
);

/** Each value in every field of every route, so the worst cases run every time, not by chance. */
function everyFieldWith(values: string[]): Hostile[] {
  const out: Hostile[] = [];
  for (const value of values) {
    for (const field of ['to', 'content', 'type', 'client_ref', 'send_at']) {
      out.push({
        method: 'POST',
        url: '/v1/messages',
        payload: JSON.stringify({ ...validSend, [field]: value }),
      });
    }
    out.push({ method: 'POST', url: '/v1/messages', payload: JSON.stringify({ ...validSend, [value]: 1 }) });
    for (const field of ['content', 'type', 'send_at']) {
      out.push({
        method: 'POST',
        url: '/v1/batches',
        payload: JSON.stringify({ ...validBatch, [field]: value }),
      });
    }
    for (const recipient of [
      { to: value },
      { to: '+8613800138000', client_ref: value },
      { to: '+8613800138000', vars: { name: value } },
    ]) {
      out.push({
        method: 'POST',
        url: '/v1/batches',
        payload: JSON.stringify({ ...validBatch, recipients: [recipient] }),
      });
    }
    // A lone surrogate has no UTF-8 form: its three bytes are what a client would send.
    const encoded = value.includes('\u0000') ? percentEncoded(value) : '%ED%A0%80';
    for (const field of [
      'phone',
      'status',
      'batch_id',
      'client_ref',
      'created_after',
      'created_before',
      'cursor',
      'limit',
    ]) {
      out.push({ method: 'GET', url: `/v1/messages?${field}=${encoded}` });
    }
    for (const field of ['cursor', 'limit'])
      out.push({ method: 'GET', url: `/v1/replies?${field}=${encoded}` });
    for (const path of ['/v1/messages/', '/v1/batches/']) {
      out.push(
        { method: 'GET', url: `${path}${encoded}` },
        { method: 'POST', url: `${path}${encoded}/cancel` },
      );
    }
  }
  return out;
}

describe('hostile input on every route', () => {
  it('never answers 5xx, always in the documented shape, and never fails another tenant’s concurrent sends', async () => {
    const good: { id: string; content: string }[] = [];
    let run = 0;
    await fc.assert(
      fc.asyncProperty(hostileRequest, async (hostile) => {
        run++;
        const goodContents = [0, 1, 2].map((i) => `good ${run}.${i}`);
        const [answer, ...goods] = await Promise.all([
          app.inject({
            method: hostile.method,
            url: hostile.url,
            headers: {
              ...attacker.auth,
              ...(hostile.payload === undefined ? {} : { 'content-type': 'application/json' }),
              ...hostile.headers,
            },
            ...(hostile.payload === undefined ? {} : { payload: hostile.payload }),
          }),
          // Each to its own number: recipient frequency caps (50 notifications a day) must not be
          // what refuses the victim.
          ...goodContents.map((content, i) =>
            app.inject({
              method: 'POST',
              url: '/v1/messages',
              headers: victim.auth,
              payload: { to: `+86139${String(run * 3 + i).padStart(8, '0')}`, content },
            }),
          ),
        ]);
        expect({ hostile, status: answer.statusCode < 500 }).toEqual({ hostile, status: true });
        if (answer.statusCode >= 400) {
          expect(answer.json()).toEqual({
            error: expect.objectContaining({
              code: expect.stringMatching(/^[a-z]+\.[a-z_]+$/),
              message: expect.any(String),
            }),
          });
        }
        for (const [i, g] of goods.entries()) {
          expect({ i, status: g.statusCode }).toEqual({ i, status: 202 });
          good.push({ id: g.json().id, content: goodContents[i]! });
        }
      }),
      { numRuns: 300, examples: everyFieldWith(UNSTORABLE).map((h) => [h]) },
    );
    // Each good request's own message, stored as sent, for the victim.
    const stored = await t.db.pool.query<{ id: string; content: string; tenant_id: string }>(
      'select id::text, content, tenant_id::text from messages where id = any($1::bigint[])',
      [good.map((g) => g.id)],
    );
    const byId = new Map(stored.rows.map((r) => [r.id, r]));
    for (const g of good) {
      // Stored as sent: with the tenant's default signature in front (test tenants have 鸿雁).
      expect(byId.get(g.id)).toEqual({
        id: g.id,
        content: `【鸿雁】${g.content}`,
        tenant_id: String(victim.tenantId),
      });
    }
    expect(good).toHaveLength(900);
  });
});
