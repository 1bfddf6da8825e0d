// Pure rules of the message export (GET /v1/messages/export): the CSV columns, quoting, and the cap.
import type { toMessageView } from './messages.views.ts';

/** Rows read per query while streaming: bounded memory however large the export. */
export const EXPORT_PAGE_ROWS = 1_000;

type View = ReturnType<typeof toMessageView>;

export const EXPORT_COLUMNS = [
  'id',
  'to',
  'type',
  'status',
  'parts',
  'client_ref',
  'batch_id',
  'created_at',
  'updated_at',
  'error_code',
  'content',
] as const;

/**
 * RFC 4180 quoting, and a leading quote on text a spreadsheet would run as a formula
 * (=, +, -, @), since a recipient's reply or a client_ref is not ours to trust.
 */
export function csvField(value: string | number | null, { defuse = true } = {}): string {
  if (value === null) return '';
  let s = String(value);
  if (defuse && typeof value === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function csvHeader(): string {
  return `${EXPORT_COLUMNS.join(',')}\r\n`;
}

/** A message's export cells, in EXPORT_COLUMNS order (XLSX writes them as typed cells, unquoted). */
export function exportCells(v: View): (string | number | null)[] {
  const cells = cellsOf(v);
  return EXPORT_COLUMNS.map((c) => cells[c]);
}

export function csvRow(v: View): string {
  const cells = cellsOf(v);
  // Recipients are stored E.164 (or masked digits) by our own validation: '+86…' is a number, kept as is.
  return `${EXPORT_COLUMNS.map((c) => csvField(cells[c], { defuse: c !== 'to' })).join(',')}\r\n`;
}

function cellsOf(v: View): Record<(typeof EXPORT_COLUMNS)[number], string | number | null> {
  return {
    id: v.id,
    to: v.to,
    type: v.type,
    status: v.status,
    parts: v.parts,
    client_ref: v.client_ref,
    batch_id: v.batch_id,
    created_at: v.created_at,
    updated_at: v.updated_at,
    error_code: v.error?.code ?? null,
    content: v.content,
  };
}
