// Recipient lists, the pure parts: which lists exist, and reading an import CSV into E.164
// numbers with each bad line reported by its line number.
import { parse } from 'csv-parse/sync';
import type { CountryCode } from 'libphonenumber-js';
import { normalizePhone } from '../../messages/phone.models.ts';

export const LIST_REASONS = ['complaint', 'carrier_list', 'repeated_opt_out', 'other'] as const;
export type ListReason = (typeof LIST_REASONS)[number];

/** A list and the table it lives in; `tenant` lists are each tenant's own. */
export interface ListKind {
  name: 'opt-outs' | 'blacklist' | 'allowlist';
  table: 'opt_outs' | 'tenant_blacklist' | 'tenant_allowlist' | 'platform_blacklist';
  tenant: boolean;
  /** Entries carry a reason (blacklists). */
  reason: boolean;
}

export const TENANT_LISTS: readonly ListKind[] = [
  { name: 'opt-outs', table: 'opt_outs', tenant: true, reason: false },
  { name: 'blacklist', table: 'tenant_blacklist', tenant: true, reason: true },
  { name: 'allowlist', table: 'tenant_allowlist', tenant: true, reason: false },
];
export const PLATFORM_BLACKLIST: ListKind = {
  name: 'blacklist',
  table: 'platform_blacklist',
  tenant: false,
  reason: true,
};

export const MAX_IMPORT_NUMBERS = 1_000_000;
/** Bad lines named in the answer; the count covers them all. */
export const MAX_REPORTED_LINES = 100;

export interface ImportEntry {
  phone: string;
  reason: ListReason;
  note: string | null;
}

export type ImportResult =
  | { ok: true; entries: ImportEntry[]; duplicates: number }
  | { ok: false; tooLarge: true }
  | { ok: false; tooLarge: false; invalid: number; lines: { line: number; reason: string }[] };

/**
 * Columns: phone[,reason[,note]], an optional header line naming them. Numbers are normalised
 * to E.164 (the install's default region for national numbers); a number twice counts once.
 * Either every line is good or the import is refused with the bad lines, so nothing is ever
 * half-imported.
 */
export function readImportCsv(
  text: string,
  { defaultRegion, defaultReason }: { defaultRegion: string; defaultReason: ListReason },
): ImportResult {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
      bom: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (error) {
    const line = (error as { lines?: number }).lines ?? 0;
    return { ok: false, tooLarge: false, invalid: 1, lines: [{ line, reason: (error as Error).message }] };
  }
  if (records.length > 0 && /^phone$/i.test(records[0]!.record[0] ?? '')) records.shift();
  if (records.length > MAX_IMPORT_NUMBERS) return { ok: false, tooLarge: true };
  const seen = new Map<string, ImportEntry>();
  const bad: { line: number; reason: string }[] = [];
  let invalid = 0;
  let duplicates = 0;
  for (const { record, info } of records) {
    const [raw = '', reasonText = '', note = ''] = record;
    const fail = (reason: string) => {
      invalid++;
      if (bad.length < MAX_REPORTED_LINES) bad.push({ line: info.lines, reason });
    };
    const phone = normalizePhone(raw, defaultRegion as CountryCode);
    if (!phone.ok) {
      fail(`${phone.code}: ${phone.reason}`);
      continue;
    }
    const reason = reasonText === '' ? defaultReason : reasonText;
    if (!(LIST_REASONS as readonly string[]).includes(reason)) {
      fail(`reason must be one of ${LIST_REASONS.join(', ')}`);
      continue;
    }
    if (seen.has(phone.e164)) duplicates++;
    else seen.set(phone.e164, { phone: phone.e164, reason: reason as ListReason, note: note || null });
  }
  if (invalid > 0) return { ok: false, tooLarge: false, invalid, lines: bad };
  return { ok: true, entries: [...seen.values()], duplicates };
}
