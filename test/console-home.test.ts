// The tenant console's home, opt-outs and billing pages in a real browser (playwright-core driving
// the Debian Chromium) against a running Hongyan whose embedded simulator delivers every message
// but those to numbers ending in 9 and has every recipient it delivers to reply "TD". Messages are sent through
// the API; the home page shows them as the daily statistics count them (figures and both charts'
// data), with the replies; the replies put the numbers on the opt-outs page, where a number is
// found, added and taken off, each change read back through the API; the billing page shows the
// messages' movements in the ledger and a statement over a range of days picked on the page.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newMember } from '../src/modules/accounts/accounts.testkit.ts';
import { runDailyStatsPass } from '../src/modules/campaigns/daily-stats.ts';
import {
  type ConsoleRig,
  haveChromium,
  logInMember,
  openConsole,
  pickOption,
  poll,
  startConsoleRig,
  warnIfNoChromium,
} from './helpers/console.ts';
import { newSendingTenant } from './helpers/hongyan.ts';

warnIfNoChromium('console home browser tests');

let rig: ConsoleRig;
let page: Page;
let apiKey: string;
let tenantId: number;
let profileDir: string;
/** The messages the first test sends, in order: two delivered, the last undelivered. */
const ids: string[] = [];
const member = { email: 'home@console.test', password: 'correct horse battery' };
const DELIVERED = ['+8613800138001', '+8613800138002'];
const UNDELIVERED = '+8613800138009';

