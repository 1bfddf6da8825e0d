// The operator console in a real browser (playwright-core driving the Debian Chromium) against a
// running Hongyan with the simulator: each screen's figures are compared with what the API
// answers, and each change made through the page is read back through the API — channel health
// (binds, throughput, max TPS, delivery rate, breaker, last routing event), a tenant suspended
// with a reason and reactivated, a rule set's words added, removed, imported and exported, the
// qualification queue's documents, a route created, changed and removed, and staff added and
// re-roled. The operator works in English.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountsRepository } from '../src/modules/accounts/accounts.repository.ts';
import { newStaff } from '../src/modules/accounts/accounts.testkit.ts';
import { createTenant } from '../src/modules/accounts/accounts.usecases.ts';
import {
  type ConsoleRig,
  haveChromium,
  logInStaff,
  openConsole,
  pickOption,
  poll,
  startConsoleRig,
  WAIT,
  warnIfNoChromium,
} from './helpers/console.ts';

warnIfNoChromium('operator console browser tests');

let rig: ConsoleRig;
let ops: Page;
const staff = { username: 'console-ops', password: 'staff password 1' };

async function apiGet<T>(page: Page, path: string): Promise<T> {
  const res = await page.request.get(path);
  expect(res.status(), `${path}: ${await res.text()}`).toBe(200);
  return (await res.json()) as T;
}

beforeAll(async () => {
  if (!haveChromium) return;
  rig = await startConsoleRig();
  await newStaff(rig.t.db, staff.username, 'admin', staff.password);
  ops = await openConsole(rig, { lang: 'en-US' });
  await logInStaff(ops, staff);
}, 240_000);

afterAll(() => rig?.close());

interface Health {
  channel_id: number;
  bind_limit: number;
  binds: unknown[];
  breaker: string;
  delivery_rate: number | null;
}

