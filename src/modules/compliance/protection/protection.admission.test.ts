// Recipient protection reads the lists on a spare connection beside the transaction when the pool
// has one, and on the transaction's own otherwise: both give the same refusals, in the order three
// checks in a row gave them (lists, then quiet hours, then caps), through HTTP on a real PostgreSQL.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../../test/helpers/db.ts';
import { createDb, type Db } from '../../../db/pool.ts';
import { COUNT_BESIDE_MIN_ROWS } from './protection.admission.ts';
import { sendingTenant } from './protection.testkit.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let single: Db;
const apps: { app: FastifyInstance; ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx']; label: string }[] =
  [];

beforeAll(async () => {
  t = await createTestDatabase();
  // A pool of one connection: the transaction holds it, so no spare one is ever free.
  single = createDb({ connectionString: t.url, max: 1 });
  apps.push({ ...(await buildTestApp(t.db)), label: 'spare connection' });
  apps.push({ ...(await buildTestApp(single)), label: 'pool of one' });
});
afterAll(async () => {
  for (const a of apps) await a.app.close();
  await single.close();
  await t.drop();
});

describe('recipient protection', () => {
  it('refuses the same recipients with the same codes with or without a spare connection', async () => {
    for (const [n, { app, ctx, label }] of apps.entries()) {
      const a = await sendingTenant(ctx, t.db, `beside-${n}`);
      const number = (i: number) => `+861350000${n}${String(i).padStart(3, '0')}`;
      await t.db.pool.query(
        `insert into tenant_blacklist (tenant_id, phone, reason, created_at)
                             values ($1, $2, 'complaint', now())`,
        [a.tenantId, number(1)],
      );
      await t.db.pool.query(
        `insert into opt_outs (tenant_id, phone, source, created_at)
                             values ($1, $2, 'api', now())`,
        [a.tenantId, number(2)],
      );
      await t.db.pool.query(
        `insert into protection_settings (tenant_id, settings, updated_at)
         values ($1, '{"caps":{"notification":{"day":1}}}', now())`,
        [a.tenantId],
      );
      const post = (numbers: string[], extra: Record<string, unknown> = {}) =>
        app.inject({
          method: 'POST',
          url: '/v1/batches',
          headers: { ...a.auth, 'content-type': 'application/json' },
          payload: { content: '【鸿雁】您的订单已发货', recipients: numbers.map((to) => ({ to })), ...extra },
        });
      // The blacklisted number first reaches its cap of one (sent before it was listed).
      await t.db.pool.query('delete from tenant_blacklist where tenant_id = $1', [a.tenantId]);
      expect((await post([number(1)])).json().accepted, label).toBe(1);
      await t.db.pool.query(
        `insert into tenant_blacklist (tenant_id, phone, reason, created_at)
                             values ($1, $2, 'complaint', now())`,
        [a.tenantId, number(1)],
      );
      const res = await post([number(1), number(2), number(3), number(3)]);
      expect(res.statusCode, res.body).toBe(202);
      const codes = res.json().results.map((r: { error?: { code: string } }) => r.error?.code ?? 'accepted');
      // Listed and over its cap: the list's refusal, as when lists were checked before caps.
      expect(codes, label).toEqual([
        'compliance.blacklisted',
        'compliance.opt_out',
        'accepted',
        'limit.recipient_frequency',
      ]);
      // All or nothing: the first refusal of the lists, for every row.
      const all = await post([number(4), number(2), number(1)], { all_or_nothing: true });
      expect(all.json(), label).toMatchObject({ accepted: 0, rejected: 3 });
      expect(
        all.json().results.map((r: { error: { code: string } }) => r.error.code),
        label,
      ).toEqual(['compliance.opt_out', 'compliance.opt_out', 'compliance.opt_out']);
    }
  });

  it('small groups lock and count in one round trip: exact under concurrency', async () => {
    for (const [n, { app, ctx, label }] of apps.entries()) {
      const a = await sendingTenant(ctx, t.db, `lock-count-${n}`);
      await t.db.pool.query(
        `insert into protection_settings (tenant_id, settings, updated_at)
         values ($1, '{"caps":{"notification":{"day":2}}}', now())`,
        [a.tenantId],
      );
      const number = (i: number) => `+86137${n}${String(i).padStart(7, '0')}`;
      const numbers = Array.from({ length: 60 }, (_, i) => number(i));
      const post = (list: string[]) =>
        app.inject({
          method: 'POST',
          url: '/v1/batches',
          headers: { ...a.auth, 'content-type': 'application/json' },
          payload: { content: '【鸿雁】您的订单已发货', recipients: list.map((to) => ({ to })) },
        });
      expect((await post([number(0)])).json().accepted).toBe(1);
      // Four batches of the same 60 numbers at once, each counted on its own transaction after
      // the previous holder of its numbers' locks committed: each number exactly twice in all.
      const results = await Promise.all([post(numbers), post(numbers), post(numbers), post(numbers)]);
      const accepted = results.reduce((sum, res) => sum + res.json().accepted, 0);
      expect(accepted, label).toBe(2 * 60 - 1);
      const stored = await t.db.pool.query<{ n: number }>(
        `select count(*)::int as n from messages where tenant_id = $1 group by recipient`,
        [a.tenantId],
      );
      expect(
        stored.rows.map((r) => r.n),
        label,
      ).toEqual(numbers.map(() => 2));
    }
  });

  it('a large batch counts its caps beside the write: the same refusals, exact under concurrency, charged only for what it admits', async () => {
    for (const [n, { app, ctx, label }] of apps.entries()) {
      const step = ctx.admission.steps.find((s) => s.name === 'compliance.recipient_protection')!;
      // Which answers came late (caps counted beside the write) and which whole.
      const answers: ('late' | 'whole')[] = [];
      const checkEarly = step.checkEarly!.bind(step);
      step.checkEarly = async (...args) => {
        const result = await checkEarly(...args);
        answers.push(result.later === null ? 'whole' : 'late');
        return result;
      };
      try {
        const a = await sendingTenant(ctx, t.db, `beside-large-${n}`);
        await t.db.pool.query(
          `insert into protection_settings (tenant_id, settings, updated_at)
           values ($1, '{"caps":{"notification":{"day":2}}}', now())`,
          [a.tenantId],
        );
        const size = COUNT_BESIDE_MIN_ROWS;
        const number = (i: number) => `+86136${n}${String(i).padStart(7, '0')}`;
        const numbers = Array.from({ length: size }, (_, i) => number(i));
        const post = (list: string[], extra: Record<string, unknown> = {}) =>
          app.inject({
            method: 'POST',
            url: '/v1/batches',
            headers: { ...a.auth, 'content-type': 'application/json' },
            payload: { content: '【鸿雁】您的订单已发货', recipients: list.map((to) => ({ to })), ...extra },
          });
        // Number 0 reaches its cap of two first.
        expect((await post([number(0)])).json().accepted).toBe(1);
        expect((await post([number(0)])).json().accepted).toBe(1);
        // Three batches of the same numbers at once: each number is admitted exactly twice in
        // all, number 0 never again, each refusal the cap's.
        const results = await Promise.all([post(numbers), post(numbers), post(numbers)]);
        let accepted = 0;
        for (const res of results) {
          expect(res.statusCode, res.body).toBe(202);
          accepted += res.json().accepted;
          for (const r of res.json().results as {
            accepted: boolean;
            to: string;
            error?: { code: string };
          }[]) {
            if (!r.accepted) expect(r.error!.code, label).toBe('limit.recipient_frequency');
          }
        }
        expect(accepted, label).toBe(2 * (size - 1));
        const stored = await t.db.pool.query<{ recipient: string; n: number }>(
          `select recipient, count(*)::int as n from messages where tenant_id = $1 group by recipient`,
          [a.tenantId],
        );
        expect(stored.rows.length, label).toBe(size);
        for (const row of stored.rows) expect(row.n, `${label} ${row.recipient}`).toBe(2);
        // Quota: reserved for each stored message once, none for the rows a late refusal rolled back.
        const reserved = await t.db.pool.query<{ n: number; messages: number }>(
          `select count(*)::int as n, count(distinct l.message_id)::int as messages
             from billing_ledger l join messages m on m.id = l.message_id
            where m.tenant_id = $1 and l.kind = 'reserve'`,
          [a.tenantId],
        );
        expect(reserved.rows[0], label).toEqual({ n: 2 * size, messages: 2 * size });
        const orphans = await t.db.pool.query<{ n: number }>(
          `select count(*)::int as n from billing_ledger l
            where l.tenant_id = $1 and l.kind = 'reserve'
              and not exists (select 1 from messages m where m.id = l.message_id)`,
          [a.tenantId],
        );
        expect(orphans.rows[0]!.n, label).toBe(0);
        // All or nothing: every number is at its cap; one fresh number does not save the batch.
        const all = await post([...numbers.slice(1), number(size)], { all_or_nothing: true });
        expect(all.json(), label).toMatchObject({ accepted: 0, rejected: size });
        expect(
          new Set(all.json().results.map((r: { error: { code: string } }) => r.error.code)),
          label,
        ).toEqual(new Set(['limit.recipient_frequency']));
        const fresh = await t.db.pool.query<{ n: number }>(
          'select count(*)::int as n from messages where tenant_id = $1 and recipient = $2',
          [a.tenantId, number(size)],
        );
        expect(fresh.rows[0]!.n, label).toBe(0);
        // The pool of one has no spare connection: its caps are always in the answer.
        if (label === 'pool of one') expect(new Set(answers)).toEqual(new Set(['whole']));
        else expect(answers.filter((x) => x === 'late').length, label).toBeGreaterThanOrEqual(3);
      } finally {
        step.checkEarly = checkEarly;
      }
    }
  });
});
