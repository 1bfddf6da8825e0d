// The pure rules of a contact import: which format a file is (from its first bytes and name),
// which text encoding a CSV uses (UTF-8 with or without BOM, else GB18030, the superset of GBK
// that Chinese Excel writes), the column mapping resolved against the header row, and a row read
// into a contact candidate.
import { isFieldKey } from './contacts.models.ts';

export type ImportFormat = 'csv' | 'xlsx';
export type ImportEncoding = 'auto' | 'utf-8' | 'gbk';

/** A column: its header text, or its 1-based position. */
export type ColumnRef = string | number;

export interface ImportMapping {
  phone?: ColumnRef;
  name?: ColumnRef;
  /** A column of tags separated by , ; ，or ； */
  tags?: ColumnRef;
  /** Field name → column. Absent: every other column whose header is a valid field name. */
  fields?: Record<string, ColumnRef>;
  /** Tags given to every imported contact. */
  add_tags?: string[];
  /** The first row names the columns (default true). */
  has_header?: boolean;
}

export interface ResolvedMapping {
  phone: number;
  name: number | null;
  tags: number | null;
  fields: [key: string, column: number][];
  addTags: string[];
}

const PHONE_HEADERS =
  /^(phone|mobile|phone ?number|mobile ?number|tel|手机|手机号|手机号码|电话|电话号码|号码|联系电话)$/i;
const NAME_HEADERS = /^(name|姓名|名字|称呼|客户名称|联系人)$/i;
const TAG_HEADERS = /^(tags?|标签)$/i;
const TAG_SPLIT = /[,;，；]/;

/** csv or xlsx from the file's first bytes (a zip is an XLSX; text without NULs is a CSV), else why not. */
export function detectFormat(
  head: Buffer,
  fileName: string,
): { ok: true; format: ImportFormat } | { ok: false; reason: string } {
  const name = fileName.toLowerCase();
  const isZip = head.length >= 4 && head.readUInt32LE(0) === 0x04034b50;
  if (isZip) {
    if (name.endsWith('.csv') || name.endsWith('.txt'))
      return { ok: false, reason: 'the .csv file is a zip archive' };
    return { ok: true, format: 'xlsx' };
  }
  // The old binary Excel format (OLE2): save it as .xlsx or CSV.
  if (head.length >= 4 && head.readUInt32BE(0) === 0xd0cf11e0) {
    return { ok: false, reason: 'old Excel (.xls) files are not read: save it as .xlsx or CSV' };
  }
  if (name.endsWith('.xlsx')) return { ok: false, reason: 'the .xlsx file is not a zip archive' };
  if (head.includes(0)) return { ok: false, reason: 'the file is binary, neither CSV nor XLSX' };
  return { ok: true, format: 'csv' };
}

/** The encoding of a CSV from its first bytes: a UTF-8 BOM or valid UTF-8, else GB18030 (GBK). */
export function detectEncoding(head: Buffer): 'utf-8' | 'gb18030' {
  if (head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return 'utf-8';
  try {
    // stream: true tolerates a character cut at the end of the sample.
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
    return 'utf-8';
  } catch {
    return 'gb18030';
  }
}

export function decoderLabel(encoding: ImportEncoding, head: Buffer): 'utf-8' | 'gb18030' {
  if (encoding === 'utf-8') return 'utf-8';
  if (encoding === 'gbk') return 'gb18030';
  return detectEncoding(head);
}

/** The mapping form field of an upload (JSON text), checked: absent is `{}`. */
export function checkMappingField(
  raw: unknown,
): { ok: true; value: ImportMapping } | { ok: false; reason: string } {
  if (raw === undefined) return { ok: true, value: {} };
  let json: unknown;
  try {
    json = JSON.parse(String(raw));
  } catch {
    return { ok: false, reason: 'mapping is not JSON' };
  }
  return checkMapping(json);
}

/** The mapping as given in the request (a JSON object), or why it is not one. */
export function checkMapping(
  input: unknown,
): { ok: true; value: ImportMapping } | { ok: false; reason: string } {
  if (input === undefined) return { ok: true, value: {} };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, reason: 'mapping must be a JSON object' };
  }
  const m = input as Record<string, unknown>;
  const isRef = (v: unknown) =>
    (typeof v === 'string' && v.trim() !== '' && v.length <= 200) ||
    (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 16_384);
  for (const key of Object.keys(m)) {
    if (!['phone', 'name', 'tags', 'fields', 'add_tags', 'has_header'].includes(key)) {
      return {
        ok: false,
        reason: `mapping.${key} is not known (phone, name, tags, fields, add_tags, has_header)`,
      };
    }
  }
  for (const key of ['phone', 'name', 'tags'] as const) {
    if (m[key] !== undefined && !isRef(m[key])) {
      return { ok: false, reason: `mapping.${key} must be a column header or a 1-based column number` };
    }
  }
  if (m.fields !== undefined) {
    if (typeof m.fields !== 'object' || m.fields === null || Array.isArray(m.fields)) {
      return { ok: false, reason: 'mapping.fields must map field names to columns' };
    }
    for (const [key, ref] of Object.entries(m.fields)) {
      if (!isFieldKey(key))
        return { ok: false, reason: `mapping.fields: "${key}" is not a valid field name` };
      if (!isRef(ref))
        return { ok: false, reason: `mapping.fields.${key} must be a column header or number` };
    }
  }
  if (m.add_tags !== undefined) {
    if (
      !Array.isArray(m.add_tags) ||
      m.add_tags.some((t) => typeof t !== 'string' || t.trim() === '' || t.length > 64)
    ) {
      return { ok: false, reason: 'mapping.add_tags must be an array of tags' };
    }
  }
  if (m.has_header !== undefined && typeof m.has_header !== 'boolean') {
    return { ok: false, reason: 'mapping.has_header must be true or false' };
  }
  if (m.has_header === false && typeof m.phone !== 'number') {
    return { ok: false, reason: 'without a header row, mapping.phone must be a column number' };
  }
  return { ok: true, value: m as ImportMapping };
}

