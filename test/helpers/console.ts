// What the console's browser tests share: the Debian Chromium (never a downloaded one), launched
// with the flags the project runs it with, Hongyan serving the console on a test database, and the
// steps of a test on it: a page in its own context, logging in, a tenant that can send, a select.
import { existsSync } from 'node:fs';
import type { Browser, Locator, Page } from 'playwright-core';
import { expect } from 'vitest';
import { loadConfig } from '../../src/app/config.ts';
import { type RunningHongyan, startHongyan } from '../../src/app/start.ts';
import { createTestDatabase } from './db.ts';

type TestDatabase = Awaited<ReturnType<typeof createTestDatabase>>;

export const CHROMIUM = process.env.HONGYAN_CHROMIUM ?? '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);

/** Says once per file why its browser tests skip on a machine without Chromium. */
export function warnIfNoChromium(what: string): void {
  if (!haveChromium)
    console.warn(
      `${what} skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set HONGYAN_CHROMIUM)`,
    );
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Hongyan with every role and the console, on the database at `url`, every port chosen free. */
export function startConsoleHongyan(url: string, env: Record<string, string> = {}): Promise<RunningHongyan> {
  const config = loadConfig({
    env: {
      DATABASE_URL: url,
      HONGYAN_HTTP_PORT: '0',
      HONGYAN_SIMULATOR_PORT: '0',
      HONGYAN_SMPP_PORT: '0',
      HONGYAN_LOG_LEVEL: 'silent',
      ...env,
    },
    configFile: null,
  });
  return startHongyan({
    config,
    roles: ['api', 'worker', 'simulator'],
    installSignalHandlers: false,
    serveConsole: true,
  });
}

/** How long a browser step may wait: the worker claims a run, the console is built on first start. */
export const WAIT = 60_000;

/** Polls for up to WAIT (vitest's default is 1 s, shorter than a campaign run takes to appear). */
export const poll = <T>(fn: () => Promise<T>) => expect.poll(fn, { timeout: WAIT, interval: 250 });

export interface ConsoleRig {
  t: TestDatabase;
  hongyan: RunningHongyan;
  browser: Browser;
  /** Stops what start started, the browser first; safe to call after a failed start. */
  close(): Promise<void>;
}

/**
 * What every console test starts from: its own database, Hongyan serving the console on it
 * (`env` added to the configuration) and Chromium. Whatever started is stopped again if a later
 * step fails, so a file whose start-up fails leaves no server or browser behind.
 */
export async function startConsoleRig(env: Record<string, string> = {}): Promise<ConsoleRig> {
  const t = await createTestDatabase();
  let hongyan: RunningHongyan | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    await hongyan?.stop();
    await t.drop();
  };
  try {
    hongyan = await startConsoleHongyan(t.url, env);
    browser = await launchChromium();
    return { t, hongyan, browser, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * A page in a browser context of its own (its own session cookies) on the rig's console. `lang`
 * is the console's language until the page switches it (the console's own default is 简体中文).
 */
export async function openConsole(
  rig: ConsoleRig,
  options: { lang?: 'en-US'; viewport?: { width: number; height: number } } = {},
): Promise<Page> {
  const context = await rig.browser.newContext({
    baseURL: rig.hongyan.httpUrl!,
    viewport: options.viewport ?? { width: 1280, height: 800 },
  });
  context.setDefaultTimeout(WAIT);
  if (options.lang)
    await context.addInitScript((lang) => {
      if (!localStorage.getItem('hongyan.lang')) localStorage.setItem('hongyan.lang', lang);
    }, options.lang);
  return context.newPage();
}

/** Fills the login page (in English or 简体中文) and sends it; the caller waits for where it lands. */
async function submitLogin(page: Page, login: string, password: string): Promise<void> {
  await page.goto('/login');
  await page.getByLabel(/^(Email or username|邮箱或用户名)$/).fill(login);
  await page.getByLabel(/^(Password|密码)$/).fill(password);
  await page.getByRole('button', { name: /^(Log in|登\s*录)$/ }).click();
}

/** Logs a tenant member in (no two-factor) and waits for the console to show the account. */
export async function logInMember(page: Page, member: { email: string; password: string }): Promise<void> {
  await submitLogin(page, member.email, member.password);
  await page.getByTestId('account').waitFor();
}

/** Logs an operator in and waits for the page staff land on, the review queue. */
export async function logInStaff(page: Page, staff: { username: string; password: string }): Promise<void> {
  await submitLogin(page, staff.username, staff.password);
  await page.waitForURL('**/operator/reviews');
}

/** An antd select: opens it, then clicks the option with this text. */
export async function pickOption(select: Locator, option: string): Promise<void> {
  await select.locator('.ant-select-selector').click();
  await select
    .page()
    .locator('.ant-select-dropdown:visible .ant-select-item-option', { hasText: option })
    .click();
}
