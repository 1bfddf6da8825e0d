// A campaign's audience from an uploaded file (CSV or XLSX), the step before creating it: the
// file is read whole when it arrives, through the contact import's reader and column mapping
// (contacts/imports.*: format from the first bytes, UTF-8 or GBK, the phone column found by its
// header or named, every other column with a field-name header a variable), each row checked
// (invalid numbers, and numbers already on an earlier row, reported by row), and the valid
// recipients stored with their variables. A campaign names it (`audience.file_id`) and copies the
// recipients into its own, so a later upload or deletion never changes a campaign. A file is kept
// audienceFileRetentionDays after its upload (audience-files.retention.ts); an expired file is
// answered as no file.
import { Readable } from 'node:stream';
import type { CountryCode } from 'libphonenumber-js';
import type pg from 'pg';
import { withTransaction } from '../../db/pool.ts';
import { AppError } from '../../shared/errors.ts';
import { normalizePhone } from '../messages/phone.models.ts';
import {
  checkMappingField,
  detectFormat,
  type ImportEncoding,
  type ImportFormat,
  type ImportMapping,
  readRow,
  type ResolvedMapping,
  resolveMapping,
} from '../contacts/imports.models.ts';
import { csvCell } from '../contacts/contacts.export.ts';
import { type FileSource, fileRows } from '../contacts/imports.reader.ts';
import type { UploadPart } from '../contacts/imports.usecases.ts';
import type { AudienceRecipient } from './campaigns.models.ts';
import {
  audienceEmpty,
  audienceFileNotFound,
  audienceFileTooLarge,
  invalidAudienceFile,
} from './campaigns.errors.ts';

/** Read in the request, so bounded: 32 MiB and 200,000 data rows (larger lists: a contact import). */
export const MAX_FILE_BYTES = 32 * 1024 * 1024;
export const MAX_FILE_ROWS = 200_000;
const MAX_PROBLEMS_KEPT = 10_000;

export interface FileProblem {
  /** The row in the file among its non-empty rows, the header row being row 1. */
  row: number;
  value: string;
  reason: string;
  /** For a duplicate: the row that holds the number first. */
  first_row?: number;
}

export interface AudienceFileView {
  id: string;
  file_name: string;
  format: ImportFormat;
  variables: string[];
  rows_read: number;
  recipients: number;
  invalid: number;
  duplicates: number;
  created_at: string;
}

interface FileRow {
  id: string;
  file_name: string;
  format: ImportFormat;
  variables: string[];
  rows_read: number;
  recipients: number;
  invalid: number;
  duplicates: number;
  errors: FileProblem[];
  created_at: Date;
}

const view = (r: FileRow): AudienceFileView => ({
  id: String(r.id),
  file_name: r.file_name,
  format: r.format,
  variables: r.variables,
  rows_read: r.rows_read,
  recipients: r.recipients,
  invalid: r.invalid,
  duplicates: r.duplicates,
  created_at: r.created_at.toISOString(),
});

function parseMapping(raw: unknown): ImportMapping {
  const checked = checkMappingField(raw);
  if (!checked.ok) throw invalidAudienceFile({ message: checked.reason });
  const m = checked.value;
  if (m.tags !== undefined || m.add_tags !== undefined)
    throw invalidAudienceFile({
      message: 'mapping: tags are for contact imports (phone, name, fields, has_header)',
    });
  return m;
}

function parseEncoding(raw: unknown): ImportEncoding {
  const value = raw === undefined ? 'auto' : String(raw).toLowerCase();
  if (value === 'auto' || value === 'utf-8' || value === 'gbk') return value;
  if (value === 'utf8') return 'utf-8';
  if (value === 'gb18030' || value === 'gb2312') return 'gbk';
  throw invalidAudienceFile({ message: 'encoding must be auto, utf-8 or gbk' });
}

