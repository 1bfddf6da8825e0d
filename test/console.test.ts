// The web console in a real browser (playwright-core driving the Debian Chromium) against a
// running Hongyan with the simulator, the console built and served as `hongyan start` does:
// two-factor login, a send watched until delivered, a template approved by an operator and used
// by the tenant, the language switch. HONGYAN_SCREENSHOTS=1 also writes docs/screenshots/.
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newMember, newStaff } from '../src/modules/accounts/accounts.testkit.ts';
import { base32Decode, totp } from '../src/modules/accounts/totp.models.ts';
import {
  type ConsoleRig,
  haveChromium,
  logInStaff,
  openConsole,
  startConsoleRig,
  WAIT,
  warnIfNoChromium,
} from './helpers/console.ts';
import { newSendingTenant } from './helpers/hongyan.ts';

const SCREENSHOTS = process.env.HONGYAN_SCREENSHOTS === '1';
const SHOTS_DIR = path.resolve(import.meta.dirname, '../docs/screenshots');
warnIfNoChromium('console browser tests');

let rig: ConsoleRig;
let tenant: Page;
let totpSecret: string;
const member = { email: 'owner@console.test', password: 'correct horse battery' };
const staff = { username: 'console-ops', password: 'staff password 1' };

const codeNow = (offsetSeconds = 0) =>
  totp(base32Decode(totpSecret), Math.floor(Date.now() / 1000) + offsetSeconds);

async function shoot(page: Page, name: string) {
  if (!SCREENSHOTS) return;
  await page.screenshot({ path: path.join(SHOTS_DIR, `${name}.png`) });
}

