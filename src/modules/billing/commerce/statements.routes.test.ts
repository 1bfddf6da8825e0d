// Statements through the HTTP API: messages sent through the API (reserved by the ledger), ended
// with their outcomes (the ledger's trigger captures, refunds), then each statement row's figures
// are checked against the messages of its group, computed here from what was sent.
import ExcelJS from 'exceljs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../../test/helpers/db.ts';
import { fakeClock, loginAs, newMember, newStaff, withSession } from '../../accounts/accounts.testkit.ts';
import { createApiKey, createTenant } from '../../accounts/accounts.usecases.ts';
import { grantSending } from '../../compliance/signatures/signatures.usecases.ts';
import { creditTenant } from '../ledger.usecases.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
let staff: Record<string, string>;
let owner: Record<string, string>;
let key: Record<string, string>;
let tenantId: number;
const clock = fakeClock('2026-03-01T02:00:00Z'); // 10:00 in China: day 2026-03-01
const channels: Record<'ch1' | 'ch2', number> = { ch1: 0, ch2: 0 };

type Outcome = 'delivered' | 'undelivered' | 'rejected' | 'unknown';
interface Sent {
  id: number;
  day: string;
  type: 'notification' | 'marketing';
  signature: string;
  channel: 'ch1' | 'ch2';
  parts: number;
  units: number;
  outcome: Outcome;
}
const sent: Sent[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app, ctx } = await buildTestApp(t.db, { clock }));
  const s = await newStaff(t.db, 'statements-admin', 'admin');
  staff = withSession((await loginAs(app, s.username, s.password)).browser!);
  const { tenant } = await createTenant({ name: 'Statement shop', repository: ctx.accounts });
  tenantId = tenant.id;
  key = {
    authorization: `Bearer ${(await createApiKey({ tenantId, repository: ctx.accounts })).apiKey.key}`,
  };
  await grantSending({ db: t.db.pool, tenantId, signatures: ['鸿雁', '优选'], freeText: true });
  await creditTenant({
    db: t.db.pool,
    tenantId,
    parts: 1000,
    expiresAt: new Date('2027-01-01T00:00:00Z'),
    reason: 'start',
    actor: 'test',
    now: clock.now(),
  });
  // ch2's name is what a spreadsheet would run as a formula: the CSV must defuse it.
  for (const [name, label, cost] of [
    ['ch1', 'cmcc-a', '0.03'],
    ['ch2', '=cucc', '0.02'],
  ] as const) {
    const { rows } = await t.db.pool.query<{ id: number }>(
      `insert into channels (name, host, port, system_id, cost_per_part) values ($1, '127.0.0.1', 2775, 's', $2) returning id`,
      [label, cost],
    );
    channels[name] = rows[0]!.id;
  }
  for (const body of [
    { destination: 'domestic', units_per_part: 1, price_per_part: '0.05' },
    { destination: 'international', country_code: '852', units_per_part: 3, price_per_part: '0.04' },
  ]) {
    const res = await app.inject({
      method: 'PUT',
      url: '/v1/operator/billing/prices',
      headers: staff,
      payload: body,
    });
    expect(res.statusCode, res.body).toBe(200);
  }

  let n = 0;
  const send = async (m: Omit<Sent, 'id' | 'day' | 'parts' | 'units'> & { to?: string; long?: boolean }) => {
    const content =
      (m.long
        ? '尊敬的客户，您的订单已经发货，预计三日内送达，请保持电话畅通。'.repeat(3)
        : `您的订单${++n}已发货。`) + (m.type === 'marketing' ? '回T退订' : '');
    const res = await app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: key,
      payload: {
        to: m.to ?? `1380013${String(8000 + ++n).padStart(4, '0')}`,
        content,
        type: m.type,
        sign_name: m.signature,
      },
    });
    expect(res.statusCode, res.body).toBeLessThan(300);
    const { id, parts } = res.json() as { id: string; parts: number };
    const international = m.to?.startsWith('+852') === true;
    const day = new Date(clock.now().getTime() + 8 * 3_600_000).toISOString().slice(0, 10);
    sent.push({ ...m, id: Number(id), day, parts, units: parts * (international ? 3 : 1) });
  };
  await send({ type: 'notification', signature: '鸿雁', channel: 'ch1', outcome: 'delivered' });
  await send({ type: 'notification', signature: '鸿雁', channel: 'ch1', outcome: 'delivered', long: true });
  await send({ type: 'notification', signature: '鸿雁', channel: 'ch1', outcome: 'undelivered' });
  await send({
    type: 'notification',
    signature: '鸿雁',
    channel: 'ch1',
    outcome: 'unknown',
    to: '+85261234567',
  });
  await send({ type: 'marketing', signature: '优选', channel: 'ch2', outcome: 'delivered' });
  await send({ type: 'marketing', signature: '优选', channel: 'ch2', outcome: 'rejected' });
  await send({ type: 'notification', signature: '优选', channel: 'ch2', outcome: 'delivered' });
  clock.advance(86_400_000);
  await send({ type: 'notification', signature: '鸿雁', channel: 'ch1', outcome: 'delivered' });
  await send({ type: 'notification', signature: '鸿雁', channel: 'ch2', outcome: 'undelivered', long: true });

  // The outcomes, as dispatch and receipts would write them: the ledger's trigger follows.
  for (const m of sent) {
    await t.db.pool.query(
      `update messages set status = $2, channel_id = $3,
              sent_at = case when $2 = 'rejected' then null else now() end, done_at = now()
        where id = $1`,
      [m.id, m.outcome, channels[m.channel]],
    );
  }
  // Sessions after the clock moved: a day-old session would have expired.
  const m = await newMember(t.db, tenantId, 'owner@statements.cn', 'owner');
  owner = withSession((await loginAs(app, m.email, m.password)).browser!);
  staff = withSession((await loginAs(app, s.username, s.password)).browser!);
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