async function readWhole(file: Readable & { truncated?: boolean }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of file) chunks.push(chunk as Buffer);
  } catch (error) {
    if ((error as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE')
      throw audienceFileTooLarge({ cause: error });
    throw error;
  }
  if (file.truncated) throw audienceFileTooLarge();
  return Buffer.concat(chunks);
}

/** The file's recipients (each number once, in order) and its refused rows. */
export async function readAudienceRows(
  data: Buffer,
  {
    format,
    encoding,
    mapping,
    region,
  }: { format: ImportFormat; encoding: ImportEncoding; mapping: ImportMapping; region: string },
) {
  const source: FileSource = {
    stream: Readable.from([data]),
    bytesRead: () => data.length,
    head: async () => data.subarray(0, 64 * 1024),
  };
  const recipients: AudienceRecipient[] = [];
  const problems: FileProblem[] = [];
  const firstRow = new Map<string, number>();
  let resolved: ResolvedMapping | null = null;
  let row = 0;
  let invalid = 0;
  let duplicates = 0;
  const problem = (p: FileProblem) => {
    if (problems.length < MAX_PROBLEMS_KEPT) problems.push(p);
  };
  for await (const cells of fileRows(source, { format, encoding })) {
    row++;
    if (resolved === null) {
      const header = mapping.has_header === false ? null : cells;
      const r = resolveMapping(mapping, header);
      if (!r.ok) throw invalidAudienceFile({ message: r.reason, details: { header: cells.slice(0, 50) } });
      resolved = r.value;
      if (header !== null) continue;
    }
    if (row - (mapping.has_header === false ? 0 : 1) > MAX_FILE_ROWS)
      throw audienceFileTooLarge({
        message: `At most ${MAX_FILE_ROWS} rows; import larger lists as contacts.`,
      });
    const candidate = readRow(cells, resolved);
    const value = candidate.rawPhone.slice(0, 64);
    const phone = normalizePhone(candidate.rawPhone, region as CountryCode);
    if (!phone.ok) {
      invalid++;
      problem({ row, value, reason: phone.code });
      continue;
    }
    const first = firstRow.get(phone.e164);
    if (first !== undefined) {
      duplicates++;
      problem({ row, value, reason: 'duplicate', first_row: first });
      continue;
    }
    firstRow.set(phone.e164, row);
    const fields = { ...(candidate.name === undefined ? {} : { name: candidate.name }), ...candidate.fields };
    recipients.push({ phone: phone.e164, fields });
  }
  const variables =
    resolved === null
      ? []
      : [...(resolved.name === null ? [] : ['name']), ...resolved.fields.map(([k]) => k)];
  const dataRows = resolved === null ? 0 : row - (mapping.has_header === false ? 0 : 1);
  return { recipients, problems, invalid, duplicates, rows: dataRows, variables };
}

/**
 * Reads an upload (form fields: `file`, `mapping` JSON, `encoding`) and stores its recipients;
 * answers the file with its counts and first refused rows. Nothing is stored when the request or
 * the file is refused, or when no row holds a valid number.
 */
export async function receiveAudienceFile({
  pool,
  tenantId,
  parts,
  region,
  now,
}: {
  pool: pg.Pool;
  tenantId: number;
  parts: AsyncIterable<UploadPart>;
  region: string;
  now: Date;
}): Promise<AudienceFileView & { errors: FileProblem[] }> {
  const form = new Map<string, unknown>();
  let file: { name: string; data: Buffer } | null = null;
  for await (const part of parts) {
    if (part.type === 'field') {
      form.set(part.fieldname, part.value);
      continue;
    }
    if (file !== null || part.fieldname !== 'file') {
      part.file.resume();
      throw invalidAudienceFile({ message: 'send exactly one file, in the form field "file"' });
    }
    file = { name: part.filename.slice(0, 255) || 'upload', data: await readWhole(part.file) };
  }
  if (file === null) throw invalidAudienceFile({ message: 'no file: send it in the form field "file"' });
  if (file.data.length === 0) throw invalidAudienceFile({ message: 'the file is empty' });
  const format = detectFormat(file.data.subarray(0, 64 * 1024), file.name);
  if (!format.ok) throw invalidAudienceFile({ message: `The file must be CSV or XLSX: ${format.reason}.` });
  const read = await readAudienceRows(file.data, {
    format: format.format,
    encoding: parseEncoding(form.get('encoding')),
    mapping: parseMapping(form.get('mapping')),
    region,
  }).catch((error: unknown) => {
    if (error instanceof AppError) throw error;
    // A file the parsers refuse (a broken zip, an unterminated quote), said as contact imports say it.
    throw invalidAudienceFile({
      message: `the file could not be read: ${(error as Error).message}`.slice(0, 500),
      cause: error,
    });
  });
  if (read.recipients.length === 0)
    throw audienceEmpty({
      message: 'No row of the file holds a valid mobile number.',
      details: { rows: read.rows, errors: read.problems.slice(0, 100) },
    });
  const stored = await withTransaction(pool, async (tx) => {
    const { rows } = await tx.query<FileRow>(
      `insert into campaign_audience_files (tenant_id, file_name, format, variables, rows_read, recipients,
         invalid, duplicates, errors, created_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning *`,
      [
        tenantId,
        file.name,
        format.format,
        read.variables,
        read.rows,
        read.recipients.length,
        read.invalid,
        read.duplicates,
        JSON.stringify(read.problems),
        now,
      ],
    );
    const row = rows[0]!;
    for (let from = 0; from < read.recipients.length; from += 20_000) {
      const slice = read.recipients.slice(from, from + 20_000);
      await tx.query(
        `insert into campaign_audience_file_rows (file_id, idx, phone, fields)
         select $1, $2 + i - 1, p, f from unnest($3::text[], $4::jsonb[]) with ordinality as u(p, f, i)`,
        [row.id, from, slice.map((s) => s.phone), slice.map((s) => JSON.stringify(s.fields))],
      );
    }
    return row;
  });
  return { ...view(stored), errors: read.problems.slice(0, 100) };
}

async function ownedFile(db: Pick<pg.Pool, 'query'>, tenantId: number, id: number): Promise<FileRow> {
  const { rows } = await db.query<FileRow>(
    'select * from campaign_audience_files where id = $1 and tenant_id = $2 and expired_at is null',
    [id, tenantId],
  );
  if (rows[0] === undefined) throw audienceFileNotFound();
  return rows[0];
}

export async function readAudienceFile(db: Pick<pg.Pool, 'query'>, tenantId: number, id: number) {
  const row = await ownedFile(db, tenantId, id);
  return { ...view(row), errors: row.errors.slice(0, 100) };
}

/** The refused rows of a file as CSV (row, value, reason, first_row), for the tenant to fix. */
export async function audienceFileErrorsCsv(db: Pick<pg.Pool, 'query'>, tenantId: number, id: number) {
  const row = await ownedFile(db, tenantId, id);
  const lines = ['row,value,reason,first_row'];
  for (const p of row.errors)
    lines.push(
      [String(p.row), csvCell(p.value), p.reason, p.first_row === undefined ? '' : String(p.first_row)].join(
        ',',
      ),
    );
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

/** A file's recipients, in order, for a campaign that names it (the tenant's own files only). */
export async function audienceFileRecipients(
  db: Pick<pg.Pool, 'query'>,
  tenantId: number,
  id: number,
): Promise<{ file: AudienceFileView; recipients: AudienceRecipient[] }> {
  const file = await ownedFile(db, tenantId, id);
  const { rows } = await db.query<AudienceRecipient>(
    'select phone, fields from campaign_audience_file_rows where file_id = $1 order by idx',
    [id],
  );
  // The retention sweep may have marked the file and deleted some of its rows since it was read:
  // a file is never changed otherwise, so fewer rows than it counts means it expired meanwhile.
  if (rows.length !== file.recipients) throw audienceFileNotFound();
  return { file: view(file), recipients: rows };
}
