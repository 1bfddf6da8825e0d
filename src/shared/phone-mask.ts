// Phone numbers are personal data: logs and the views of roles that may not see them show
// 138****8000. The four characters before the last four are hidden, so an 11-digit mainland
// number keeps its carrier prefix and its last four (what support staff match a complaint on),
// and an international form keeps its country code: +86138****8000.
import type { LoggerOptions } from 'pino';

export function maskPhone(value: string): string {
  if (value.length <= 4) return '****';
  const end = value.length - 4;
  return `${value.slice(0, Math.max(0, end - 4))}****${value.slice(end)}`;
}

/** Log fields that hold a phone number, at the top of a log object or one level down. */
export const PHONE_LOG_FIELDS = ['phone', 'recipient', 'to', 'sender'] as const;

/** pino options that mask every phone field of a log line (pino's redaction, with a masking censor). */
export function phoneRedaction(): Pick<LoggerOptions, 'redact'> {
  return {
    redact: {
      paths: PHONE_LOG_FIELDS.flatMap((f) => [f, `*.${f}`]),
      censor: (value: unknown) => (typeof value === 'string' ? maskPhone(value) : value),
    },
  };
}