describe.skipIf(!haveChromium)('the operator console in Chromium', { timeout: 3 * WAIT }, () => {
  it('shows each channel with its binds up of those configured, max TPS, delivery rate, breaker and last routing event, as the API reports them', async () => {
    const channels = await apiGet<{ data: { id: number; name: string; max_tps: number }[] }>(
      ops,
      '/v1/operator/channels',
    );
    const channel = channels.data[0]!;
    const id = channel.id;
    // The workers bind the simulator's channel within seconds; its lease is a routing event.
    await poll(async () => {
      const h = await apiGet<{ data: Health[] }>(ops, '/v1/operator/routing/health');
      return h.data.find((r) => r.channel_id === id)?.binds.length ?? 0;
    }).toBeGreaterThan(0);
    await ops.goto('/operator/channels');
    await poll(async () => {
      const h = (await apiGet<{ data: Health[] }>(ops, '/v1/operator/routing/health')).data.find(
        (r) => r.channel_id === id,
      )!;
      return (await ops.getByTestId(`binds-${id}`).textContent()) === `${h.binds.length}/${h.bind_limit}`;
    }).toBe(true);
    expect(await ops.getByTestId(`max-tps-${id}`).textContent()).toBe(String(channel.max_tps));
    const health = (await apiGet<{ data: Health[] }>(ops, '/v1/operator/routing/health')).data.find(
      (r) => r.channel_id === id,
    )!;
    expect(await ops.getByTestId(`breaker-state-${id}`).textContent()).toBe(
      health.breaker === 'healthy' ? 'Healthy' : 'Degraded',
    );
    expect(await ops.getByTestId(`rate-${id}`).textContent()).toBe(
      health.delivery_rate === null ? '—' : `${(health.delivery_rate * 100).toFixed(1)} %`,
    );
    expect(await ops.getByTestId(`throughput-${id}`).textContent()).toMatch(/^\d+\.\d\/s$/);
    // The last event is the newest one the API has for this channel (a lease taken, a bind...).
    const labels: Record<string, string> = {
      degraded: 'Degraded',
      recovered: 'Recovered',
      all_degraded: 'All degraded',
      bind_lost: 'Bind lost',
      bind_back: 'Bind back',
      lease_taken: 'Bind taken',
      lease_released: 'Bind released',
    };
    await poll(async () => {
      const newest = await apiGet<{ data: { kind: string }[] }>(
        ops,
        `/v1/operator/routing/events?channel_id=${id}&order=desc&limit=1`,
      );
      const text = (await ops.getByTestId(`last-event-${id}`).textContent()) ?? '';
      return newest.data.length > 0 && text.startsWith(labels[newest.data[0]!.kind]!);
    }).toBe(true);
  });

  it('suspends a tenant with a reason after a confirmation, and reactivates it', async () => {
    const { tenant } = await createTenant({
      name: 'to-suspend',
      repository: createAccountsRepository(rig.t.db.kysely),
    });
    const id = tenant.id;
    const application = () =>
      apiGet<{ status: string; status_reason: string | null }>(ops, `/v1/operator/tenants/${id}/application`);
    await ops.goto('/operator/tenants');
    await ops.getByTestId(`suspend-${id}`).click();
    // The dialog confirms: nothing changes until its button is pressed.
    await ops.getByTestId('suspend-reason').fill('Complaints about unsolicited messages');
    expect((await application()).status).toBe('active');
    await ops.getByTestId('status-confirm').click();
    await poll(async () => (await application()).status).toBe('suspended');
    expect((await application()).status_reason).toBe('Complaints about unsolicited messages');
    const row = ops.locator('tr', { has: ops.getByTestId(`activate-${id}`) });
    await row.getByText('Complaints about unsolicited messages').waitFor();
    await row.getByText('Suspended').waitFor();

    await ops.getByTestId(`activate-${id}`).click();
    await ops.getByTestId('status-confirm').click();
    await poll(async () => (await application()).status).toBe('active');
    await ops.getByTestId(`suspend-${id}`).waitFor();
  });

  it('pages the tenant list on the server, newest first, and finds tenants by name and status', async () => {
    const repository = createAccountsRepository(rig.t.db.kysely);
    const ids: number[] = [];
    for (let i = 0; i < 21; i++) ids.push((await createTenant({ name: `pager-${i}`, repository })).tenant.id);
    await ops.goto('/operator/tenants');
    await ops.getByTestId('tenants-search').fill('PAGER');
    await ops.getByTestId('tenants-search').press('Enter');
    const shown = async () =>
      Promise.all(
        (await ops.locator('tbody tr[data-row-key]').all()).map(async (r) =>
          Number(await r.getAttribute('data-row-key')),
        ),
      );
    // A page of 20, the newest first; the 21st (the oldest) on the next page.
    await poll(shown).toEqual([...ids].reverse().slice(0, 20));
    await ops.getByRole('button', { name: 'Next' }).click();
    await poll(shown).toEqual([ids[0]]);
    await ops.getByRole('button', { name: 'Previous' }).click();
    await poll(shown).toEqual([...ids].reverse().slice(0, 20));

    await rig.t.db.pool.query(`update tenants set status = 'suspended' where id = $1`, [ids[3]]);
    await pickOption(ops.getByTestId('tenants-status'), 'Suspended');
    await poll(shown).toEqual([ids[3]]);
  });

  it("lists a rule set's words, adds and removes them, imports a file and exports it, and the test box blocks an added word", async () => {
    const path = '/v1/operator/compliance/rule-sets/banned_words';
    const words = async () => (await apiGet<{ words: string[] }>(ops, path)).words;
    const before = await words();
    await ops.goto('/operator/rules');
    await ops.getByTestId('words-banned_words').click();
    await ops.getByTestId('words-add').fill('控制台违禁词\nconsoleforbidden\n');
    await ops.getByTestId('words-add-submit').click();
    await ops.getByTestId('words-done').getByText('2 words added').waitFor();
    expect(await words()).toEqual(expect.arrayContaining(['控制台违禁词', 'consoleforbidden']));
    await ops.getByTestId('words-search').fill('consoleforbidden');
    await ops.getByTestId('word-remove-consoleforbidden').click();
    await ops.locator('.ant-popconfirm').getByRole('button', { name: 'Remove' }).click();
    await ops.getByTestId('words-done').getByText('1 words removed').waitFor();
    expect(await words()).not.toContain('consoleforbidden');
    expect(await words()).toContain('控制台违禁词');

    await ops
      .getByTestId('words-import')
      .locator('input[type=file]')
      .setInputFiles({
        name: 'more.txt',
        mimeType: 'text/plain',
        buffer: Buffer.from('导入词甲\n导入词乙\n'),
      });
    await ops.getByTestId('words-done').getByText('Imported 2 words: 2 added, 0 removed').waitFor();
    expect(await words()).toEqual(expect.arrayContaining(['导入词甲', '导入词乙']));
    expect((await words()).length).toBe(before.length + 3);

    const href = await ops.getByTestId('words-export').getAttribute('href');
    expect(href).toBe(`${path}/export`);
    const exported = await ops.request.get(href!);
    expect(exported.status()).toBe(200);
    expect((await exported.text()).split('\n')).toEqual(expect.arrayContaining(['控制台违禁词', '导入词乙']));

    await ops.locator('.ant-modal-close').click();
    await ops.locator('.ant-modal-wrap').waitFor({ state: 'hidden' });
    await ops.getByTestId('check-content').fill('【鸿雁】本店新品控制台违禁词上市，回T退订');
    await ops.getByRole('button', { name: 'Check' }).click();
    await ops.getByTestId('findings').getByText('「控制台违禁词」').waitFor();
  });

  it("shows a qualification's documents in the review queue, each opening the file the tenant uploaded, and approves it", async () => {
    const applicant = await rig.browser.newContext({ baseURL: rig.hongyan.httpUrl! });
    const email = 'applicant@console.test';
    const password = 'correct horse battery';
    const registered = await applicant.request.post('/v1/auth/register', {
      data: {
        company_name: '福州控制台测试有限公司',
        credit_code: '91350100M000100Y43',
        contact_name: '张三',
        contact_phone: '13800138000',
        contact_email: 'contact@console.test',
        industry: 'software',
        email,
        password,
      },
    });
    expect(registered.status(), await registered.text()).toBe(201);
    const tenantId = ((await registered.json()) as { tenant: { id: number } }).tenant.id;
    const login = await applicant.request.post('/v1/auth/login', { data: { login: email, password } });
    expect(login.status(), await login.text()).toBe(200);
    const csrf = (await applicant.cookies()).find((c) => c.name === 'hy_csrf')!.value;
    const png = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      Buffer.alloc(64, 7),
    ]);
    const uploaded = await applicant.request.post('/v1/tenant/documents?kind=business_licence', {
      headers: { 'content-type': 'image/png', 'x-csrf-token': csrf },
      data: png,
    });
    expect(uploaded.status(), await uploaded.text()).toBe(201);
    const docId = ((await uploaded.json()) as { id: number }).id;
    await applicant.close();

    await ops.goto('/operator/reviews');
    await ops.getByRole('tab', { name: 'Qualifications' }).click();
    const link = ops.getByTestId(`qualification-document-${docId}`);
    expect(await link.textContent()).toBe('Business licence · PNG · 1 KB');
    const href = await link.getAttribute('href');
    expect(href).toBe(`/v1/operator/tenants/${tenantId}/documents/${docId}`);
    const file = await ops.request.get(href!);
    expect(file.headers()['content-type']).toBe('image/png');
    expect(Buffer.from(await file.body()).equals(png)).toBe(true);
    const row = ops.locator('tr', { has: link });
    await row.getByText('91350100M000100Y43').waitFor();
    await row.getByTestId('queue-age').waitFor();

    await ops.getByTestId(`approve-${tenantId}`).click();
    await poll(
      async () =>
        (await apiGet<{ status: string }>(ops, `/v1/operator/tenants/${tenantId}/application`)).status,
    ).toBe('active');
    await link.waitFor({ state: 'detached' });
  });

  it('creates a route with a two-tier channel group, changes it, and removes it', async () => {
    interface Route {
      id: number;
      position: number;
      message_type: string | null;
      carrier: string | null;
      description: string;
      channels: { channel: string; tier: number; weight: number }[];
    }
    const routes = async () => (await apiGet<{ data: Route[] }>(ops, '/v1/operator/routes')).data;
    const primary = (await apiGet<{ data: { name: string }[] }>(ops, '/v1/operator/channels')).data[0]!.name;
    const backup = await ops.request.post('/v1/operator/channels', {
      headers: { 'x-csrf-token': (await ops.context().cookies()).find((c) => c.name === 'hy_csrf')!.value },
      data: { name: 'console-backup', host: '127.0.0.1', system_id: 'backup', enabled: false },
    });
    expect(backup.status(), await backup.text()).toBe(201);

    await ops.goto('/operator/routes');
    await ops.getByTestId('route-new').click();
    await pickOption(ops.getByTestId('route-type'), 'Marketing');
    await pickOption(ops.getByTestId('route-carrier'), 'China Mobile');
    await ops.getByTestId('route-description').fill('marketing on China Mobile');
    await pickOption(ops.getByTestId('route-channel-0'), primary);
    await ops.getByTestId('route-add-channel').click();
    // The first channel's list closes before the second opens: both name the same channels.
    await poll(() => ops.locator('.ant-select-dropdown:visible').count()).toBe(0);
    await pickOption(ops.getByTestId('route-channel-1'), 'console-backup');
    await ops.getByTestId('route-tier-1').fill('2');
    await ops.getByTestId('route-save').click();
    await poll(async () =>
      (await routes()).find((r) => r.description === 'marketing on China Mobile'),
    ).toMatchObject({
      message_type: 'marketing',
      carrier: 'cmcc',
      channels: [
        { channel: primary, tier: 1, weight: 1 },
        { channel: 'console-backup', tier: 2, weight: 1 },
      ],
    });
    const created = (await routes()).find((r) => r.description === 'marketing on China Mobile')!;
    expect(await ops.getByTestId(`route-group-${created.id}`).textContent()).toBe(
      `Tier 1: ${primary}×1 › Tier 2: console-backup×1`,
    );

    await ops.getByTestId(`route-edit-${created.id}`).click();
    await ops.getByTestId('route-description').fill('marketing, weighted');
    await ops.getByTestId('route-weight-0').fill('5');
    await ops.getByTestId('route-save').click();
    await poll(async () => (await routes()).find((r) => r.id === created.id)?.description).toBe(
      'marketing, weighted',
    );
    expect((await routes()).find((r) => r.id === created.id)).toMatchObject({
      position: created.position,
      message_type: 'marketing',
      carrier: 'cmcc',
      channels: [
        { channel: primary, tier: 1, weight: 5 },
        { channel: 'console-backup', tier: 2, weight: 1 },
      ],
    });

    await ops.getByTestId(`route-remove-${created.id}`).click();
    await ops.locator('.ant-popconfirm').getByRole('button', { name: 'Remove' }).click();
    await poll(async () => (await routes()).some((r) => r.id === created.id)).toBe(false);
    await ops.getByTestId(`route-remove-${created.id}`).waitFor({ state: 'detached' });
  });

  it('adds a member of staff who can log in with the initial password shown once, changes their role, and removes them', async () => {
    const members = async () =>
      (await apiGet<{ data: { id: number; username: string; role: string }[] }>(ops, '/v1/operator/staff'))
        .data;
    await ops.goto('/operator/staff');
    await ops.getByTestId('staff-new').click();
    await ops.getByTestId('staff-username').fill('console-reviewer');
    await ops.getByTestId('staff-submit').click();
    const password = (await ops.getByTestId('staff-initial-password').textContent())!.trim();
    expect(password.length).toBeGreaterThan(8);
    expect((await members()).find((m) => m.username === 'console-reviewer')?.role).toBe('reviewer');
    const other = await rig.browser.newContext({ baseURL: rig.hongyan.httpUrl! });
    const login = await other.request.post('/v1/auth/login', {
      data: { login: 'console-reviewer', password },
    });
    expect(login.status(), await login.text()).toBe(200);
    await other.close();
    await ops.locator('.ant-modal-wrap:visible .ant-modal-close').click();
    await ops.locator('.ant-modal-wrap').waitFor({ state: 'hidden' });

    await pickOption(ops.getByTestId('staff-role-console-reviewer'), 'Support');
    await ops.locator('#staff-role-confirm').click();
    await poll(async () => (await members()).find((m) => m.username === 'console-reviewer')?.role).toBe(
      'support',
    );

    await ops.getByTestId('staff-remove-console-reviewer').click();
    await ops.locator('.ant-popconfirm').getByRole('button', { name: 'Remove' }).click();
    await poll(async () => (await members()).some((m) => m.username === 'console-reviewer')).toBe(false);
  });

  it("shows the platform's messages per day and by tenant with delivery rates, as the statistics API answers them", async () => {
    const { tenant } = await createTenant({
      name: 'stats-console',
      repository: createAccountsRepository(rig.t.db.kysely),
    });
    const today = new Date().toLocaleDateString('sv-SE', { timeZone: 'Asia/Shanghai' });
    // A row as the periodic job keeps it: 40 final messages of today, 30 delivered.
    await rig.t.db.pool.query(
      `insert into daily_stats (tenant_id, day, type, messages, parts, sent, delivered, failed, unknown)
       values ($1, $2, 'notification', 40, 40, 40, 30, 6, 4)`,
      [tenant.id, today],
    );
    const stats = await apiGet<{
      days: { day: string; messages: number; delivery_rate: number | null }[];
      tenants: { tenant_id: number; messages: number; delivery_rate: number | null }[];
    }>(ops, `/v1/operator/stats/daily?from=${today}&to=${today}`);
    const day = stats.days.find((d) => d.day === today)!;
    expect(stats.tenants.find((r) => r.tenant_id === tenant.id)).toMatchObject({
      messages: 40,
      delivery_rate: 0.75,
    });

    await ops.goto('/operator/statistics');
    const dayRow = ops.getByTestId('stats-days').locator('tr', { hasText: today });
    await dayRow.getByText(String(day.messages), { exact: true }).first().waitFor();
    await dayRow.getByText(`${(day.delivery_rate! * 100).toFixed(1)} %`).waitFor();
    const tenantRow = ops
      .getByTestId('stats-tenants')
      .locator('tr', { hasText: `#${tenant.id} stats-console` });
    await tenantRow.getByText('75.0 %').waitFor();
    await tenantRow.getByText('40', { exact: true }).waitFor();
    await ops.getByTestId('stats-channels').locator('tbody tr').first().waitFor();
  });
});