/** The statement rows this test expects, from the messages it sent. */
function expected(operator: boolean) {
  const groups = new Map<string, Record<string, unknown>>();
  const cost = { ch1: 3n, ch2: 2n }; // hundredths of a yuan per part
  const money = (h: bigint) => {
    const v = h < 0n ? -h : h;
    return `${h < 0n ? '-' : ''}${v / 100n}.${String(v % 100n).padStart(2, '0')}`;
  };
  const acc = new Map<string, { amount: bigint; cost: bigint }>();
  for (const m of sent) {
    const k = [m.day, m.type, m.signature, m.channel].join('|');
    const g = groups.get(k) ?? {
      day: m.day,
      type: m.type,
      signature: m.signature,
      channel_id: channels[m.channel],
      messages: 0,
      parts_sent: 0,
      parts_delivered: 0,
      parts_failed: 0,
      charged: 0,
      refunded: 0,
    };
    const a = acc.get(k) ?? { amount: 0n, cost: 0n };
    const wasSent = m.outcome !== 'rejected';
    const failed = m.outcome === 'undelivered' || m.outcome === 'rejected';
    g.messages = (g.messages as number) + 1;
    g.parts_sent = (g.parts_sent as number) + (wasSent ? m.parts : 0);
    g.parts_delivered = (g.parts_delivered as number) + (m.outcome === 'delivered' ? m.parts : 0);
    g.parts_failed = (g.parts_failed as number) + (failed ? m.parts : 0);
    g.charged = (g.charged as number) + m.units;
    g.refunded = (g.refunded as number) + (failed ? m.units : 0);
    // 5 fen per domestic quota part, 4 per international (852) one.
    if (!failed) a.amount += BigInt(m.units) * (m.units === m.parts ? 5n : 4n);
    if (wasSent) a.cost += BigInt(m.parts) * cost[m.channel];
    groups.set(k, g);
    acc.set(k, a);
  }
  return [...groups.entries()].map(([k, g]) => {
    const a = acc.get(k)!;
    return {
      ...g,
      amount: money(a.amount),
      ...(operator
        ? {
            cost_per_part: g.channel_id === channels.ch1 ? '0.03000' : '0.02000',
            cost: money(a.cost),
            margin: money(a.amount - a.cost),
          }
        : {}),
    };
  });
}

const byKey = (rows: Record<string, unknown>[]) =>
  [...rows].sort((a, b) =>
    [a.day, a.type, a.signature, a.channel_id]
      .join('|')
      .localeCompare([b.day, b.type, b.signature, b.channel_id].join('|')),
  );

const query = 'from=2026-03-01&to=2026-03-02&group_by=day,type,signature,channel';

