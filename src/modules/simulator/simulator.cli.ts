// `hongyan simulator`: the carrier simulator alone, until SIGINT or SIGTERM, then a clean close
// (every bound session is unbound). Bad options stop it with a ConfigError, which the CLI prints
// without a stack trace.

import { phoneRedaction } from '../../shared/phone-mask.ts';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import type { Config } from '../../app/config.ts';
import { ConfigError } from '../../app/config.ts';
import { parseProfileFile } from './profile-file.models.ts';
import type { IdConvention, SimulatorProfile } from './simulator.models.ts';
import { BUILT_IN_PROFILES, chooseProfile, idConventionOf, profileMap } from './simulator.models.ts';
import type { RunningSimulator } from './simulator.ts';
import { startSimulator } from './simulator.ts';

export function parsePortOption(raw: string): number {
  const value = raw.trim();
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new ConfigError([`--port: expected an integer 0..65535, got "${raw}"`]);
  }
  return Number(value);
}

/**
 * `--profile`: a profile name forced on every bind, or a JSON file of extra profiles (binds then
 * choose by system_id or system_type; a profile named `default` in the file replaces the default).
 */
export function resolveProfileOption(
  raw: string | undefined,
  cwd = process.cwd(),
): { forceProfile?: string; profiles: SimulatorProfile[] } {
  if (raw === undefined) return { profiles: [] };
  if (BUILT_IN_PROFILES.some((p) => p.name === raw)) return { forceProfile: raw, profiles: [] };
  const looksLikeFile = raw.endsWith('.json') || raw.includes('/') || raw.includes(path.sep);
  if (!looksLikeFile) {
    const names = BUILT_IN_PROFILES.map((p) => p.name).join(', ');
    throw new ConfigError([
      `--profile: unknown profile "${raw}" (profiles: ${names}; or give a .json file of profiles)`,
    ]);
  }
  const file = path.resolve(cwd, raw);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError([
      `--profile ${file}: cannot read a JSON profiles file: ${(error as Error).message}`,
    ]);
  }
  const result = parseProfileFile(json);
  if (!result.ok) throw new ConfigError(result.problems.map((p) => `--profile ${file}: ${p}`));
  return { profiles: result.profiles };
}

/**
 * Where the embedded simulator keeps the receipts it owes: `<data>/simulator` for the embedded
 * database, and a folder per database otherwise. The receipts are owed to the messages of one
 * database: two installs sharing a data folder but not a database (test files on one
 * PostgreSQL, run in parallel from one checkout) must not receive each other's.
 */
export function embeddedSimulatorStateDir(config: Pick<Config, 'dataDir' | 'databaseUrl'>): string {
  const base = path.join(config.dataDir, 'simulator');
  if (config.databaseUrl === null) return base;
  const hash = createHash('sha256').update(config.databaseUrl).digest('hex').slice(0, 16);
  return path.join(base, `db-${hash}`);
}

/**
 * The embedded simulator's profiles (HONGYAN_SIMULATOR_PROFILE, as `--profile`; empty for the
 * built-ins), and the id convention that a channel binding with `systemId` needs to match them.
 */
export function embeddedSimulatorProfile(
  raw: string,
  systemId: string,
  cwd = process.cwd(),
): { forceProfile?: string; profiles: SimulatorProfile[]; idConvention: IdConvention } {
  let chosen: { forceProfile?: string; profiles: SimulatorProfile[] };
  try {
    chosen = resolveProfileOption(raw === '' ? undefined : raw, cwd);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError(
      error.problems.map((p) => `HONGYAN_SIMULATOR_PROFILE: ${p.replace(/^--profile:? ?/, '')}`),
    );
  }
  const profile = chooseProfile({
    systemId,
    systemType: '',
    profiles: profileMap(chosen.profiles),
    forced: chosen.forceProfile,
  });
  return { ...chosen, idConvention: idConventionOf(profile.idFormat) };
}

export async function runSimulatorCommand({
  config,
  host,
  port,
  profile,
  stateDir,
  signals = process,
  print = (line: string) => console.log(line),
}: {
  config: Config;
  host?: string | undefined;
  port?: string | undefined;
  profile?: string | undefined;
  /** `--state-dir`: keep owed receipts and replies there across restarts; unset, in memory. */
  stateDir?: string | undefined;
  /** Where SIGINT/SIGTERM come from; tests pass an EventEmitter. */
  signals?: Pick<NodeJS.EventEmitter, 'once' | 'removeListener'>;
  print?: (line: string) => void;
}): Promise<void> {
  const listenPort = port === undefined ? config.simulatorPort : parsePortOption(port);
  const listenHost = host ?? config.simulatorHost;
  const chosen = resolveProfileOption(profile);
  const logger = pino({ level: config.logLevel, base: { pid: process.pid }, ...phoneRedaction() });
  let simulator: RunningSimulator;
  try {
    simulator = await startSimulator({
      host: listenHost,
      port: listenPort,
      logger,
      profiles: chosen.profiles,
      ...(stateDir === undefined ? {} : { stateDir: path.resolve(stateDir) }),
      ...(chosen.forceProfile === undefined ? {} : { forceProfile: chosen.forceProfile }),
    });
  } catch (error) {
    // A port in use or an address we do not have: the operator's to fix, not a stack trace.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
      throw new ConfigError([
        `--host/--port: cannot listen on ${listenHost}:${listenPort}: ${(error as Error).message}`,
      ]);
    }
    throw error;
  }
  const how =
    chosen.forceProfile === undefined
      ? `profiles: ${simulator.profiles.join(', ')} (bind with system_id or system_type set to one; else default)`
      : `every bind uses profile "${chosen.forceProfile}"`;
  print(`carrier simulator listening on smpp://${listenHost}:${simulator.port} — ${how}`);
  if (stateDir !== undefined) {
    const restored = simulator.stats().restoredReceipts;
    print(`state kept in ${path.resolve(stateDir)} (${restored} receipts and replies owed from before)`);
  }

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      signals.removeListener('SIGINT', onInt);
      signals.removeListener('SIGTERM', onTerm);
      logger.info({ signal, stats: simulator.stats() }, 'carrier simulator stopping');
      resolve();
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    signals.once('SIGINT', onInt);
    signals.once('SIGTERM', onTerm);
  });
  await simulator.close();
}
