// Recipient protection, the pure rules: a tenant's settings and their defaults (seed 002),
// frequency-cap windows, which list refuses a recipient, and the opt-out keyword match.
// No I/O: the admission steps (protection.admission.ts) feed these what they read.
import type { MessageType } from '../../messages/messages.models.ts';

export const CAP_WINDOWS = ['minute', 'hour', 'day'] as const;
export type CapWindow = (typeof CAP_WINDOWS)[number];
export const WINDOW_MS: Record<CapWindow, number> = {
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
};
/** The longest window: messages older than this count for no cap. */
export const LONGEST_WINDOW_MS = WINDOW_MS.day;

/** Per window, the most messages of one type one recipient may get from one tenant; null: no cap. */
export type CapLimits = Record<CapWindow, number | null>;

export interface QuietHours {
  enabled: boolean;
  /** Local time of the recipient, "HH:MM": marketing goes out from start (inclusive) to end. */
  start: string;
  end: string;
  /** Outside the window: hold until it opens, or refuse (`compliance.quiet_hours`). */
  action: 'hold' | 'reject';
}

export interface ProtectionSettings {
  caps: Record<MessageType, CapLimits>;
  quiet_hours: QuietHours;
  /** Marketing batches wait for an operator's second review (seed 002). */
  marketing_review: boolean;
}

/**
 * Seed 002: verification 10 an hour and 15 a day (the clouds add 1 a minute, offered and on by
 * default), marketing 3 a day, notification 50 a day.
 */
export const DEFAULT_SETTINGS: ProtectionSettings = {
  caps: {
    verification: { minute: 1, hour: 10, day: 15 },
    notification: { minute: null, hour: null, day: 50 },
    marketing: { minute: null, hour: null, day: 3 },
  },
  quiet_hours: { enabled: true, start: '08:00', end: '22:00', action: 'hold' },
  marketing_review: true,
};

export type SettingsPatch = {
  caps?: Partial<Record<MessageType, Partial<CapLimits>>>;
  quiet_hours?: Partial<QuietHours>;
  marketing_review?: boolean;
};

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;

/** The stored settings (a patch over the defaults) made whole; unknown keys are ignored. */
export function mergeSettings(base: ProtectionSettings, patch: SettingsPatch | null): ProtectionSettings {
  if (!patch) return base;
  const caps = { ...base.caps };
  for (const type of Object.keys(caps) as MessageType[]) {
    const p = patch.caps?.[type];
    if (p) caps[type] = { ...caps[type], ...p };
  }
  return {
    caps,
    quiet_hours: { ...base.quiet_hours, ...patch.quiet_hours },
    marketing_review: patch.marketing_review ?? base.marketing_review,
  };
}

/** What is wrong with a settings patch, or null. */
export function settingsProblem(patch: SettingsPatch): string | null {
  for (const [type, limits] of Object.entries(patch.caps ?? {})) {
    if (!(type in DEFAULT_SETTINGS.caps)) return `caps.${type}: unknown message type`;
    for (const [window, value] of Object.entries(limits ?? {})) {
      if (!(CAP_WINDOWS as readonly string[]).includes(window))
        return `caps.${type}.${window}: unknown window`;
      if (value !== null && (!Number.isInteger(value) || (value as number) < 0))
        return `caps.${type}.${window}: a whole number ≥ 0, or null for no cap`;
    }
  }
  const q = patch.quiet_hours;
  if (q?.start !== undefined && !HHMM.test(q.start)) return 'quiet_hours.start: HH:MM';
  if (q?.end !== undefined && !HHMM.test(q.end)) return 'quiet_hours.end: HH:MM';
  if (q?.start !== undefined && q.start === q.end) return 'quiet_hours: start and end must differ';
  return null;
}

export type Counts = Record<CapWindow, number>;

/**
 * The first window that one more message would exceed, or null when it fits. `counts` are the
 * messages already sent in each rolling window ending now.
 */
export function trippedWindow(
  limits: CapLimits,
  counts: Counts,
): { window: CapWindow; limit: number } | null {
  for (const window of CAP_WINDOWS) {
    const limit = limits[window];
    if (limit !== null && counts[window] + 1 > limit) return { window, limit };
  }
  return null;
}

export type ListHit = 'platform_blacklist' | 'tenant_blacklist' | 'opt_out';

/**
 * Which list refuses a recipient, blacklists first. An opt-out covers every message of the tenant
 * but verification codes: a code is sent because the handset's owner just asked for it, and an
 * opt-out from marketing must not lock them out of their own account.
 */
export function listVerdict(hits: ReadonlySet<ListHit>, type: string): ListHit | null {
  if (hits.has('platform_blacklist')) return 'platform_blacklist';
  if (hits.has('tenant_blacklist')) return 'tenant_blacklist';
  if (hits.has('opt_out') && type !== 'verification') return 'opt_out';
  return null;
}

/**
 * A reply as keywords are compared: Unicode NFKC (full-width ＴＤ is TD, the ideographic space a
 * space), trimmed of spaces and punctuation around it (TD。, "STOP!"), upper case.
 */
export function normalizeKeyword(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/^[\p{P}\p{S}\p{Z}\s]+|[\p{P}\p{S}\p{Z}\s]+$/gu, '')
    .toUpperCase();
}

/** Longer replies are sentences, never a keyword: they are not looked up at all. */
export const MAX_KEYWORD_LENGTH = 16;

/** A repeated opt-out (seed 000): this many tenants within this many days puts the number on the platform blacklist. */
export const REPEATED_OPT_OUT = { tenants: 3, days: 30 } as const;
