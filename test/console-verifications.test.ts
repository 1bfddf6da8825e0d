// The Verification codes page in a real browser (playwright-core driving the Debian Chromium)
// against a running Hongyan serving the console (test/helpers/console.ts). Codes are sent through
// the API with the tenant's key; the page lists them in English and, after the language switch, in
// 简体中文: the tenant's own only (another tenant's code to the same number is not there), its
// status, and never the code itself. The number filter narrows the list on the server.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newMember } from '../src/modules/accounts/accounts.testkit.ts';
import {
  type ConsoleRig,
  haveChromium,
  logInMember,
  openConsole,
  poll,
  startConsoleRig,
  warnIfNoChromium,
} from './helpers/console.ts';
import { newSendingTenant } from './helpers/hongyan.ts';

warnIfNoChromium('console verification-code browser tests');

let rig: ConsoleRig;
let page: Page;
const member = { email: 'otp@console.test', password: 'correct horse battery' };
let ownKey: string;
let otherKey: string;

/** Sends a code through the API with a tenant key; answers the verification and its code. */
async function sendCode(key: string, to: string, purpose: string) {
  const res = await fetch(`${rig.hongyan.httpUrl!}/v1/verifications`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ to, purpose }),
  });
  const body = (await res.json()) as { id: string; message_id: string };
  expect(res.status, JSON.stringify(body)).toBe(201);
  const m = await rig.t.db.pool.query<{ content: string }>('select content from messages where id = $1', [
    body.message_id,
  ]);
  return { id: body.id, code: /(\d{6})/.exec(m.rows[0]!.content)![1]! };
}

/** The table's rows as the cells' texts. */
const rows = () =>
  page
    .locator('.ant-table-tbody tr.ant-table-row')
    .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));

beforeAll(async () => {
  if (!haveChromium) return;
  rig = await startConsoleRig();
  const own = await newSendingTenant(rig.t.db, 'otp');
  const other = await newSendingTenant(rig.t.db, 'other');
  ownKey = own.apiKey.key;
  otherKey = other.apiKey.key;
  await newMember(rig.t.db, own.tenant.id, member.email, 'owner', member.password);
  page = await openConsole(rig, { lang: 'en-US', viewport: { width: 1280, height: 900 } });
  await logInMember(page, member);
}, 240_000);

afterAll(() => rig?.close());

describe.skipIf(!haveChromium)('the Verification codes page', () => {
  it('lists the codes sent through the API in both languages, never a code or another tenant’s', async () => {
    const login = await sendCode(ownKey, '13800138401', 'login');
    const payment = await sendCode(ownKey, '13800138402', 'payment');
    const theirs = await sendCode(otherKey, '13800138401', 'login');

    await page.getByRole('menuitem', { name: 'Verification codes' }).click();
    await page.waitForURL(/\/verifications$/);
    await page.getByRole('heading', { name: 'Verification codes' }).waitFor();
    await poll(async () => (await rows()).map((r) => r.slice(0, 5))).toEqual([
      [payment.id, '+8613800138402', 'payment', 'Pending', '6'],
      [login.id, '+8613800138401', 'login', 'Pending', '6'],
    ]);
    for (const header of ['Purpose', 'Code length', 'Checks left', 'Sends', 'Verified at'])
      await page.locator('.ant-table-thead th', { hasText: header }).first().waitFor();
    const text = await page.locator('main, body').first().innerText();
    for (const code of [login.code, payment.code, theirs.code]) expect(text).not.toContain(code);
    expect((await rows()).map((r) => r[0])).not.toContain(theirs.id);

    // The number filter asks the server for that number only.
    await page.getByTestId('verifications-phone').fill('13800138401');
    await page.getByTestId('verifications-search').click();
    await poll(async () => (await rows()).map((r) => r[0])).toEqual([login.id]);

    // A check approves the login code; the page (refreshed every 5 s) says so, in 简体中文 too.
    const check = await fetch(`${rig.hongyan.httpUrl!}/v1/verifications/check`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ownKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ to: '13800138401', purpose: 'login', code: login.code }),
    });
    expect(((await check.json()) as { status: string }).status).toBe('approved');
    await page.getByText('简体中文').click();
    await page.getByRole('heading', { name: '验证码' }).waitFor();
    await page.getByTestId('verifications-search').click();
    await poll(async () => (await rows()).map((r) => r.slice(0, 4))).toEqual([
      [login.id, '+8613800138401', 'login', '已验证'],
    ]);
    for (const header of ['用途', '验证码位数', '剩余校验次数', '发送次数', '验证时间'])
      await page.locator('.ant-table-thead th', { hasText: header }).first().waitFor();
    await page.getByRole('menuitem', { name: '验证码' }).waitFor();

    // Cleared, the filter lists both again, in 简体中文.
    await page.getByTestId('verifications-phone').fill('');
    await page.getByTestId('verifications-search').click();
    await poll(async () => (await rows()).map((r) => [r[0], r[3]])).toEqual([
      [payment.id, '待验证'],
      [login.id, '已验证'],
    ]);
    expect(await page.locator('body').innerText()).not.toContain(payment.code);
  }, 180_000);
});