async function api(method: string, route: string, body?: unknown) {
  const res = await fetch(`${rig.hongyan.httpUrl}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${apiKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (res.status === 204 ? null : await res.json()) as any };
}

/** Types a range into the statement's range picker (each input shows the current day as its placeholder). */
async function pickRange(from: string, to: string) {
  const inputs = page.getByTestId('statement-range').locator('input');
  await inputs.first().click();
  await inputs.first().fill(from);
  await inputs.first().press('Enter');
  await inputs.last().fill(to);
  await inputs.last().press('Enter');
}

beforeAll(async () => {
  if (!haveChromium) return;
  profileDir = mkdtempSync(path.join(tmpdir(), 'hy-home-'));
  const profile = path.join(profileDir, 'profiles.json');
  writeFileSync(
    profile,
    JSON.stringify({
      profiles: [
        {
          name: 'hongyan',
          base: 'default',
          undeliveredSuffixes: ['9'],
          replyRate: 1,
          replies: ['TD'],
          replyLatencyMs: { min: 50, median: 100, max: 200 },
        },
      ],
    }),
  );
  rig = await startConsoleRig({ HONGYAN_SIMULATOR_PROFILE: profile });
  const created = await newSendingTenant(rig.t.db, 'home');
  apiKey = created.apiKey.key;
  tenantId = created.tenant.id;
  await newMember(rig.t.db, created.tenant.id, member.email, 'owner', member.password);
  page = await openConsole(rig, { lang: 'en-US' });
  await logInMember(page, member);
}, 240_000);

afterAll(async () => {
  await rig?.close();
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
});

describe.skipIf(!haveChromium)('the console home, opt-outs and billing in Chromium', () => {
  it("shows today's and this month's sends, the delivery rate, both charts' data and the latest replies from the API's daily statistics", async () => {
    for (const [to, type] of [
      [DELIVERED[0]!, 'verification'],
      [DELIVERED[1]!, 'notification'],
      [UNDELIVERED, 'notification'],
    ] as const) {
      const sent = await api('POST', '/v1/messages', { to, content: '【鸿雁】您的订单已发货', type });
      expect(sent.status, JSON.stringify(sent.body)).toBe(202);
      ids.push(sent.body.id);
    }
    await poll(async () => {
      const statuses = await Promise.all(
        ids.map(async (id) => (await api('GET', `/v1/messages/${id}`)).body.status),
      );
      return statuses.sort();
    }).toEqual(['delivered', 'delivered', 'undelivered']);
    // The worker's pass leaves messages younger than a minute for later (an id is drawn before its
    // insert commits); this pass, run as if a few minutes had gone by, counts them now. It steps
    // aside (null) while the worker's own pass holds the cursor: then it runs again.
    await poll(
      async () =>
        (await runDailyStatsPass({ pool: rig.t.db.pool, now: new Date(Date.now() + 5 * 60_000) })) !== null,
    ).toBe(true);
    // A handset that got no message does not answer it: two replies.
    await poll(async () => (await api('GET', '/v1/replies')).body.data.length).toBe(2);

    await page.goto('/');
    await poll(() => page.getByTestId('home-today').textContent()).toContain('3');
    expect(await page.getByTestId('home-month').textContent()).toContain('3');
    expect(await page.getByTestId('home-rate').textContent()).toContain('66.7%');
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
    await poll(() => page.getByTestId('chart-status').getAttribute('aria-label')).toBe(
      `Delivered 2 (${today}: 2); Failed 1 (${today}: 1); Unknown 0; Canceled 0`,
    );
    expect(await page.getByTestId('chart-type').getAttribute('aria-label')).toBe(
      `Verification 1 (${today}: 1); Notification 2 (${today}: 2); Marketing 0`,
    );
    // The 30-day switch keeps the counts, over 30 days.
    await page.getByTestId('home-span').getByText('30 days').click();
    await poll(() => page.getByTestId('chart-status').getAttribute('aria-label')).toContain(
      `Delivered 2 (${today}: 2)`,
    );
    const replies = page.getByTestId('home-replies');
    await poll(() => replies.locator('.ant-list-item').count()).toBe(2);
    expect(await replies.textContent()).toContain('TD');
    await page.getByRole('link', { name: 'All replies' }).click();
    await page.waitForURL('**/replies');
  }, 120_000);

  it('lists the opt-outs the TD replies made, finds a number, adds one and takes it off again', async () => {
    await page.getByRole('menuitem', { name: 'Opt-outs' }).click();
    await page.waitForURL('**/opt-outs');
    const table = page.getByTestId('opt-outs');
    for (const phone of DELIVERED) await table.getByText(phone).waitFor();
    expect(await table.getByText('Reply', { exact: true }).count()).toBe(2);
    expect(await table.getByText(UNDELIVERED).count()).toBe(0);

    const search = page.getByPlaceholder('Find a number');
    await search.fill(DELIVERED[1]!);
    await search.press('Enter');
    await poll(() => table.locator('tbody tr.ant-table-row').count()).toBe(1);
    expect(await table.locator('tbody').textContent()).toContain(DELIVERED[1]!);
    await search.fill('');
    await search.press('Enter');
    await poll(() => table.locator('tbody tr.ant-table-row').count()).toBe(2);

    const added = '+8613900139000';
    await page.getByTestId('opt-out-phone').fill(added);
    await page.getByTestId('opt-out-add').click();
    await table.getByText(added).waitFor();
    const listed = await api('GET', `/v1/compliance/opt-outs?phone=${encodeURIComponent(added)}`);
    expect(listed.body.data).toMatchObject([{ phone: added, source: 'api' }]);

    await table.locator('tr', { hasText: added }).getByRole('button', { name: 'Remove' }).click();
    await page
      .locator('.ant-popconfirm')
      .getByRole('button', { name: /OK|Yes/ })
      .click();
    await poll(() => table.getByText(added).count()).toBe(0);
    const after = await api('GET', `/v1/compliance/opt-outs?phone=${encodeURIComponent(added)}`);
    expect(after.body.data).toEqual([]);
  }, 120_000);

  it("shows the ledger's movements of the messages, filtered by kind, and a statement over a picked range with its export", async () => {
    const session = async (route: string) => {
      const res = await page.request.get(route);
      expect(res.status(), await res.text()).toBe(200);
      return res;
    };
    const ledger = (await (await session('/v1/billing/ledger?limit=500')).json()).data as {
      kind: string;
      message_id: string | null;
    }[];
    const count = (kind: string) => ledger.filter((r) => r.kind === kind).length;
    expect([count('reserve'), count('capture'), count('refund'), count('credit')]).toEqual([3, 3, 1, 1]);

    await page.getByRole('menuitem', { name: 'Billing' }).click();
    await page.waitForURL('**/billing');
    const table = page.getByTestId('ledger');
    await poll(() => table.getByText('Reserved for a message', { exact: true }).count()).toBe(3);
    expect(await table.getByText('Charged (carrier took it)', { exact: true }).count()).toBe(3);
    expect(await table.getByText('Purchase or credit', { exact: true }).count()).toBe(1);
    await pickOption(page.getByTestId('ledger-kind'), 'Refunded (failed)');
    await poll(() => table.locator('tbody tr.ant-table-row').count()).toBe(1);
    expect(await table.locator('tbody tr.ant-table-row').textContent()).toContain(ids[2]!);

    const day = (offset: number) =>
      new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(
        new Date(Date.now() + offset * 86_400_000),
      );
    const statement = page.getByTestId('statement');
    await poll(() => statement.locator('tbody tr.ant-table-row').count()).toBe(2);
    // Yesterday to today: today's two rows (verification, notification).
    await pickRange(day(-1), day(0));
    await page.getByText(`Statement (${day(-1)} to ${day(0)})`).waitFor();
    await poll(() => statement.locator('tbody tr.ant-table-row').count()).toBe(2);
    const text = await statement.textContent();
    expect(text).toContain('Verification');
    expect(text).toContain('Notification');
    const href = await page.getByTestId('statement-csv').getAttribute('href');
    const url = new URL(href!, rig.hongyan.httpUrl!);
    expect([
      url.searchParams.get('from'),
      url.searchParams.get('to'),
      url.searchParams.get('format'),
    ]).toEqual([day(-1), day(0), 'csv']);
    const csv = await (await session(href!)).text();
    expect(csv.split('\n').filter((l) => l.startsWith(day(0)))).toHaveLength(2);
    // A range of days with no messages: the statement is empty.
    await pickRange(day(-60), day(-40));
    await page.getByText(`Statement (${day(-60)} to ${day(-40)})`).waitFor();
    await statement.locator('.ant-empty').waitFor();
  }, 120_000);

  it("shows a viewer the home's figures without the balance, and asks nothing the role may not read", async () => {
    const viewer = { email: 'viewer@console.test', password: 'correct horse battery' };
    await newMember(rig.t.db, tenantId, viewer.email, 'viewer', viewer.password);
    const own = await openConsole(rig, { lang: 'en-US' });
    const forbidden: string[] = [];
    own.on('response', (r) => {
      if (r.status() === 403) forbidden.push(r.url());
    });
    await logInMember(own, viewer);
    await poll(() => own.getByTestId('home-today').textContent()).toContain('3');
    await own.getByTestId('home-replies').waitFor();
    expect(await own.getByTestId('home-balance').count()).toBe(0);
    expect(forbidden).toEqual([]);
    await own.context().close();
  }, 120_000);
});
