// Pure rules of SMPP accounts: the SMPP 3.4 limits on system_id and password, and the settings a
// tenant may choose (allowlist, window, TPS).
import { randomBytes, randomInt } from 'node:crypto';
import { parseCidr } from '../credentials/credentials.models.ts';

/** SMPP 3.4 5.2.1: system_id is a C-Octet String of at most 16 octets, NUL included. */
export const SYSTEM_ID_MAX = 15;
/** SMPP 3.4 5.2.2: password at most 9 octets, NUL included. */
export const PASSWORD_MAX = 8;
export const SYSTEM_ID_PATTERN = /^[A-Za-z0-9_-]{1,15}$/;

export const DEFAULT_WINDOW = 50;
export const DEFAULT_MAX_TPS = 100;

const ALPHANUMERIC = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/** `hy` and 10 random hex digits: 12 characters, room under the limit. */
export function generateSystemId(): string {
  return `hy${randomBytes(5).toString('hex')}`;
}

/** 8 characters from 57 letters and digits (~46 bits): the most SMPP 3.4 carries. */
export function generatePassword(): string {
  let password = '';
  for (let i = 0; i < PASSWORD_MAX; i++) password += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return password;
}

export interface SmppAccountInput {
  systemId?: string | undefined;
  allow: readonly string[];
  windowSize: number;
  maxTps: number;
}

/** Problems with an account's settings, empty when valid. */
export function validateSmppAccountInput(input: SmppAccountInput): string[] {
  const problems: string[] = [];
  if (input.systemId !== undefined && !SYSTEM_ID_PATTERN.test(input.systemId))
    problems.push(`system_id: 1 to ${SYSTEM_ID_MAX} letters, digits, "_" or "-"`);
  for (const c of input.allow) if (!parseCidr(c)) problems.push(`allow: "${c}" is not an IPv4 or IPv6 CIDR`);
  if (input.allow.length > 100) problems.push('allow: at most 100 entries');
  if (!Number.isInteger(input.windowSize) || input.windowSize < 1 || input.windowSize > 10_000)
    problems.push('window: an integer 1..10000');
  if (!Number.isInteger(input.maxTps) || input.maxTps < 1 || input.maxTps > 1_000_000)
    problems.push('tps: an integer 1..1000000');
  return problems;
}