/** Turns two-factor on for the member through the API, as the console's security page would. */
async function enrolTwoFactor(baseUrl: string) {
  const login = await fetch(`${baseUrl}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ login: member.email, password: member.password }),
  });
  expect(login.status).toBe(200);
  const cookies = login.headers.getSetCookie().map((c) => c.split(';', 1)[0]!);
  const csrf = cookies.find((c) => c.startsWith('hy_csrf='))!.slice('hy_csrf='.length);
  const headers = { cookie: cookies.join('; '), 'x-csrf-token': csrf, 'content-type': 'application/json' };
  const enrol = await fetch(`${baseUrl}/v1/auth/two-factor`, { method: 'POST', headers, body: '{}' });
  totpSecret = ((await enrol.json()) as { secret: string }).secret;
  // The previous step's code, so the login below (this step's code) is not a replay.
  const confirm = await fetch(`${baseUrl}/v1/auth/two-factor/confirm`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ code: codeNow(-30) }),
  });
  expect(confirm.status).toBe(200);
}

beforeAll(async () => {
  if (!haveChromium) return;
  // As `hongyan start`: the console is built when its sources changed (cached by hash) and served at /.
  rig = await startConsoleRig();
  const { db } = rig.t;
  const created = await newSendingTenant(db, 'console');
  await newMember(db, created.tenant.id, member.email, 'owner', member.password);
  await newStaff(db, staff.username, 'admin', staff.password);
  await enrolTwoFactor(rig.hongyan.httpUrl!);
  tenant = await openConsole(rig);
}, 240_000);

afterAll(() => rig?.close());

describe.skipIf(!haveChromium)('the web console in Chromium', () => {
  it('serves the console at / and its routes, never in place of an API, docs or health path', async () => {
    const base = rig.hongyan.httpUrl!;
    for (const route of ['/', '/records', '/operator/channels']) {
      const res = await fetch(`${base}${route}`);
      expect([route, res.status, res.headers.get('content-type')]).toEqual([
        route,
        200,
        'text/html; charset=utf-8',
      ]);
      expect(await res.text()).toContain('<div id="root"></div>');
    }
    const unknownApi = await fetch(`${base}/v1/no-such-route`);
    expect([unknownApi.status, ((await unknownApi.json()) as any).error.code]).toEqual([
      404,
      'request.not_found',
    ]);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/docs/json`)).headers.get('content-type')).toContain('application/json');
    // A missing script is a 404, not the page (which the browser would fail to run as a script).
    expect((await fetch(`${base}/assets/missing-file.js`)).status).toBe(404);
  });

  it('logs a member in with password and two-factor code; the login page loads under 300 KB of gzipped JS', async () => {
    const scripts: Promise<number>[] = [];
    tenant.on('response', (res) => {
      if (res.url().endsWith('.js')) scripts.push(res.body().then((b) => gzipSync(b).length));
    });
    await tenant.goto('/login');
    await tenant.getByLabel('邮箱或用户名').waitFor();
    const gzipped = (await Promise.all(scripts)).reduce((a, b) => a + b, 0);
    console.log(
      `console: login page first load, ${scripts.length} scripts, ${(gzipped / 1024).toFixed(1)} KB of JavaScript gzipped`,
    );
    expect(gzipped).toBeLessThan(300 * 1024);
    tenant.removeAllListeners('response');
    await shoot(tenant, 'login');

    await tenant.getByLabel('邮箱或用户名').fill(member.email);
    await tenant.getByLabel('密码').fill(member.password);
    await tenant
      .getByRole('button', { name: '登 录' })
      .or(tenant.getByRole('button', { name: '登录' }))
      .click();
    await tenant.getByLabel('验证码').fill(codeNow());
    await tenant.getByRole('button', { name: /验\s*证/ }).click();
    await expect
      .poll(() => tenant.getByTestId('account').textContent(), { timeout: WAIT })
      .toBe(member.email);
    await tenant.getByText('本月送达率').waitFor();
    expect(new URL(tenant.url()).pathname).toBe('/');
  }, 120_000);

  it('sends a message and shows it delivered on the records page, with its timeline', async () => {
    await tenant.goto('/send');
    await tenant.getByTestId('recipients').fill('+8613800138111');
    await tenant.getByTestId('content').fill('您的订单已发货，请注意查收');
    await expect.poll(() => tenant.getByTestId('parts').textContent()).toBe('1');
    await shoot(tenant, 'send');
    await tenant.getByTestId('send-button').click();
    const result = await tenant.getByTestId('send-result').textContent();
    const id = /短信 (\d+)/.exec(result ?? '')?.[1];
    expect(id, `send result: ${result}`).toBeTruthy();

    await tenant.goto('/records');
    const row = tenant.locator('tr', { hasText: id! });
    await row.getByText('已送达').waitFor({ timeout: WAIT });
    await shoot(tenant, 'records');
    await row.click();
    await tenant.getByTestId('timeline').getByText('已送达').waitFor();
    await shoot(tenant, 'message-timeline');
  }, 120_000);

  it('lets an operator approve a template the tenant submitted, and the tenant send with it', async () => {
    await tenant.goto('/templates');
    await tenant.getByTestId('template-name').fill('发货通知');
    await tenant.getByTestId('template-content').fill('您的订单{order}已发货');
    await tenant.getByTestId('template-submit').click();
    const row = tenant.locator('tr', { hasText: '您的订单{order}已发货' });
    await row.getByText('审核中').waitFor();
    await shoot(tenant, 'templates');
    const templates = (await (await tenant.request.get('/v1/templates')).json()) as {
      data: { id: string; name: string }[];
    };
    const templateId = templates.data.find((x) => x.name === '发货通知')!.id;

    const ops = await openConsole(rig);
    await logInStaff(ops, staff);
    await ops.getByTestId(`approve-${templateId}`).waitFor();
    await shoot(ops, 'operator-reviews');
    await ops.getByTestId(`approve-${templateId}`).click();
    await ops.getByTestId(`approve-${templateId}`).waitFor({ state: 'detached' });
    await ops.goto('/operator/channels');
    await ops.getByText('通道健康（实时）').waitFor();
    await shoot(ops, 'operator-channels');
    await ops.context().close();

    await tenant.reload();
    await row.getByText('已通过').waitFor();
    await tenant.goto('/send');
    await tenant.locator('.ant-radio-button-wrapper', { hasText: '模板' }).click();
    await tenant.getByTestId('template-select').locator('.ant-select-selector').click();
    await tenant.getByText('发货通知 — 您的订单{order}已发货').click();
    await tenant.getByTestId('param-order').fill('A1001');
    await expect.poll(() => tenant.getByTestId('preview').textContent()).toBe('【鸿雁】您的订单A1001已发货');
    await tenant.getByTestId('recipients').fill('+8613800138112');
    await tenant.getByTestId('send-button').click();
    const result = await tenant.getByTestId('send-result').textContent();
    const id = /短信 (\d+)/.exec(result ?? '')?.[1];
    expect(id, `send result: ${result}`).toBeTruthy();
    const message = (await (await tenant.request.get(`/v1/messages/${id}`)).json()) as { content: string };
    expect(message.content).toBe('【鸿雁】您的订单A1001已发货');
  }, 180_000);

  it('switches the console to English and back', async () => {
    await tenant.goto('/');
    await tenant.getByText('English').click();
    await tenant.getByText('Delivery rate this month').waitFor();
    await tenant.getByRole('menuitem', { name: 'Records' }).waitFor();
    await shoot(tenant, 'home-en');
    await tenant.getByText('简体中文').click();
    await tenant.getByText('本月送达率').waitFor();
    await shoot(tenant, 'home');
    if (SCREENSHOTS) {
      await tenant.setViewportSize({ width: 390, height: 844 });
      await tenant.goto('/records');
      await tenant.getByRole('heading', { name: '发送记录' }).waitFor();
      await tenant.getByText('已送达').first().waitFor();
      await shoot(tenant, 'records-phone');
      await tenant.setViewportSize({ width: 1280, height: 800 });
    }
  }, 60_000);
});
