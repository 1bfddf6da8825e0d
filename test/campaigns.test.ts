// Campaigns through the real process: `hongyan start` roles (API, worker with the campaign jobs,
// the carrier simulator delivering each message its own outcome: numbers ending in 7 are
// UNDELIV, the others delivered), HTTP on a real socket. Two more schedulers with their own pools
// and a clock of their own race the process's worker where a test needs a time it cannot wait for.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/app/config.ts';
import { type Clock, createContext } from '../src/app/context.ts';
import { type RunningHongyan, startHongyan } from '../src/app/start.ts';
import { createDb, type Db } from '../src/db/pool.ts';
import { createAccountsRepository } from '../src/modules/accounts/accounts.repository.ts';
import { createTenant } from '../src/modules/accounts/accounts.usecases.ts';
import { creditForTests } from '../src/modules/billing/billing.testkit.ts';
import { campaignDeps, campaignJobs } from '../src/modules/campaigns/campaigns.start.ts';
import { claimDueRun } from '../src/modules/campaigns/campaign-runs.ts';
import { grantSending } from '../src/modules/compliance/signatures/signatures.usecases.ts';
import { runDailyStatsPass } from '../src/modules/campaigns/daily-stats.ts';
import { operatorAdmin } from '../src/modules/compliance/protection/protection.testkit.ts';
import { buildTestApp } from './helpers/app.ts';
import { createTestDatabase } from './helpers/db.ts';
import { FINAL_STATUSES } from '../src/modules/messages/messages.models.ts';

const SHORT_BASE = 'https://t.hy.example/s';
let t: Awaited<ReturnType<typeof createTestDatabase>>;
let hongyan: RunningHongyan;
let db: Db;
let key: string;
let tenantId: number;
let dataDir: string;
let config: ReturnType<typeof loadConfig>;
const extraDbs: Db[] = [];
/** Redirects of a link this process answered after another node had disabled it (until its sync). */
let redirectsBeforeSync = 0;

const phone = (i: number) => `+86138${String(10_000_000 + i).slice(-8)}`;
const FINAL: string[] = [...FINAL_STATUSES];

