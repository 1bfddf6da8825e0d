// Hostile values shared by the hostile-input tests (test/http-hostile.test.ts for the message
// routes, test/http-hostile-routes.test.ts for every route).
import fc from 'fast-check';

// Strings of any UTF-16 code units, biased towards control characters (NUL among them) and
// surrogate halves: uniform code units would almost never produce the values that matter.
export const anyCodeUnits = fc.string({
  unit: fc
    .oneof(
      fc.integer({ min: 0, max: 0x1f }),
      fc.integer({ min: 0xd800, max: 0xdfff }),
      fc.integer({ min: 0, max: 0xffff }),
    )
    .map((c) => String.fromCharCode(c)),
  maxLength: 12,
});

/** What PostgreSQL cannot store as text: the values that once failed other tenants' sends. */
export const UNSTORABLE = ['\u0000', 'a\u0000b', '\ud800', 'x\udfffy'];

/** Other strings that have broken parsers, dates, numbers or paths somewhere. */
export const AWKWARD = [
  '\ud83d\ude00',
  '',
  ' ',
  'Infinity',
  '-Infinity',
  'NaN',
  '1e400',
  '-1',
  '0',
  '9'.repeat(40),
  '2027-02-30T00:00:00Z',
  '2027-01-01T24:00:00Z',
  '9999-12-31T23:59:59Z',
  '../../etc/passwd',
  "' or 1=1 --",
  '{name}',
  '【鸿雁】',
  '%00',
  '\u202e',
  'x'.repeat(70_000),
];

/** Text as a URL carries it: every UTF-8 byte percent-encoded. */
export const percentEncoded = (s: string) => Buffer.from(s, 'utf8').toString('hex').replace(/../g, '%$&');