/**
 * The mapping's columns as 0-based positions in `header` (null when the file has no header row).
 * Without mapping.phone, the phone column is found by its header (手机号, phone, mobile…).
 */
export function resolveMapping(
  mapping: ImportMapping,
  header: readonly string[] | null,
): { ok: true; value: ResolvedMapping } | { ok: false; reason: string } {
  const names = (header ?? []).map((h) => h.trim());
  const find = (ref: ColumnRef): number | null => {
    if (typeof ref === 'number') return ref - 1;
    const i = names.findIndex((n) => n === ref.trim());
    return i < 0 ? null : i;
  };
  const byPattern = (pattern: RegExp): number | null => {
    const i = names.findIndex((n) => pattern.test(n));
    return i < 0 ? null : i;
  };
  const phone = mapping.phone !== undefined ? find(mapping.phone) : byPattern(PHONE_HEADERS);
  if (phone === null) {
    return {
      ok: false,
      reason:
        mapping.phone !== undefined
          ? `no column "${String(mapping.phone)}" for the phone number`
          : 'no phone column: name one in mapping.phone, or head it 手机号 / phone',
    };
  }
  const name = mapping.name !== undefined ? find(mapping.name) : byPattern(NAME_HEADERS);
  if (mapping.name !== undefined && name === null)
    return { ok: false, reason: `no column "${String(mapping.name)}" for the name` };
  const tags = mapping.tags !== undefined ? find(mapping.tags) : byPattern(TAG_HEADERS);
  if (mapping.tags !== undefined && tags === null)
    return { ok: false, reason: `no column "${String(mapping.tags)}" for tags` };
  const fields: [string, number][] = [];
  if (mapping.fields !== undefined) {
    for (const [key, ref] of Object.entries(mapping.fields)) {
      const column = find(ref);
      if (column === null) return { ok: false, reason: `no column "${String(ref)}" for field "${key}"` };
      fields.push([key, column]);
    }
  } else {
    names.forEach((n, i) => {
      if (i !== phone && i !== name && i !== tags && isFieldKey(n)) fields.push([n, i]);
    });
  }
  return {
    ok: true,
    value: { phone, name, tags, fields, addTags: (mapping.add_tags ?? []).map((t) => t.trim()) },
  };
}

export interface RowCandidate {
  rawPhone: string;
  name?: string;
  fields: Record<string, string>;
  tags?: string[];
}

/** A data row read through the mapping (cells as text). */
export function readRow(cells: readonly string[], m: ResolvedMapping): RowCandidate {
  const cell = (i: number | null) => (i === null ? '' : (cells[i] ?? '').trim());
  const fields: Record<string, string> = {};
  for (const [key, column] of m.fields) {
    const v = cell(column);
    if (v !== '') fields[key] = v.slice(0, 1_000);
  }
  const name = cell(m.name).slice(0, 200);
  const tagText = cell(m.tags);
  const tags = [
    ...new Set([
      ...tagText
        .split(TAG_SPLIT)
        .map((t) => t.trim().slice(0, 64))
        .filter((t) => t !== ''),
      ...m.addTags,
    ]),
  ].slice(0, 50);
  return {
    rawPhone: cell(m.phone),
    ...(m.name !== null && name !== '' ? { name } : {}),
    fields,
    ...(tags.length > 0 ? { tags } : {}),
  };
}

/** An exceljs cell value as text: numbers in full (13800138000, never 1.38E+10), rich text joined. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isInteger(value) ? value.toFixed(0) : String(value);
  if (typeof value === 'boolean') return String(value);
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') {
    const v = value as { richText?: { text: string }[]; text?: unknown; result?: unknown };
    if (Array.isArray(v.richText)) return v.richText.map((r) => r.text).join('');
    if (v.text !== undefined) return cellText(v.text);
    if (v.result !== undefined) return cellText(v.result);
  }
  return '';
}

/** Percent done from bytes read; 100 only once the job completed. */
export function percentOf(state: string, bytesRead: number, fileBytes: number): number {
  if (state === 'completed') return 100;
  if (fileBytes <= 0) return 0;
  return Math.min(99, Math.floor((bytesRead * 100) / fileBytes));
}
