// Receiving an import: the multipart request's file is stored in 1 MiB pieces and its job row
// described, all in one transaction, so a refused upload (too large, not CSV/XLSX, no phone column,
// a bad mapping or group) leaves nothing behind, and a job is claimable only once whole.
import type { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import type pg from 'pg';
import { withTransaction } from '../../db/pool.ts';
import {
  importEmpty,
  importFileType,
  importNotFound,
  importTooLarge,
  invalidImport,
} from './contacts.errors.ts';
import { assertGroupsOwned } from './contacts.repository.ts';
import {
  checkMappingField,
  decoderLabel,
  detectFormat,
  type ImportEncoding,
  type ImportMapping,
  percentOf,
  resolveMapping,
} from './imports.models.ts';
import {
  describeImport,
  FILE_CHUNK_BYTES,
  getImport,
  type ImportRow,
  insertFileChunk,
  insertImport,
} from './imports.sql.ts';

export type UploadPart =
  | { type: 'field'; fieldname: string; value: unknown }
  | { type: 'file'; fieldname: string; filename: string; file: Readable & { truncated?: boolean } };

export interface ImportView {
  id: string;
  state: ImportRow['state'];
  file_name: string;
  format: string;
  group_id: string | null;
  rows_read: number;
  accepted: number;
  invalid: number;
  duplicates: number;
  percent: number;
  failure_reason: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export function toImportView(r: ImportRow): ImportView {
  return {
    id: String(r.id),
    state: r.state,
    file_name: r.file_name,
    format: r.format,
    group_id: r.group_id === null ? null : String(r.group_id),
    rows_read: r.rows_read,
    accepted: r.accepted,
    invalid: r.invalid,
    duplicates: r.duplicates,
    percent: percentOf(r.state, r.bytes_read, r.file_bytes),
    failure_reason: r.failure_reason,
    created_at: r.created_at.toISOString(),
    started_at: r.started_at?.toISOString() ?? null,
    finished_at: r.finished_at?.toISOString() ?? null,
  };
}

export async function readImport(pool: pg.Pool, tenantId: number, id: number): Promise<ImportView> {
  const row = await getImport(pool, tenantId, id);
  if (!row) throw importNotFound();
  return toImportView(row);
}

function isTooLarge(error: unknown): boolean {
  return (error as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE';
}

/** Streams the file part into the job's pieces; answers its size and first bytes. */
async function storeFile(
  tx: pg.PoolClient,
  importId: number,
  file: Readable & { truncated?: boolean },
): Promise<{ bytes: number; head: Buffer }> {
  let buffered: Buffer[] = [];
  let bufferedBytes = 0;
  let seq = 0;
  let bytes = 0;
  let head: Buffer | null = null;
  const flush = async (all: boolean) => {
    while (bufferedBytes >= FILE_CHUNK_BYTES || (all && bufferedBytes > 0)) {
      const joined = Buffer.concat(buffered);
      const piece = joined.subarray(0, FILE_CHUNK_BYTES);
      head ??= Buffer.from(piece.subarray(0, 64 * 1024));
      await insertFileChunk(tx, importId, seq++, Buffer.from(piece));
      buffered = [joined.subarray(piece.length)];
      bufferedBytes = joined.length - piece.length;
    }
  };
  try {
    for await (const data of file) {
      const chunk = data as Buffer;
      bytes += chunk.length;
      buffered.push(chunk);
      bufferedBytes += chunk.length;
      if (bufferedBytes >= FILE_CHUNK_BYTES) await flush(false);
    }
  } catch (error) {
    if (isTooLarge(error)) throw importTooLarge({ cause: error });
    throw error;
  }
  if (file.truncated) throw importTooLarge();
  await flush(true);
  return { bytes, head: head ?? Buffer.alloc(0) };
}

/** The header row of a CSV from its first bytes, or null when it cannot be read there. */
function csvHeader(head: Buffer, encoding: ImportEncoding): string[] | null {
  const text = new TextDecoder(decoderLabel(encoding, head)).decode(head);
  try {
    const rows = parse(text, {
      bom: true,
      to_line: 1,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
    });
    return (rows[0] as string[] | undefined) ?? null;
  } catch {
    return null;
  }
}

function parseMapping(raw: unknown): ImportMapping {
  const checked = checkMappingField(raw);
  if (!checked.ok) throw invalidImport({ message: checked.reason });
  return checked.value;
}

function parseEncoding(raw: unknown): ImportEncoding {
  const value = raw === undefined ? 'auto' : String(raw).toLowerCase();
  if (value === 'auto' || value === 'utf-8' || value === 'gbk') return value;
  if (value === 'utf8') return 'utf-8';
  if (value === 'gb18030' || value === 'gb2312') return 'gbk';
  throw invalidImport({ message: 'encoding must be auto, utf-8 or gbk' });
}

function parseGroupId(raw: unknown): number | null {
  if (raw === undefined || raw === '') return null;
  if (!/^[1-9][0-9]{0,15}$/.test(String(raw)))
    throw invalidImport({ message: 'group_id must be a group id' });
  return Number(raw);
}

/**
 * Stores an upload as a new running job and answers it; throws a 4xx with nothing stored when the
 * request or the file is refused. Form fields: `file` (CSV or XLSX), `mapping` (JSON, optional),
 * `group_id` (optional), `encoding` (auto, utf-8, gbk; CSV only).
 */
export async function receiveImport({
  pool,
  tenantId,
  parts,
  now,
}: {
  pool: pg.Pool;
  tenantId: number;
  parts: AsyncIterable<UploadPart>;
  now: Date;
}): Promise<ImportView> {
  return withTransaction(pool, async (tx) => {
    const fields = new Map<string, unknown>();
    let upload: { id: number; name: string; bytes: number; head: Buffer } | null = null;
    for await (const part of parts) {
      if (part.type === 'field') {
        fields.set(part.fieldname, part.value);
        continue;
      }
      if (upload !== null || part.fieldname !== 'file') {
        // Drain it, so that the request ends; then refuse.
        part.file.resume();
        throw invalidImport({ message: 'send exactly one file, in the form field "file"' });
      }
      const id = await insertImport(tx, { tenantId, fileName: part.filename.slice(0, 255) || 'upload', now });
      upload = { id, name: part.filename, ...(await storeFile(tx, id, part.file)) };
    }
    if (upload === null) throw invalidImport({ message: 'no file: send it in the form field "file"' });
    if (upload.bytes === 0) throw importEmpty();
    const format = detectFormat(upload.head, upload.name);
    if (!format.ok)
      throw importFileType({ message: `The import file must be CSV or XLSX: ${format.reason}.` });
    const mapping = parseMapping(fields.get('mapping'));
    const encoding = parseEncoding(fields.get('encoding'));
    const groupId = parseGroupId(fields.get('group_id'));
    if (groupId !== null) await assertGroupsOwned(tx, tenantId, [groupId]);
    if (format.format === 'csv' && mapping.has_header !== false) {
      const header = csvHeader(upload.head, encoding);
      if (header === null) throw invalidImport({ message: 'the CSV has no readable header row' });
      const resolved = resolveMapping(mapping, header);
      if (!resolved.ok)
        throw invalidImport({ message: resolved.reason, details: { header: header.slice(0, 50) } });
    }
    await describeImport(tx, upload.id, {
      format: format.format,
      encoding,
      mapping,
      groupId,
      fileBytes: upload.bytes,
    });
    return toImportView((await getImport(tx, tenantId, upload.id))!);
  });
}
