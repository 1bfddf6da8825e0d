// Every string of the console exists in both languages: the two dictionaries have the same keys,
// and no value is left empty. In a real browser (playwright-core driving the Debian Chromium), in
// 简体中文 and in English: the main pages show no dictionary key and no raw API value (a column
// title, status or role read as the API spells it), dates and the date picker follow the language,
// API errors and the rules engine's findings read in it by their code; a viewer's menu lacks the
// pages its role cannot use (and what it shows answers no 403), with contacts' numbers masked; a
// clickable row is reached with Tab and opened with Enter.
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newMember, newStaff } from '../src/modules/accounts/accounts.testkit.ts';
import { enUS } from '../web/src/i18n/en-US.ts';
import { zhCN } from '../web/src/i18n/zh-CN.ts';
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

describe('the console dictionaries', () => {
  it('have the same keys in 简体中文 and English, none empty', () => {
    expect(Object.keys(enUS).sort()).toEqual(Object.keys(zhCN).sort());
    for (const dict of [zhCN, enUS])
      for (const [k, v] of Object.entries(dict)) expect(v.trim(), k).not.toBe('');
  });

  it('translate every error code docs/errors.md lists', () => {
    const listed = [
      ...readFileSync('docs/errors.md', 'utf8').matchAll(/^\| `([a-z_]+\.[a-z0-9_.]+)` \| \d{3} \|/gm),
    ];
    expect(listed.length).toBeGreaterThan(150);
    const missing = listed.map((m) => m[1]!).filter((code) => !(`error.${code}` in zhCN));
    expect(missing).toEqual([]);
  });

  it('use the same {placeholders} in both languages', () => {
    const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const key of Object.keys(zhCN) as (keyof typeof zhCN)[])
      expect(names(enUS[key]), key).toEqual(names(zhCN[key]));
  });
});

warnIfNoChromium('console language browser tests');

type Dict = Record<keyof typeof zhCN, string>;
const LANGS = [
  ['zh-CN', zhCN],
  ['en-US', enUS],
] as const satisfies readonly (readonly [string, Dict])[];

let rig: ConsoleRig;
const owner = { email: 'owner@i18n.test', password: 'correct horse battery' };
const viewer = { email: 'viewer@i18n.test', password: 'correct horse battery' };
const support = { username: 'i18n-support', password: 'staff password 1' };

/** A button's accessible name: antd spaces out a two-character Chinese label (登 录). */
const label = (text: string) =>
  new RegExp(`^${[...text].map((c) => c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('\\s*')}$`);

/** What a dictionary key looks like when it leaks into the page. */
const KEY =
  /\b(?:status|role|field|nav|type|kind|scope|error|finding|severity|bindMode|idConvention)\.[a-z]\w*/;
/** A label the dictionaries lack reads as the API's lowercase words ("pending review", "bind mode"). */
const RAW = /^[a-z][a-z_]*( [a-z_]+)*$/;

async function open(lang: 'zh-CN' | 'en-US'): Promise<Page> {
  const page = await openConsole(rig, lang === 'en-US' ? { lang } : {});
  // A page that throws says so in the test's output.
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  return page;
}

/** Waits until the page's tables have loaded (no spinner left). */
async function settled(page: Page) {
  await page.getByTestId('account').waitFor();
  await poll(() => page.locator('.ant-spin-spinning').count()).toBe(0);
}

