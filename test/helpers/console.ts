// What the console's browser tests share: the Debian Chromium (never a downloaded one), launched
// with the flags the project runs it with, and Hongyan serving the console on a test database.
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { loadConfig } from '../../src/app/config.ts';
import { type RunningHongyan, startHongyan } from '../../src/app/start.ts';

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
