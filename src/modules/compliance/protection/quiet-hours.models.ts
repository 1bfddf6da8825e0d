// Local time windows, pure: marketing only in the recipient's local daytime (quiet hours). When
// the operator's marketing review can be expected is compliance/settings/review-hours.models.ts.
//
// A recipient's time zone comes from its country (libphonenumber-js). A country with several
// zones is in daytime only when it is daytime in each of the zones listed for it (the window is
// the intersection), so no handset of that country gets marketing at night; the cost is a
// narrower window in the widest countries. A country not listed here uses the platform's zone.
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

export const PLATFORM_TIME_ZONE = 'Asia/Shanghai';

const ZONES: Record<string, readonly string[]> = {
  CN: ['Asia/Shanghai'],
  HK: ['Asia/Hong_Kong'],
  MO: ['Asia/Macau'],
  TW: ['Asia/Taipei'],
  JP: ['Asia/Tokyo'],
  KR: ['Asia/Seoul'],
  SG: ['Asia/Singapore'],
  MY: ['Asia/Kuala_Lumpur'],
  TH: ['Asia/Bangkok'],
  VN: ['Asia/Ho_Chi_Minh'],
  PH: ['Asia/Manila'],
  IN: ['Asia/Kolkata'],
  AE: ['Asia/Dubai'],
  GB: ['Europe/London'],
  IE: ['Europe/Dublin'],
  DE: ['Europe/Berlin'],
  FR: ['Europe/Paris'],
  IT: ['Europe/Rome'],
  ES: ['Europe/Madrid'],
  NL: ['Europe/Amsterdam'],
  NZ: ['Pacific/Auckland'],
  US: ['America/New_York', 'America/Chicago', 'America/Denver', 'America/Los_Angeles'],
  CA: ['America/Halifax', 'America/Toronto', 'America/Winnipeg', 'America/Edmonton', 'America/Vancouver'],
  MX: ['America/Mexico_City', 'America/Tijuana'],
  BR: ['America/Sao_Paulo', 'America/Manaus'],
  AU: ['Australia/Perth', 'Australia/Adelaide', 'Australia/Sydney'],
  ID: ['Asia/Jakarta', 'Asia/Makassar', 'Asia/Jayapura'],
  RU: ['Europe/Kaliningrad', 'Europe/Moscow', 'Asia/Yekaterinburg', 'Asia/Novosibirsk', 'Asia/Vladivostok'],
};

/** The zones of an E.164 number's country (the platform's zone when unknown). */
export function zonesOf(e164: string): readonly string[] {
  if (e164.startsWith('+86')) return ZONES.CN!;
  const country = parsePhoneNumberFromString(e164)?.country;
  return (country && ZONES[country]) || [PLATFORM_TIME_ZONE];
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Seconds since local midnight in a zone. */
function localSecondOfDay(at: Date, zone: string): number {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone: zone,
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(zone, f);
  }
  const parts = f.formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return get('hour') * 3600 + get('minute') * 60 + get('second');
}

const secondsOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 3600 + Number(hhmm.slice(3, 5)) * 60;

/** A daily window [start, end) in local time; one that crosses midnight (22:00–06:00) works too. */
export interface DailyWindow {
  start: string;
  end: string;
}

/** Seconds until the window opens in this zone (0: it is open). */
function secondsUntilOpen(at: Date, zone: string, window: DailyWindow): number {
  const now = localSecondOfDay(at, zone);
  const start = secondsOf(window.start);
  const end = secondsOf(window.end);
  const open = start < end ? now >= start && now < end : now >= start || now < end;
  if (open) return 0;
  return (start - now + 86_400) % 86_400;
}

/**
 * When the window is next open in every zone: `at` itself when it is open now. Each closed zone
 * moves the time to its opening, until all are open (a few rounds at most; an empty intersection
 * gives the first zone's opening).
 */
export function nextOpening(at: Date, zones: readonly string[], window: DailyWindow): Date {
  let t = at;
  for (let round = 0; round < 8; round++) {
    let moved = false;
    for (const zone of zones) {
      const wait = secondsUntilOpen(t, zone, window);
      if (wait > 0) {
        t = new Date(t.getTime() + wait * 1000);
        moved = true;
      }
    }
    if (!moved) return t;
  }
  return new Date(at.getTime() + secondsUntilOpen(at, zones[0]!, window) * 1000);
}