describe('statements', () => {
  it('each row of day × type × signature × channel matches the messages of its group', async () => {
    // The sample holds multi-part messages and an international one charged 3 parts per part.
    expect(sent.filter((m) => m.parts > 1)).toHaveLength(2);
    expect(sent.filter((m) => m.units === 3 * m.parts)).toHaveLength(1);
    const res = await app.inject({ method: 'GET', url: `/v1/billing/statements?${query}`, headers: owner });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    const rows = byKey(body.rows).map(
      ({ signature_id: _s, channel: _c, ...r }: Record<string, unknown>) => r,
    );
    expect(rows).toEqual(byKey(expected(false)));
    expect(
      body.rows.every(
        (r: Record<string, unknown>) => !('cost' in r) && !('margin' in r) && !('cost_per_part' in r),
      ),
    ).toBe(true);
    expect(body.totals).toMatchObject({
      messages: sent.length,
      charged: sent.reduce((s, m) => s + m.units, 0),
    });
  });

  it("the operator's statement adds each channel's cost and the margin", async () => {
    const res = await app.inject({
      method: 'GET',
      url: `/v1/operator/billing/statements?${query}&tenant_id=${tenantId}`,
      headers: staff,
    });
    const rows = byKey(res.json().rows).map(
      ({ signature_id: _s, channel: _c, ...r }: Record<string, unknown>) => r,
    );
    expect(rows).toEqual(byKey(expected(true)));
  });

  it('folds into a coarser grouping: by channel only', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/v1/billing/statements?from=2026-03-01&to=2026-03-02&group_by=channel',
      headers: owner,
    });
    const rows = res.json().rows as { channel_id: number; messages: number; charged: number }[];
    for (const ch of ['ch1', 'ch2'] as const) {
      const mine = sent.filter((m) => m.channel === ch);
      expect(rows.find((r) => r.channel_id === channels[ch])).toMatchObject({
        messages: mine.length,
        charged: mine.reduce((s, m) => s + m.units, 0),
      });
    }
  });

  it('exports the same rows as XLSX (read back with exceljs) and as CSV with formula cells defused', async () => {
    const json = (
      await app.inject({ method: 'GET', url: `/v1/billing/statements?${query}`, headers: owner })
    ).json();
    const xlsx = await app.inject({
      method: 'GET',
      url: `/v1/billing/statements/export?${query}&format=xlsx`,
      headers: owner,
    });
    expect(xlsx.statusCode).toBe(200);
    expect(xlsx.headers['content-type']).toContain('spreadsheetml');
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(xlsx.rawPayload as unknown as ArrayBuffer);
    const sheet = book.getWorksheet('statement')!;
    const header = (sheet.getRow(1).values as unknown[]).slice(1);
    expect(header).toEqual(json.columns);
    const read: Record<string, unknown>[] = [];
    sheet.eachRow((row, i) => {
      if (i === 1) return;
      const cells = (row.values as unknown[]).slice(1);
      read.push(Object.fromEntries(header.map((h, j) => [h, cells[j] ?? null])));
    });
    expect(read).toEqual(
      json.rows.map((r: Record<string, unknown>) =>
        Object.fromEntries(
          (json.columns as string[]).map((c) => [c, c === 'amount' ? Number(r[c]) : (r[c] ?? null)]),
        ),
      ),
    );

    const csv = await app.inject({
      method: 'GET',
      url: `/v1/billing/statements/export?${query}`,
      headers: owner,
    });
    expect(csv.headers['content-type']).toContain('text/csv');
    const lines = csv.body.trim().split('\r\n');
    expect(lines[0]).toBe((json.columns as string[]).join(','));
    expect(lines).toHaveLength(json.rows.length + 1);
    expect(csv.body).toContain(",'=cucc,");
    expect(csv.body).not.toMatch(/,=cucc,/);
  });

  it('refuses a bad range and statements of people without billing.read', async () => {
    const bad = await app.inject({
      method: 'GET',
      url: '/v1/billing/statements?from=2026-03-05&to=2026-03-01',
      headers: owner,
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('billing.invalid_range');
    const none = await app.inject({ method: 'GET', url: '/v1/billing/statements', headers: owner });
    expect(none.json().error.code).toBe('billing.invalid_range');
    expect(
      (await app.inject({ method: 'GET', url: `/v1/billing/statements?${query}`, headers: key })).statusCode,
    ).toBe(403);
  });
});