beforeAll(async () => {
  if (!haveChromium) return;
  rig = await startConsoleRig();
  const { db } = rig.t;
  const created = await newSendingTenant(db, 'i18n');
  await newMember(db, created.tenant.id, owner.email, 'owner', owner.password);
  await newMember(db, created.tenant.id, viewer.email, 'viewer', viewer.password);
  await newStaff(db, support.username, 'support', support.password);
  const api = (path: string, body: unknown) =>
    fetch(`${rig.hongyan.httpUrl!}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${created.apiKey.key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  expect((await api('/v1/messages', { to: '13800138000', content: 'hello' })).status).toBe(202);
  expect((await api('/v1/contacts', { phone: '13900139000', name: '李四' })).status).toBe(201);
}, 240_000);

afterAll(() => rig?.close());

describe.skipIf(!haveChromium)('the console in 简体中文 and English', () => {
  it.each(LANGS)(
    '%s: the main pages show no dictionary key or raw API value',
    async (lang, dict) => {
      const page = await open(lang);
      await logInMember(page, owner);
      for (const path of ['/', '/records', '/replies', '/contacts', '/campaigns', '/signatures']) {
        await page.goto(path);
        await settled(page);
        const text = await page.locator('body').innerText();
        expect(text, path).not.toMatch(KEY);
        const labels = await page
          .locator('th, .ant-tag, .ant-layout-sider .ant-menu-item, .ant-descriptions-item-label')
          .allInnerTexts();
        expect(
          labels.filter((l) => RAW.test(l.trim())),
          path,
        ).toEqual([]);
      }
      await page.goto('/members');
      await settled(page);
      const roles = await page.locator('tbody td:nth-child(2)').allInnerTexts();
      expect(roles.sort()).toEqual([dict['role.owner'], dict['role.viewer']].sort());
      await page.context().close();
    },
    180_000,
  );

  it.each(LANGS)(
    '%s: API errors and rule findings read in the language, by their code',
    async (lang, dict) => {
      const page = await open(lang);
      await page.goto('/login');
      await page.getByLabel(dict['login.login']).fill(owner.email);
      await page.getByLabel(dict['login.password']).fill('not the password');
      await page.getByRole('button', { name: label(dict['login.submit']) }).click();
      await expect
        .poll(() => page.locator('.ant-alert-error').innerText())
        .toBe(`${dict['error.auth.invalid_credentials']} (auth.invalid_credentials)`);

      await logInMember(page, owner);
      await page.goto('/templates');
      await page.getByTestId('template-name').fill('diversion');
      await page.getByTestId('template-content').fill('您的订单已发货，详情请加微信 abc12345 咨询');
      await page.getByRole('button', { name: label(dict['send.check']) }).click();
      const findings = page.getByTestId('findings');
      await findings.waitFor();
      await expect.poll(() => findings.innerText()).toContain(dict['finding.contact_diversion']);
      await page.context().close();
    },
    180_000,
  );

  it.each(LANGS)(
    '%s: dates and the date picker follow the language',
    async (lang, dict) => {
      const page = await open(lang);
      await logInMember(page, owner);
      await page.goto('/records');
      const row = page.locator('tbody tr.hy-clickable-row').first();
      await row.waitFor();
      const created = (await row.locator('td').last().innerText()).trim();
      // 2026/12/2 12:58:00 in 简体中文, 12/2/2026, 12:58:00 PM in English, whatever the browser's own.
      expect(created).toMatch(
        lang === 'zh-CN'
          ? /^\d{4}\/\d{1,2}\/\d{1,2} \d{1,2}:\d{2}:\d{2}$/
          : /^\d{1,2}\/\d{1,2}\/\d{4}, .+ [AP]M$/,
      );
      expect(Object.values(dict)).toContain((await row.locator('.ant-tag').innerText()).trim());
      await page.locator('.ant-picker-range input').first().click();
      const weekdays = await page
        .locator('.ant-picker-dropdown .ant-picker-content thead th')
        .allInnerTexts();
      expect(weekdays.slice(0, 7)).toEqual(
        lang === 'zh-CN'
          ? ['一', '二', '三', '四', '五', '六', '日']
          : ['Su', 'Mo', 'Tu', 'We', 'Th', 'Fr', 'Sa'],
      );
      await page.context().close();
    },
    180_000,
  );
});

describe.skipIf(!haveChromium)('roles and the keyboard', () => {
  it("a viewer's menu lacks the pages its role cannot use; those it shows answer no 403", async () => {
    const page = await open('en-US');
    const forbidden: string[] = [];
    page.on('response', (r) => {
      if (r.status() === 403 && new URL(r.url()).pathname.startsWith('/v1/')) forbidden.push(r.url());
    });
    await logInMember(page, viewer);
    const menu = page.locator('.ant-layout-sider .ant-menu-item');
    const items = (await menu.allInnerTexts()).map((s) => s.trim());
    for (const key of [
      'nav.send',
      'nav.imports',
      'nav.billing',
      'nav.developers',
      'nav.members',
      'nav.audit',
    ] as const)
      expect(items).not.toContain(enUS[key]);
    for (const key of ['nav.home', 'nav.records', 'nav.contacts', 'nav.templates'] as const)
      expect(items).toContain(enUS[key]);
    for (const item of items.filter((i) => i !== enUS['nav.home'])) {
      await menu.filter({ hasText: item }).click();
      await settled(page);
    }
    expect(forbidden).toEqual([]);
    // The viewer reads contacts' numbers masked, as the API answers them.
    await page.goto('/contacts');
    await page.getByText('+86139****9000').waitFor();
    expect(await page.locator('body').innerText()).not.toContain('13900139000');
    await page.context().close();
  }, 180_000);

  it('support staff land on the first page their role may use; the menu lacks the review queue and staff', async () => {
    const page = await open('zh-CN');
    const forbidden: string[] = [];
    page.on('response', (r) => {
      if (r.status() === 403 && new URL(r.url()).pathname.startsWith('/v1/')) forbidden.push(r.url());
    });
    await page.goto('/login');
    await page.getByLabel(zhCN['login.login']).fill(support.username);
    await page.getByLabel(zhCN['login.password']).fill(support.password);
    await page.getByRole('button', { name: label(zhCN['login.submit']) }).click();
    await page.waitForURL('**/operator/tenants');
    await settled(page);
    const items = (await page.locator('.ant-layout-sider .ant-menu-item').allInnerTexts()).map((s) =>
      s.trim(),
    );
    for (const key of ['nav.reviews', 'nav.staff', 'nav.audit'] as const)
      expect(items).not.toContain(zhCN[key]);
    expect(items).toContain(zhCN['nav.tenants']);
    // The tenants' statuses read in 简体中文, never as the API spells them.
    const tags = await page.locator('tbody .ant-tag').allInnerTexts();
    expect(tags.length).toBeGreaterThan(0);
    for (const tag of tags) expect(Object.values(zhCN)).toContain(tag.trim());
    expect(forbidden).toEqual([]);
    await page.context().close();
  }, 180_000);

  it('a clickable row is reached with Tab and opened with Enter', async () => {
    const page = await open('en-US');
    await logInMember(page, owner);
    await page.goto('/records');
    const row = page.locator('tbody tr.hy-clickable-row').first();
    await row.waitFor();
    const focused = () => row.evaluate((el) => el === document.activeElement);
    await page.getByRole('button', { name: label(enUS['action.search']) }).focus();
    for (let i = 0; i < 20 && !(await focused()); i++) await page.keyboard.press('Tab');
    expect(await focused()).toBe(true);
    await page.keyboard.press('Enter');
    await page.locator('.ant-drawer-title', { hasText: enUS['records.detail'] }).waitFor();
    await page.context().close();
  }, 180_000);
});
