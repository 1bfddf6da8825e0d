// The console's campaign pages in a real browser (playwright-core driving the Debian Chromium)
// against a running Hongyan with the simulator, the console built and served as `hongyan start`
// does: a group made on the Contacts page, a CSV imported into it on the Imports page with the
// progress followed to 100 %, then a campaign to that group previewed, created and followed on
// its report page until its messages are delivered. The console is in English here (the other
// browser test uses 简体中文), so both dictionaries are driven. HONGYAN_SCREENSHOTS=1 also writes
// docs/screenshots/.
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newMember } from '../src/modules/accounts/accounts.testkit.ts';
import {
  type ConsoleRig,
  haveChromium,
  logInMember,
  openConsole,
  pickOption,
  startConsoleRig,
  WAIT,
  warnIfNoChromium,
} from './helpers/console.ts';
import { newSendingTenant } from './helpers/hongyan.ts';

warnIfNoChromium('console campaign browser tests');

const SCREENSHOTS = process.env.HONGYAN_SCREENSHOTS === '1';
const SHOTS_DIR = path.resolve(import.meta.dirname, '../docs/screenshots');
const NUMBERS = ['13800138201', '13800138202', '13800138203'];

let rig: ConsoleRig;
let page: Page;
const member = { email: 'campaigns@console.test', password: 'correct horse battery' };

async function shoot(name: string) {
  if (!SCREENSHOTS) return;
  await page.screenshot({ path: path.join(SHOTS_DIR, `${name}.png`), fullPage: true });
}

/** A select of antd, by its test id. */
const pick = (testId: string, option: string) => pickOption(page.getByTestId(testId), option);

beforeAll(async () => {
  if (!haveChromium) return;
  rig = await startConsoleRig();
  const created = await newSendingTenant(rig.t.db, 'campaigns');
  await newMember(rig.t.db, created.tenant.id, member.email, 'owner', member.password);
  page = await openConsole(rig, { lang: 'en-US' });
}, 240_000);

afterAll(() => rig?.close());

describe.skipIf(!haveChromium)('the console campaign pages in Chromium', () => {
  it('imports a CSV into a new group and follows its progress to 100 % with the accepted count', async () => {
    await logInMember(page, member);

    await page.goto('/contacts');
    await page.getByRole('tab', { name: 'Groups' }).click();
    await page.getByTestId('group-name').fill('Spring customers');
    await page.getByTestId('group-create').click();
    await page.locator('tr', { hasText: 'Spring customers' }).waitFor();
    await shoot('contacts-groups');

    await page.goto('/imports');
    const csv = `手机号,姓名,城市\r\n${NUMBERS.map((n, i) => `${n},Customer ${i + 1},Shanghai`).join('\r\n')}\r\n`;
    await page.locator('input[type=file]').setInputFiles({
      name: 'contacts.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(csv, 'utf8'),
    });
    await pick('import-group', 'Spring customers');
    await page.getByTestId('import-submit').click();
    await expect
      .poll(() => page.getByTestId('import-percent').textContent(), { timeout: 120_000 })
      .toBe('100%');
    await expect.poll(() => page.getByTestId('import-accepted').textContent(), { timeout: WAIT }).toBe('3');
    await shoot('imports');

    // The contacts are in the group, listed on the Contacts page with the group's filter.
    await page.goto('/contacts');
    await page.locator('tr', { hasText: 'Customer 2' }).waitFor();
    await shoot('contacts');
  }, 240_000);

  it('creates a campaign for that group, previews it, and shows its report with the messages delivered', async () => {
    await page.goto('/campaigns');
    await page.getByTestId('campaign-new').click();
    await page.waitForURL('**/campaigns/new');
    await page.getByTestId('campaign-name').fill('Spring launch');
    await pick('campaign-groups', 'Spring customers');
    await page.getByTestId('campaign-content').fill('Dear {name}, our spring collection is in');
    await page.getByTestId('campaign-preview-button').click();
    await expect.poll(() => page.getByTestId('preview-eligible').textContent(), { timeout: WAIT }).toBe('3');
    await page
      .getByTestId('campaign-preview')
      .getByText('【鸿雁】Dear Customer 1, our spring collection is in')
      .waitFor();
    await shoot('campaign-new');

    await page.getByTestId('campaign-create').click();
    await page.waitForURL(/\/campaigns\/\d+$/);
    const id = /\/campaigns\/(\d+)$/.exec(page.url())![1]!;
    await page.getByTestId('campaign-run').waitFor();
    await page.getByTestId('funnel-chart').waitFor();
    // The report's funnel counts the simulator's receipts: every message delivered.
    await expect
      .poll(() => page.getByTestId('funnel-delivered').textContent(), { timeout: 120_000, interval: 1000 })
      .toBe('3');
    await shoot('campaign-report');
    const report = (await (await page.request.get(`/v1/campaigns/${id}/report`)).json()) as {
      total: { audience: number; delivered: number };
    };
    expect([report.total.audience, report.total.delivered]).toEqual([3, 3]);

    await page.goto('/campaigns');
    await page.locator('tr', { hasText: 'Spring launch' }).waitFor();
  }, 240_000);
});
