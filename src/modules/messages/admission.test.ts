// Admission steps through the real routes: a refused row answers with its step's code, on every
// insert path (grouped single sends, idempotent single sends, batches), and never fails another
// row of the same group or batch. The step here is a stand-in with the shape caps and quota use:
// it counts in the insert transaction and refuses recipients past a budget.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { createError } from '../../shared/errors.ts';

// Registered only in this test's process; docs/errors.md lists real codes, not this one.
const refusedForTest = createError({
  code: 'test.admission_refused',
  statusCode: 422,
  message: 'refused by the test step',
});

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
let tenant: Awaited<ReturnType<typeof newTenant>>;
const afterInsertSeen: number[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app, ctx } = await buildTestApp(t.db));
  tenant = await newTenant(ctx, 'A');
  // Refuses recipients ending in 7; records what it saw inserted, inside the same transaction.
  ctx.admission.add({
    name: 'test',
    order: 100,
    async check(client, rows) {
      await client.query('select 1'); // runs inside the transaction like a real counting step
      return rows.map((r) => (r.recipient.endsWith('7') ? refusedForTest() : null));
    },
    async afterInsert(_client, _rows, inserted) {
      for (const m of inserted) afterInsertSeen.push(m.id);
    },
  });
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url,
    headers: { ...tenant.auth, ...headers, 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });

describe('admission steps', () => {
  it('refuses only the refused single sends of one group commit, each with its own answer', async () => {
    const numbers = Array.from({ length: 20 }, (_, i) => `138001380${String(i).padStart(2, '0')}`);
    const answers = await Promise.all(numbers.map((to) => post('/v1/messages', { to, content: 'hello' })));
    answers.forEach((res, i) => {
      if (numbers[i]!.endsWith('7')) {
        expect(res.statusCode).toBe(422);
        expect(res.json().error.code).toBe('test.admission_refused');
      } else {
        expect(res.statusCode).toBe(202);
        expect(afterInsertSeen).toContain(Number(res.json().id));
      }
    });
    const stored = await t.db.pool.query<{ recipient: string }>(
      'select recipient from messages where batch_id is null order by recipient',
    );
    expect(stored.rows.map((r) => r.recipient)).toEqual(
      numbers.filter((n) => !n.endsWith('7')).map((n) => `+86${n}`),
    );
  });

  it('applies to idempotent single sends', async () => {
    const res = await post(
      '/v1/messages',
      { to: '13900139007', content: 'hello' },
      { 'idempotency-key': 'k-refused' },
    );
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('test.admission_refused');
    const ok = await post(
      '/v1/messages',
      { to: '13900139001', content: 'hello' },
      { 'idempotency-key': 'k-ok' },
    );
    expect(ok.statusCode).toBe(202);
  });

  it('refuses a batch recipient by itself and counts the batch accordingly', async () => {
    const recipients = ['13700137001', '13700137007', '13700137002'].map((to) => ({ to }));
    const res = await post('/v1/batches', { content: 'hello', recipients });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body).toMatchObject({ total: 3, accepted: 2, rejected: 1 });
    expect(body.results.map((r: { accepted: boolean }) => r.accepted)).toEqual([true, false, true]);
    expect(body.results[1].error.code).toBe('test.admission_refused');
    const batch = await app.inject({ method: 'GET', url: `/v1/batches/${body.id}`, headers: tenant.auth });
    expect(batch.json()).toMatchObject({ accepted: 2, rejected: 1 });
    const rows = await t.db.pool.query('select count(*)::int as n from messages where batch_id = $1', [
      Number(body.id),
    ]);
    expect(rows.rows[0].n).toBe(2);
  });
});
