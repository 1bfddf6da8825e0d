// A step that answers late (checkEarly): the rows are written while the rest of its answer is
// computed, and a late refusal rolls the write back to a savepoint, after which the later steps
// judge again and the write runs again — the outcome is the one a whole answer would have given,
// through the real batch route on a real PostgreSQL.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { type AppError, createError } from '../../shared/errors.ts';

// Registered only in this test's process; docs/errors.md lists real codes, not these.
const early = createError({ code: 'test.refused_early', statusCode: 422, message: 'refused at once' });
const late = createError({ code: 'test.refused_late', statusCode: 422, message: 'refused late' });
const after = createError({
  code: 'test.refused_after',
  statusCode: 422,
  message: 'refused by a later step',
});

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
let tenant: Awaited<ReturnType<typeof newTenant>>;
/** Recipients each call of the later step saw, and the rows each afterInsert saw. */
const laterCalls: string[][] = [];
const afterInserts: string[][] = [];

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app, ctx } = await buildTestApp(t.db));
  tenant = await newTenant(ctx, 'late');
  // Refuses numbers ending in 7 at once and, later, those ending in 3 (or, for a batch asking
  // all or nothing, every row when one ends in 3); writes a row of its own in the transaction
  // before answering, so that a rollback to the savepoint must leave it.
  ctx.admission.add({
    name: 'test.late',
    order: 100,
    async check() {
      throw new Error('admission must ask checkEarly');
    },
    async checkEarly(client, rows, context) {
      await client.query(`insert into audit_log (actor, action) values ('system', 'test.late')`);
      const verdicts = rows.map((r) => (r.recipient.endsWith('7') ? early() : null));
      const laterVerdicts = new Promise<(AppError | null)[]>((resolve) =>
        setTimeout(() => {
          const threes = rows.some((r, i) => verdicts[i] === null && r.recipient.endsWith('3'));
          resolve(
            rows.map((r, i) =>
              verdicts[i] !== null
                ? null
                : context.allOrNothing && threes
                  ? late()
                  : r.recipient.endsWith('3')
                    ? late()
                    : null,
            ),
          );
        }, 50),
      );
      return { verdicts, later: laterVerdicts };
    },
  });
  // A later step: refuses numbers ending in 3 or 5, and records what it saw.
  ctx.admission.add({
    name: 'test.after',
    order: 200,
    async check(_client, rows) {
      laterCalls.push(rows.map((r) => r.recipient));
      return rows.map((r) => (/[35]$/.test(r.recipient) ? after() : null));
    },
    async afterInsert(_client, rows) {
      afterInserts.push(rows.map((r) => r.recipient));
    },
  });
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

const batch = (numbers: string[], extra: Record<string, unknown> = {}) =>
  app.inject({
    method: 'POST',
    url: '/v1/batches',
    headers: { ...tenant.auth, 'content-type': 'application/json' },
    payload: { content: 'hello', recipients: numbers.map((to) => ({ to })), ...extra },
  });

describe('a step that answers late', () => {
  it('gives each row the answer a whole answer would have, and writes only the admitted rows', async () => {
    laterCalls.length = 0;
    afterInserts.length = 0;
    const numbers = ['13700137001', '13700137003', '13700137005', '13700137007', '13700137002'];
    const res = await batch(numbers);
    expect(res.statusCode, res.body).toBe(202);
    const codes = res.json().results.map((r: { error?: { code: string } }) => r.error?.code ?? 'accepted');
    // 3: the late step's refusal, though the later step refused it too (the late step ranks first).
    expect(codes).toEqual([
      'accepted',
      'test.refused_late',
      'test.refused_after',
      'test.refused_early',
      'accepted',
    ]);
    expect(res.json()).toMatchObject({ accepted: 2, rejected: 3 });
    // The later step judged twice: with the 3 while the late answer was out, then without it.
    expect(laterCalls).toEqual([
      ['+8613700137001', '+8613700137003', '+8613700137005', '+8613700137002'],
      ['+8613700137001', '+8613700137005', '+8613700137002'],
    ]);
    // The first write had one admitted row fewer than asked (the 5), and was rolled back.
    expect(afterInserts.at(-1)).toEqual(['+8613700137001', '+8613700137002']);
    const stored = await t.db.pool.query<{ recipient: string }>(
      'select recipient from messages where batch_id = $1 order by recipient',
      [Number(res.json().id)],
    );
    expect(stored.rows.map((r) => r.recipient)).toEqual(['+8613700137001', '+8613700137002']);
    // What the step wrote before its savepoint stays; the batch row's counts are the final ones.
    const audit = await t.db.pool.query<{ n: number }>(
      `select count(*)::int as n from audit_log where action = 'test.late'`,
    );
    expect(audit.rows[0]!.n).toBe(1);
    const read = await app.inject({
      method: 'GET',
      url: `/v1/batches/${res.json().id}`,
      headers: tenant.auth,
    });
    expect(read.json()).toMatchObject({ accepted: 2, rejected: 3 });
  });

  it('needs no second write when the late answer refuses nothing', async () => {
    laterCalls.length = 0;
    afterInserts.length = 0;
    const res = await batch(['13700137011', '13700137012']);
    expect(res.json()).toMatchObject({ accepted: 2, rejected: 0 });
    expect(laterCalls).toHaveLength(1);
    expect(afterInserts).toHaveLength(1);
  });

  it('all or nothing: a late refusal refuses every row, and nothing is written', async () => {
    const res = await batch(['13700137021', '13700137023'], { all_or_nothing: true });
    expect(res.json()).toMatchObject({ accepted: 0, rejected: 2 });
    expect(res.json().results.map((r: { error: { code: string } }) => r.error.code)).toEqual([
      'test.refused_late',
      'test.refused_late',
    ]);
    const stored = await t.db.pool.query<{ n: number }>(
      `select count(*)::int as n from messages where recipient in ('+8613700137021', '+8613700137023')`,
    );
    expect(stored.rows[0]!.n).toBe(0);
  });
});