async function api(method: string, route: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${hongyan.httpUrl}${route}`, {
    method,
    redirect: 'manual',
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const type = res.headers.get('content-type') ?? '';
  const payload = type.includes('json') ? await res.json() : Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body: payload as any };
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The campaign's messages as stored (recipient, content, status), by batch. */
async function messagesOf(campaignId: string) {
  const { rows } = await db.pool.query<{
    id: string;
    recipient: string;
    content: string;
    status: string;
    label: string;
    run_id: string;
  }>(
    `select m.id::text, m.recipient, m.content, m.status, b.label, b.run_id::text
       from messages m join campaign_run_batches b on b.batch_id = m.batch_id
       join campaign_runs r on r.id = b.run_id where r.campaign_id = $1 order by m.id`,
    [campaignId],
  );
  return rows;
}

async function allFinal(campaignId: string, expected: number) {
  return waitFor(`${expected} final messages of campaign ${campaignId}`, async () => {
    const rows = await messagesOf(campaignId);
    return rows.length === expected && rows.every((r) => FINAL.includes(r.status)) ? rows : undefined;
  });
}

async function runsDone(campaignId: string, count: number) {
  return waitFor(`${count} finished runs of campaign ${campaignId}`, async () => {
    const runs = await api('GET', `/v1/campaigns/${campaignId}/runs`);
    const data = runs.body.data as { state: string }[];
    return data.length === count && data.every((r) => r.state === 'done') ? data : undefined;
  });
}

/** A scheduler of another node: its own pool and its own clock. */
function scheduler(clock: Clock) {
  const other = createDb({ connectionString: t.url, max: 4 });
  extraDbs.push(other);
  const ctx = createContext({ config, db: other, logger: pino({ level: 'silent' }), clock });
  const deps = campaignDeps(ctx);
  return { deps, pass: campaignJobs(deps) };
}

beforeAll(async () => {
  t = await createTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'hy-campaigns-'));
  const profile = path.join(dataDir, 'profiles.json');
  writeFileSync(profile, JSON.stringify({ profiles: [{ name: 'default', undeliveredSuffixes: ['7'] }] }));
  config = loadConfig({
    env: {
      DATABASE_URL: t.url,
      HONGYAN_HTTP_PORT: '0',
      HONGYAN_SIMULATOR_PORT: '0',
      HONGYAN_LOG_LEVEL: 'silent',
      HONGYAN_DATA_DIR: dataDir,
      HONGYAN_SMPP_PORT: '0',
      HONGYAN_SIMULATOR_PROFILE: profile,
      HONGYAN_SHORT_LINK_BASE_URL: SHORT_BASE,
      HONGYAN_CAMPAIGN_INTERVAL_MS: '100',
      HONGYAN_SCHEDULER_INTERVAL_MS: '200',
    },
    configFile: null,
  });
  hongyan = await startHongyan({
    config,
    roles: ['api', 'worker', 'simulator'],
    installSignalHandlers: false,
    json: true,
  });
  db = createDb({ connectionString: t.url, max: 4 });
  const created = await createTenant({ name: 'campaigns', repository: createAccountsRepository(db.kysely) });
  tenantId = created.tenant.id;
  await creditForTests(db.pool, tenantId);
  await grantSending({ db: db.pool, tenantId, signatures: ['鸿雁'], freeText: true });
  // Marketing sends at any hour and without the operator's second review in these tests.
  await db.pool.query(
    `insert into protection_settings (tenant_id, settings, updated_at)
     values ($1, '{"quiet_hours": {"enabled": false}, "marketing_review": false}', now())`,
    [tenantId],
  );
  key = created.apiKey.key;
}, 120_000);

afterAll(async () => {
  await hongyan?.stop();
  for (const d of extraDbs) await d.close();
  await db?.close();
  await t?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('campaigns end to end', { timeout: 120_000 }, () => {
  it('sends to pasted numbers with their variables, excludes opt-outs, and reports exact numbers', async () => {
    const lines = Array.from({ length: 20 }, (_, i) => `${phone(i)},用户${i},${1000 + i}`);
    // A duplicate, an invalid line and a number that opted out before the campaign.
    const numbers = [...lines, `${phone(3)},重复,1`, 'not a number', `${phone(100)},退订者,9`].join('\n');
    expect((await api('POST', '/v1/compliance/opt-outs', { phone: phone(100) })).status).toBeLessThan(300);
    const body = {
      name: 'variables',
      audience: { numbers, columns: ['name', 'code'] },
      content: '{name}您好,您的会员号{code}',
    };

    const preview = await api('POST', '/v1/campaigns/preview', body);
    expect(preview.status).toBe(200);
    expect(preview.body.samples[0]).toMatchObject({ text: '【鸿雁】用户0您好,您的会员号1000', parts: 1 });
    expect(preview.body.recipients).toMatchObject({
      pasted_invalid: 1,
      audience: 22,
      duplicates: 1,
      unique: 21,
      excluded: { 'compliance.opt_out': 1 },
      eligible: 20,
    });
    expect(preview.body.cost).toMatchObject({ parts: 20, enough: true });

    const created = await api('POST', '/v1/campaigns', body);
    expect(created.status).toBe(201);
    expect(created.body.invalid_numbers).toEqual([
      { line: 22, value: 'not a number', reason: expect.any(String) },
    ]);
    const id = created.body.id as string;
    await runsDone(id, 1);
    const messages = await allFinal(id, 20);
    for (const m of messages) {
      const i = Number(m.recipient.slice(-2));
      expect({ to: m.recipient, content: m.content, status: m.status }).toEqual({
        to: phone(i),
        content: `【鸿雁】用户${i}您好,您的会员号${1000 + i}`,
        status: i % 10 === 7 ? 'undelivered' : 'delivered',
      });
    }
    // An opt-out after the run began counts in the funnel's last step.
    await api('POST', '/v1/compliance/opt-outs', { phone: phone(5) });
    const report = await api('GET', `/v1/campaigns/${id}/report`);
    expect(report.status).toBe(200);
    expect(report.body.total).toEqual({
      audience: 21,
      duplicates: 1,
      accepted: 20,
      rejected: 1,
      sent: 20,
      delivered: 18,
      failed: 2,
      clicked: 0,
      clicks: 0,
      opted_out: 1,
      replies: 0,
      // Undelivered messages are refunded: the cost is the delivered messages' parts.
      cost_parts: 18,
    });
    expect(report.body.by_carrier).toEqual([
      { key: 'cmcc', messages: 20, sent: 20, delivered: 18, failed: 2 },
    ]);
    expect(report.body.by_hour.reduce((s: number, h: { sent: number }) => s + h.sent, 0)).toBe(20);

    const csv = await api('GET', `/v1/campaigns/${id}/report/export?format=csv`);
    expect(csv.status).toBe(200);
    const [header, row] = (csv.body as Buffer).toString('utf8').trim().split('\r\n');
    expect(header).toBe(
      'run_id,run_at,audience,duplicates,accepted,rejected,sent,delivered,failed,clicked,clicks,opted_out,replies,cost_parts',
    );
    expect(row!.split(',').slice(2, 9)).toEqual(['21', '1', '20', '1', '20', '18', '2']);
    const xlsx = await api('GET', `/v1/campaigns/${id}/report/export?format=xlsx`);
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(xlsx.body as unknown as ArrayBuffer);
    expect(book.getWorksheet('runs')!.getRow(2).getCell(8).value).toBe(18);
    expect(book.getWorksheet('carriers')!.getRow(2).values).toEqual([undefined, 'cmcc', 20, 20, 18, 2]);
  });

  it('sends a scheduled campaign at its time, and not before', async () => {
    const at = new Date(Date.now() + 3_000);
    const created = await api('POST', '/v1/campaigns', {
      name: 'scheduled',
      audience: { numbers: [phone(200), phone(201)].join('\n') },
      content: '预约提醒',
      schedule: { kind: 'at', at: at.toISOString() },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ state: 'active', next_run_at: at.toISOString() });
    const runs = await runsDone(created.body.id, 1);
    expect(new Date((runs[0] as unknown as { run_at: string }).run_at).getTime()).toBe(at.getTime());
    const messages = await allFinal(created.body.id, 2);
    const { rows } = await db.pool.query<{ created_at: Date }>(
      `select created_at from messages where id = any($1::bigint[])`,
      [messages.map((m) => m.id)],
    );
    for (const r of rows) expect(r.created_at.getTime()).toBeGreaterThanOrEqual(at.getTime());
    const campaign = await api('GET', `/v1/campaigns/${created.body.id}`);
    expect(campaign.body).toMatchObject({ state: 'completed', next_run_at: null, runs_started: 1 });
  });

  it('runs a recurring campaign once per due minute with two schedulers racing at each', async () => {
    const created = await api('POST', '/v1/campaigns', {
      name: 'recurring',
      audience: { numbers: [phone(300), phone(301), phone(302)].join('\n') },
      content: '每分钟一次',
      schedule: {
        kind: 'recurring',
        rule: { kind: 'cron', expression: '* * * * *' },
        time_zone: 'Asia/Shanghai',
        max_runs: 3,
      },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const first = new Date(created.body.next_run_at as string);
    // Two nodes (and a third start at the same minute, as after a restart) whose clocks say each
    // run is due, all claiming at once; the process's own worker may join when the minute comes.
    for (let k = 0; k < 3; k++) {
      const due = { now: () => new Date(first.getTime() + k * 60_000 + 1_000) };
      const [a, b, c] = [scheduler(due), scheduler(due), scheduler(due)];
      const claims = await Promise.all([a, b, c].map((s) => claimDueRun(s.deps, Number(id))));
      expect(claims.filter((r) => r !== null)).toHaveLength(1);
      // The process's worker admits the claimed run's recipients (on the real clock, so the
      // dispatcher takes them now rather than at the fake minute).
    }
    const runs = await runsDone(id, 3);
    expect(runs.map((r) => (r as unknown as { run_at: string }).run_at)).toEqual(
      [0, 1, 2].map((k) => new Date(first.getTime() + k * 60_000).toISOString()),
    );
    const messages = await allFinal(id, 9);
    const perRun = new Map<string, string[]>();
    for (const m of messages) perRun.set(m.run_id, [...(perRun.get(m.run_id) ?? []), m.recipient]);
    expect([...perRun.values()].map((r) => r.sort())).toEqual(
      [0, 1, 2].map(() => [phone(300), phone(301), phone(302)]),
    );
    const campaign = await api('GET', `/v1/campaigns/${id}`);
    expect(campaign.body).toMatchObject({ state: 'completed', runs_started: 3, next_run_at: null });
    // Nothing is due any more: another pass claims nothing.
    const late = scheduler({ now: () => new Date(first.getTime() + 10 * 60_000) });
    expect(await claimDueRun(late.deps, Number(id))).toBeNull();
  });

  it('pauses and resumes a recurring campaign', async () => {
    const created = await api('POST', '/v1/campaigns', {
      name: 'paused',
      audience: { numbers: phone(400) },
      content: '每日',
      schedule: { kind: 'recurring', rule: { kind: 'daily', time: '09:00' } },
    });
    const id = created.body.id as string;
    const paused = await api('POST', `/v1/campaigns/${id}/pause`);
    expect(paused.body.state).toBe('paused');
    const late = scheduler({ now: () => new Date(Date.now() + 2 * 86_400_000) });
    expect(await claimDueRun(late.deps, Number(id))).toBeNull();
    expect((await api('POST', `/v1/campaigns/${id}/pause`)).body.error.code).toBe(
      'campaigns.invalid_transition',
    );
    const resumed = await api('POST', `/v1/campaigns/${id}/resume`);
    expect(resumed.body).toMatchObject({ state: 'active', next_run_at: created.body.next_run_at });
    expect((await api('POST', `/v1/campaigns/${id}/cancel`)).body.state).toBe('canceled');
  });

  it('gives each recipient its own short link; a click is attributed to its message and campaign', async () => {
    const created = await api('POST', '/v1/campaigns', {
      name: 'links',
      audience: { numbers: [phone(500), phone(501), phone(502)].join('\n') },
      content: '双十一特惠 https://shop.example.com/sale?from=sms 点击查看,拒收请回复R',
      type: 'marketing',
      shorten_links: true,
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const preview = await api('POST', `/v1/campaigns/${id}/preview`);
    expect(preview.body.recipients, JSON.stringify(preview.body)).toMatchObject({ unique: 3, eligible: 3 });
    // The short link counts with its real length: base, '/', 8 characters.
    expect(preview.body.samples[0].text).toMatch(
      new RegExp(`^【鸿雁】双十一特惠 ${SHORT_BASE}/[0-9A-Za-z]{8} 点击查看,拒收请回复R$`),
    );
    const messages = await allFinal(id, 3);
    const codes = messages.map((m) => {
      const found = new RegExp(`${SHORT_BASE}/([0-9A-Za-z]{8}) `).exec(m.content);
      expect(found, m.content).not.toBeNull();
      return found![1]!;
    });
    expect(new Set(codes).size).toBe(3);
    const click = await fetch(`${hongyan.httpUrl}/s/${codes[1]}`, {
      redirect: 'manual',
      headers: { 'user-agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148' },
    });
    expect(click.status).toBe(302);
    expect(click.headers.get('location')).toBe('https://shop.example.com/sale?from=sms');
    expect((await fetch(`${hongyan.httpUrl}/s/zzzzzzzz`, { redirect: 'manual' })).status).toBe(404);
    const clicked = await waitFor('the click recorded', async () => {
      const { rows } = await db.pool.query<{
        message_id: string;
        campaign_id: string;
        phone: string;
        device: string;
      }>(
        `select l.message_id::text, l.campaign_id::text, l.phone, c.device
           from short_link_clicks c join short_links l on l.id = c.link_id`,
      );
      return rows.length > 0 ? rows : undefined;
    });
    expect(clicked).toEqual([
      { message_id: messages[1]!.id, campaign_id: id, phone: messages[1]!.recipient, device: 'mobile' },
    ]);
    const report = await api('GET', `/v1/campaigns/${id}/report`);
    expect(report.body.total).toMatchObject({ accepted: 3, delivered: 3, clicked: 1, clicks: 1 });

    // A burst on the two other links, 20 at a time: every redirect answered is one click stored.
    let answered = 0;
    await Promise.all(
      Array.from({ length: 20 }, async (_, k) => {
        for (let i = 0; i < 15; i++) {
          const res = await fetch(`${hongyan.httpUrl}/s/${codes[(k + i) % 2 === 0 ? 0 : 2]}`, {
            redirect: 'manual',
          });
          await res.arrayBuffer();
          if (res.status === 302) answered++;
        }
      }),
    );
    expect(answered).toBe(300);
    const stored = await waitFor('the burst of clicks stored', async () => {
      const { rows } = await db.pool.query<{ code: string; n: number }>(
        `select l.code, count(*)::int as n from short_link_clicks c join short_links l on l.id = c.link_id
          where l.campaign_id = $1 group by l.code`,
        [id],
      );
      const total = rows.reduce((sum, r) => sum + r.n, 0);
      return total >= 1 + answered ? rows : undefined;
    });
    expect(Object.fromEntries(stored.map((r) => [r.code, r.n]))).toEqual({
      [codes[0]!]: 150,
      [codes[1]!]: 1,
      [codes[2]!]: 150,
    });

    // A phishing report: the operator disables the link through another node's API, whose
    // redirect then answers 410 at once; this process reads the change at its next sync of the
    // links (LINK_SYNC_INTERVAL_MS, a second) and answers 410 too.
    const other = await buildTestApp(db);
    try {
      const staff = await operatorAdmin(other.app, db);
      const disabled = await other.app.inject({
        method: 'POST',
        url: `/v1/operator/short-links/${codes[1]}/disable`,
        headers: staff,
        payload: { reason: 'phishing report' },
      });
      expect(disabled.json()).toMatchObject({ code: codes[1], disabled: true, clicks: 1, campaign_id: id });
      const gone = await other.app.inject({ method: 'GET', url: `/s/${codes[1]}` });
      expect([gone.statusCode, gone.json().error.code]).toEqual([410, 'shortlinks.disabled']);
      const stillOn = await other.app.inject({ method: 'GET', url: `/s/${codes[0]}` });
      expect(stillOn.statusCode).toBe(302);
      const tenantTries = await api('POST', `/v1/operator/short-links/${codes[0]}/disable`, {});
      expect(tenantTries.status).toBe(403);
      const here = await waitFor(
        'the disable to reach this process',
        async () => {
          const res = await fetch(`${hongyan.httpUrl}/s/${codes[1]}`, { redirect: 'manual' });
          const body = await res.text();
          if (res.status !== 302) return { status: res.status, body: JSON.parse(body) };
          redirectsBeforeSync++; // a click, answered before this process read the disable
          return undefined;
        },
        30_000,
      );
      expect([here.status, here.body.error.code]).toEqual([410, 'shortlinks.disabled']);
      expect((await fetch(`${hongyan.httpUrl}/s/${codes[0]}`, { redirect: 'manual' })).status).toBe(302);
      // Enabled again: this process redirects again after its next sync.
      await other.app.inject({
        method: 'POST',
        url: `/v1/operator/short-links/${codes[1]}/enable`,
        headers: staff,
        payload: {},
      });
      await waitFor(
        'the enable to reach this process',
        async () => (await fetch(`${hongyan.httpUrl}/s/${codes[1]}`, { redirect: 'manual' })).status === 302,
        30_000,
      );
    } finally {
      await other.app.close();
    }
  });

  it('splits an A/B test, picks the winner by click rate and sends it to the rest', async () => {
    const numbers = Array.from({ length: 40 }, (_, i) => phone(600 + i)).join('\n');
    const created = await api('POST', '/v1/campaigns', {
      name: 'ab',
      audience: { numbers },
      content: '默认文案 https://shop.example.com/ab',
      shorten_links: true,
      ab: {
        variants: [
          { name: 'A', content: '文案A https://shop.example.com/a' },
          { name: 'B', content: '文案B https://shop.example.com/b' },
        ],
        test_share: 0.5,
        seed: 42,
        decide_after_minutes: 30,
        metric: 'click_rate',
        auto: true,
      },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const testMessages = await allFinal(id, 20);
    expect(testMessages.filter((m) => m.label === 'A')).toHaveLength(10);
    expect(testMessages.filter((m) => m.label === 'B')).toHaveLength(10);
    const run = (await api('GET', `/v1/campaigns/${id}/runs`)).body.data[0];
    expect(run).toMatchObject({ state: 'testing', progress: { audience: 40, expanded: 20, accepted: 20 } });
    // Every B recipient clicks, one A recipient does.
    const clickers = [
      ...testMessages.filter((m) => m.label === 'B'),
      testMessages.find((m) => m.label === 'A')!,
    ];
    for (const m of clickers) {
      const code = /\/s\/([0-9A-Za-z]{8})/.exec(m.content)![1]!;
      expect((await fetch(`${hongyan.httpUrl}/s/${code}`, { redirect: 'manual' })).status).toBe(302);
    }
    await waitFor('11 clicks recorded', async () => {
      const { rows } = await db.pool.query<{ n: number }>(
        `select count(*)::int as n from short_link_clicks c join short_links l on l.id = c.link_id where l.campaign_id = $1`,
        [id],
      );
      return rows[0]!.n === 11 || undefined;
    });
    // The set time has passed for a node whose clock is 31 minutes ahead.
    const later = scheduler({ now: () => new Date(Date.now() + 31 * 60_000) });
    await later.pass();
    const all = await allFinal(id, 40);
    const rest = all.filter((m) => m.label === 'rest');
    expect(rest).toHaveLength(20);
    for (const m of rest)
      expect(m.content).toMatch(/^【鸿雁】文案B https:\/\/t\.hy\.example\/s\/[0-9A-Za-z]{8}$/);
    expect(new Set(all.map((m) => m.recipient)).size).toBe(40);
    const decided = (await api('GET', `/v1/campaigns/${id}/runs`)).body.data[0];
    expect(decided).toMatchObject({
      state: 'done',
      winner: 'B',
      decision: { winner: 'B', metric: 'click_rate', significant: true },
    });
    expect(decided.decision.variants).toEqual([
      expect.objectContaining({ name: 'A', recipients: 10, clicked: 1 }),
      expect.objectContaining({ name: 'B', recipients: 10, clicked: 10 }),
    ]);
  });

  it("sends to a contact group's members with their fields, each number once with the pasted ones", async () => {
    const group = await api('POST', '/v1/contacts/groups', { name: '会员' });
    expect(group.status).toBe(201);
    const contacts = Array.from({ length: 5 }, (_, i) => ({
      phone: phone(700 + i),
      name: `会员${i}`,
      fields: { level: `L${i}` },
    }));
    const bulk = await api('POST', '/v1/contacts/bulk', { contacts, group_id: group.body.id });
    expect(bulk.body.created).toBe(5);
    const created = await api('POST', '/v1/campaigns', {
      name: 'group',
      // One pasted number is also in the group: it gets one message, with its pasted values.
      audience: {
        numbers: `${phone(700)},老朋友,VIP`,
        columns: ['name', 'level'],
        group_ids: [Number(group.body.id)],
      },
      content: '{name}您的等级{level}',
    });
    expect(created.status).toBe(201);
    const [run] = await runsDone(created.body.id, 1);
    expect(run).toMatchObject({ progress: { audience: 5, duplicates: 1, accepted: 5 } });
    const messages = await allFinal(created.body.id, 5);
    expect(messages.map((m) => [m.recipient, m.content]).sort()).toEqual([
      [phone(700), '【鸿雁】老朋友您的等级VIP'],
      ...[1, 2, 3, 4].map((i) => [phone(700 + i), `【鸿雁】会员${i}您的等级L${i}`]),
    ]);
    const { rows } = await db.pool.query<{ n: number }>(
      `select count(*)::int as n from campaign_run_recipients r join campaign_runs u on u.id = r.run_id
        where u.campaign_id = $1 and r.contact_id is not null`,
      [created.body.id],
    );
    expect(rows[0]!.n).toBe(4);
  });

  it("fills a contact's empty field from the campaign's params; a field with a value still wins", async () => {
    const group = await api('POST', '/v1/contacts/groups', { name: '无名' });
    expect(group.status).toBe(201);
    const contacts = [
      // No name (stored as ''), and an empty level.
      { phone: phone(720), fields: { level: '' } },
      { phone: phone(721), name: '王先生', fields: { level: '金卡' } },
    ];
    const bulk = await api('POST', '/v1/contacts/bulk', { contacts, group_id: group.body.id });
    expect(bulk.body.created).toBe(2);
    const created = await api('POST', '/v1/campaigns', {
      name: 'empty fields',
      audience: { group_ids: [Number(group.body.id)] },
      content: '{name}您好，您的等级{level}',
      params: { name: '尊敬的顾客', level: '普通' },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const [run] = await runsDone(created.body.id, 1);
    expect(run).toMatchObject({ progress: { audience: 2, accepted: 2 } });
    const messages = await allFinal(created.body.id, 2);
    expect(messages.map((m) => [m.recipient, m.content]).sort()).toEqual([
      [phone(720), '【鸿雁】尊敬的顾客您好，您的等级普通'],
      [phone(721), '【鸿雁】王先生您好，您的等级金卡'],
    ]);
  });

  it('throttles a run: each minute takes at most throttle_per_minute recipients', async () => {
    const created = await api('POST', '/v1/campaigns', {
      name: 'throttled',
      audience: { numbers: Array.from({ length: 5 }, (_, i) => phone(800 + i)).join('\n') },
      content: '分批发送',
      throttle_per_minute: 2,
    });
    const [run] = await runsDone(created.body.id, 1);
    const start = (
      await db.pool.query<{ phase_at: Date }>('select phase_at from campaign_runs where id = $1', [
        (run as unknown as { id: string }).id,
      ])
    ).rows[0]!.phase_at;
    const { rows } = await db.pool.query<{ recipient: string; send_at: Date | null; status: string }>(
      `select m.recipient, m.send_at, m.status from messages m join campaign_run_batches b on b.batch_id = m.batch_id
        join campaign_runs r on r.id = b.run_id where r.campaign_id = $1 order by m.recipient`,
      [created.body.id],
    );
    expect(rows.map((r) => [r.recipient, r.send_at?.getTime() ?? null])).toEqual([
      [phone(800), null],
      [phone(801), null],
      [phone(802), start.getTime() + 60_000],
      [phone(803), start.getTime() + 60_000],
      [phone(804), start.getTime() + 120_000],
    ]);
    expect(rows.slice(2).every((r) => r.status === 'held')).toBe(true);
    // The run's batch is an ordinary batch: canceling it withdraws the minutes still waiting.
    const batchId = (run as unknown as { batches: { batch_id: string }[] }).batches[0]!.batch_id;
    const canceled = await api('POST', `/v1/batches/${batchId}/cancel`);
    expect(canceled.status).toBe(200);
    const after = await db.pool.query<{ status: string; n: number }>(
      `select status, count(*)::int as n from messages where batch_id = $1 and status = 'canceled' group by status`,
      [batchId],
    );
    expect(after.rows).toEqual([{ status: 'canceled', n: 3 }]);
  });

  it('keeps the daily statistics from cursors, equal to the messages, clicks and opt-outs', async () => {
    // A pass whose clock is past the settling lag counts everything final so far, once.
    const now = new Date(Date.now() + 5 * 60_000);
    await waitFor('every message final', async () => {
      const { rows } = await db.pool.query<{ n: number }>(
        `select count(*)::int as n from messages where tenant_id = $1 and not (status = any($2::text[]))`,
        [tenantId, FINAL],
      );
      return rows[0]!.n === 0 || undefined;
    });
    // Each pass steps aside (null) while a worker's own pass holds the cursor: run until two have run.
    for (let ran = 0, tries = 0; ran < 2 && tries < 200; tries++) {
      if ((await runDailyStatsPass({ pool: db.pool, now })) !== null) ran++;
      else await new Promise((r) => setTimeout(r, 50));
    }
    const { rows } = await db.pool.query<{
      messages: number;
      delivered: number;
      failed: number;
      clicks: number;
      opt_outs: number;
    }>(
      `select count(*)::int as messages, count(*) filter (where status = 'delivered')::int as delivered,
              count(*) filter (where status = 'undelivered')::int as failed,
              (select count(*)::int from short_link_clicks where tenant_id = $1) as clicks,
              (select count(*)::int from opt_out_events where tenant_id = $1 and action = 'out') as opt_outs
         from messages where tenant_id = $1`,
      [tenantId],
    );
    const day = (d: Date) => new Date(d.getTime() + 8 * 3_600_000).toISOString().slice(0, 10);
    const stats = await api(
      'GET',
      `/v1/stats/daily?from=${day(new Date(Date.now() - 86_400_000))}&to=${day(now)}`,
    );
    expect(stats.status).toBe(200);
    const sum = (f: string) => stats.body.data.reduce((s: number, d: Record<string, number>) => s + d[f]!, 0);
    expect({
      messages: sum('messages'),
      delivered: sum('delivered'),
      failed: sum('failed'),
      clicks: sum('clicks'),
      opt_outs: sum('opt_outs'),
    }).toEqual(rows[0]);
    // The short-link test's clicks: 1, a burst of 300, 1 on the other node's redirect, those
    // answered before this process read the disable, 1 on a link still enabled and 1 once enabled
    // again; 11 in the A/B test.
    expect(rows[0]!.clicks).toBe(315 + redirectsBeforeSync);
    expect((await api('GET', '/v1/stats/daily?from=yesterday&to=today')).body.error.code).toBe(
      'request.invalid',
    );
  });

  it('sends to an uploaded CSV or XLSX audience: its variables, row-level errors, each number once', async () => {
    const upload = async (name: string, data: Buffer | string, mapping?: unknown) => {
      const form = new FormData();
      form.append('file', new Blob([typeof data === 'string' ? data : new Uint8Array(data)]), name);
      if (mapping !== undefined) form.append('mapping', JSON.stringify(mapping));
      const res = await fetch(`${hongyan.httpUrl}/v1/campaigns/audience-files`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}` },
        body: form,
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const raw = (i: number) => phone(i).slice(3); // 138…, as a tenant's spreadsheet holds it
    // Row 1 the header; row 3 an invalid number; row 5 the number of row 2 again.
    const csv = [
      '手机号,姓名,city',
      `${raw(900)},张三,北京`,
      '12345,无效,上海',
      `${raw(901)},李四,上海`,
      `${raw(900)},重复,广州`,
      `+86 ${raw(902).slice(0, 3)} ${raw(902).slice(3, 7)} ${raw(902).slice(7)},王五,深圳`,
    ].join('\r\n');
    const file = await upload('audience.csv', `\uFEFF${csv}\r\n`);
    expect(file.status, JSON.stringify(file.body)).toBe(201);
    expect(file.body).toMatchObject({
      format: 'csv',
      variables: ['name', 'city'],
      rows_read: 5,
      recipients: 3,
      invalid: 1,
      duplicates: 1,
      errors: [
        { row: 3, value: '12345', reason: expect.stringMatching(/^phone\./) },
        { row: 5, value: raw(900), reason: 'duplicate', first_row: 2 },
      ],
    });
    const errorsCsv = await api('GET', `/v1/campaigns/audience-files/${file.body.id}/errors`);
    expect(errorsCsv.status).toBe(200);
    expect(
      (errorsCsv.body as Buffer)
        .toString('utf8')
        .replace(/^\uFEFF/, '')
        .trim()
        .split('\r\n'),
    ).toEqual([
      'row,value,reason,first_row',
      `3,12345,${file.body.errors[0].reason},`,
      `5,${raw(900)},duplicate,2`,
    ]);

    // The same people in an XLSX, the phone column named by the mapping and numbers as numbers.
    const book = new ExcelJS.Workbook();
    const sheet = book.addWorksheet('list');
    sheet.addRow(['客户', 'mobile', 'city']);
    sheet.addRow(['赵六', Number(raw(903)), '成都']);
    sheet.addRow(['钱七', 'not a phone', '武汉']);
    const xlsx = await upload('audience.xlsx', Buffer.from(await book.xlsx.writeBuffer()), {
      phone: 'mobile',
      fields: { name: '客户', city: 'city' },
    });
    expect(xlsx.status, JSON.stringify(xlsx.body)).toBe(201);
    expect(xlsx.body).toMatchObject({ format: 'xlsx', recipients: 1, invalid: 1, duplicates: 0 });

    // A campaign with the CSV's recipients after two pasted ones, one of them also in the file.
    const body = {
      name: 'from a file',
      audience: {
        file_id: file.body.id,
        numbers: [`${phone(904)},孙八,杭州`, `${phone(901)},李四,上海`].join('\n'),
        columns: ['name', 'city'],
      },
      content: '{name}您好,{city}门店本周上新',
    };
    const preview = await api('POST', '/v1/campaigns/preview', body);
    expect(preview.body.recipients, JSON.stringify(preview.body)).toMatchObject({
      audience: 5,
      duplicates: 1,
      unique: 4,
      eligible: 4,
    });
    const created = await api('POST', '/v1/campaigns', body);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.audience.file).toEqual({
      id: file.body.id,
      file_name: 'audience.csv',
      recipients: 3,
      variables: ['name', 'city'],
    });
    const fromXlsx = await api('POST', '/v1/campaigns', {
      name: 'from the xlsx',
      audience: { file_id: xlsx.body.id },
      content: body.content,
    });
    expect(fromXlsx.status, JSON.stringify(fromXlsx.body)).toBe(201);
    const sent = (rows: { recipient: string; content: string }[]) =>
      rows.map((m) => [m.recipient, m.content]).sort(([a], [b]) => a!.localeCompare(b!));
    expect(sent(await allFinal(created.body.id, 4))).toEqual([
      [phone(900), '【鸿雁】张三您好,北京门店本周上新'],
      [phone(901), '【鸿雁】李四您好,上海门店本周上新'],
      [phone(902), '【鸿雁】王五您好,深圳门店本周上新'],
      [phone(904), '【鸿雁】孙八您好,杭州门店本周上新'],
    ]);
    expect(sent(await allFinal(fromXlsx.body.id, 1))).toEqual([
      [phone(903), '【鸿雁】赵六您好,成都门店本周上新'],
    ]);

    // Refused with stable codes, nothing stored: no phone column, not CSV/XLSX, no valid row,
    // another tenant's (or no such) file.
    const noPhone = await upload('a.csv', 'name,city\r\n张三,北京\r\n');
    expect([noPhone.status, noPhone.body.error.code]).toEqual([400, 'campaigns.invalid_audience_file']);
    const binary = await upload('a.xls', Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0, 0, 0, 0]));
    expect([binary.status, binary.body.error.code]).toEqual([400, 'campaigns.invalid_audience_file']);
    const noneValid = await upload('a.csv', 'phone\r\n123\r\n');
    expect([noneValid.status, noneValid.body.error.code]).toEqual([422, 'campaigns.audience_empty']);
    expect(noneValid.body.error.details.errors).toEqual([
      { row: 2, value: '123', reason: expect.any(String) },
    ]);
    const missing = await api('POST', '/v1/campaigns', { ...body, audience: { file_id: '999999' } });
    expect([missing.status, missing.body.error.code]).toEqual([404, 'campaigns.audience_file_not_found']);
    const { rows } = await db.pool.query<{ n: number }>(
      'select count(*)::int as n from campaign_audience_files where tenant_id = $1',
      [tenantId],
    );
    expect(rows[0]!.n).toBe(2);
  });

  it('refuses bad input with stable codes and writes nothing', async () => {
    const before = (await db.pool.query<{ n: number }>('select count(*)::int as n from campaigns')).rows[0]!
      .n;
    const cases: [unknown, number, string][] = [
      [{ name: 'x', audience: { numbers: 'abc' }, content: 'hi' }, 422, 'campaigns.audience_empty'],
      [
        {
          name: 'x',
          audience: { numbers: Array.from({ length: 10_001 }, (_, i) => phone(i)).join('\n') },
          content: 'hi',
        },
        413,
        'campaigns.audience_too_large',
      ],
      [
        {
          name: 'x',
          audience: { numbers: phone(1) },
          content: 'hi',
          schedule: { kind: 'recurring', rule: { kind: 'cron', expression: '61 * * * *' } },
        },
        400,
        'campaigns.invalid_schedule',
      ],
      [
        {
          name: 'x',
          audience: { numbers: phone(1) },
          content: 'hi',
          schedule: { kind: 'at', at: '2001-01-01T00:00:00Z' },
        },
        400,
        'campaigns.invalid_schedule',
      ],
      [
        {
          name: 'x',
          audience: { numbers: phone(1) },
          content: 'hi',
          ab: {
            variants: [{ name: 'A' }, { name: 'A' }],
            test_share: 0.2,
            decide_after_minutes: 1,
            metric: 'click_rate',
          },
        },
        400,
        'campaigns.invalid_ab',
      ],
      [
        {
          name: 'x',
          audience: { numbers: phone(1) },
          content: 'go https://u:p@evil.example/',
          shorten_links: true,
        },
        400,
        'campaigns.invalid_link',
      ],
      [
        { name: 'x', audience: { numbers: phone(1) }, content: 'hi', sign_name: '不存在' },
        422,
        'compliance.signature_not_approved',
      ],
    ];
    for (const [body, status, code] of cases) {
      const res = await api('POST', '/v1/campaigns', body);
      expect({ code, status: res.status, got: res.body.error?.code }).toEqual({ code, status, got: code });
    }
    expect((await api('GET', '/v1/campaigns/999999')).body.error.code).toBe('campaigns.not_found');
    const after = (await db.pool.query<{ n: number }>('select count(*)::int as n from campaigns')).rows[0]!.n;
    expect(after).toBe(before);
  });
  it("writes a tenant's links with its own short domain once the operator set it; the redirect answers on any host", async () => {
    const other = await buildTestApp(db);
    try {
      const staff = await operatorAdmin(other.app, db);
      const url = `/v1/operator/tenants/${tenantId}/short-domain`;
      const set = (payload: { base_url: string }) =>
        other.app.inject({ method: 'PUT', url, headers: staff, payload });
      const bad = await set({ base_url: 'ftp://go.shop.example/s' });
      expect([bad.statusCode, bad.json().error.code]).toEqual([400, 'shortlinks.invalid_domain']);
      expect((await api('PUT', url, { base_url: 'https://go.shop.example/s' })).status).toBe(403);
      const ok = await set({ base_url: 'https://go.shop.example/s/' });
      expect(ok.json()).toMatchObject({ base_url: 'https://go.shop.example/s', own: true });

      const created = await api('POST', '/v1/campaigns', {
        name: 'own domain',
        audience: { numbers: phone(950) },
        content: '新品 https://shop.example.com/new 拒收请回复R',
        shorten_links: true,
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const [message] = await allFinal(created.body.id as string, 1);
      const code = /^【鸿雁】新品 https:\/\/go\.shop\.example\/s\/([0-9A-Za-z]{8}) 拒收请回复R$/.exec(
        message!.content,
      )?.[1];
      expect(code, message!.content).toBeDefined();
      const res = await fetch(`${hongyan.httpUrl}/s/${code}`, {
        redirect: 'manual',
        headers: { host: 'go.shop.example' },
      });
      expect([res.status, res.headers.get('location')]).toEqual([302, 'https://shop.example.com/new']);

      // Removed: the platform's domain again, for new links.
      const cleared = await other.app.inject({ method: 'DELETE', url, headers: staff });
      // That node's platform domain (its own configuration), no longer the tenant's.
      expect(cleared.json()).toMatchObject({ own: false, set_by: null });
      expect(cleared.json().base_url).not.toBe('https://go.shop.example/s');
      const preview = await api('POST', '/v1/campaigns/preview', {
        name: 'platform domain',
        audience: { numbers: phone(951) },
        content: '新品 https://shop.example.com/new 拒收请回复R',
        shorten_links: true,
      });
      expect(preview.body.samples[0].text).toContain(`${SHORT_BASE}/`);
    } finally {
      await other.app.close();
    }
  });
});
