// Recipient protection reads the lists on a spare connection beside the transaction when the pool
// has one, and on the transaction's own otherwise: both give the same refusals, in the order three
// checks in a row gave them (lists, then quiet hours, then caps), through HTTP on a real PostgreSQL.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../../test/helpers/db.ts';
import { createDb, type Db } from '../../../db/pool.ts';
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
});
