// Statements of contact import jobs: the upload, the claim (FOR UPDATE SKIP LOCKED with a lease),
// one transaction per chunk of rows (contacts, error rows, seen phones and counters together),
// completion and failure.
import type pg from 'pg';
import type { ImportEncoding, ImportFormat, ImportMapping } from './imports.models.ts';

type Queryable = Pick<pg.PoolClient, 'query'>;

export const FILE_CHUNK_BYTES = 1024 * 1024;

export interface ImportRow {
  id: number;
  tenant_id: number;
  state: 'running' | 'completed' | 'failed';
  file_name: string;
  format: ImportFormat;
  encoding: ImportEncoding;
  mapping: ImportMapping;
  group_id: number | null;
  file_bytes: number;
  bytes_read: number;
  rows_read: number;
  accepted: number;
  invalid: number;
  duplicates: number;
  failure_reason: string | null;
  claimed_by: string | null;
  leased_until: Date | null;
  created_at: Date;
  started_at: Date | null;
  updated_at: Date;
  finished_at: Date | null;
}

/** A new job, not claimable until the upload commits (the caller's transaction). */
export async function insertImport(
  db: Queryable,
  job: { tenantId: number; fileName: string; now: Date },
): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `insert into contact_imports (tenant_id, file_name, format, mapping, file_bytes, created_at, updated_at)
     values ($1, $2, 'csv', '{}', 0, $3, $3) returning id`,
    [job.tenantId, job.fileName, job.now],
  );
  return rows[0]!.id;
}

export async function insertFileChunk(
  db: Queryable,
  importId: number,
  seq: number,
  data: Buffer,
): Promise<void> {
  await db.query('insert into contact_import_chunks (import_id, seq, data) values ($1, $2, $3)', [
    importId,
    seq,
    data,
  ]);
}

export async function describeImport(
  db: Queryable,
  id: number,
  d: {
    format: ImportFormat;
    encoding: ImportEncoding;
    mapping: ImportMapping;
    groupId: number | null;
    fileBytes: number;
  },
): Promise<void> {
  await db.query(
    `update contact_imports set format = $2, encoding = $3, mapping = $4, group_id = $5, file_bytes = $6 where id = $1`,
    [id, d.format, d.encoding, JSON.stringify(d.mapping), d.groupId, d.fileBytes],
  );
}

export async function getImport(db: Queryable, tenantId: number, id: number): Promise<ImportRow | undefined> {
  const { rows } = await db.query<ImportRow>(
    'select * from contact_imports where tenant_id = $1 and id = $2',
    [tenantId, id],
  );
  return rows[0];
}

export async function listImports(db: Queryable, tenantId: number, limit: number): Promise<ImportRow[]> {
  const { rows } = await db.query<ImportRow>(
    'select * from contact_imports where tenant_id = $1 order by id desc limit $2',
    [tenantId, limit],
  );
  return rows;
}

/** The oldest running job nobody holds (or whose holder's lease ran out), now this node's. */
export async function claimImport(
  db: Queryable,
  { nodeId, now, leaseMs }: { nodeId: string; now: Date; leaseMs: number },
): Promise<ImportRow | undefined> {
  const { rows } = await db.query<ImportRow>(
    `update contact_imports j set claimed_by = $1, leased_until = $2::timestamptz + make_interval(secs => $3 / 1000.0),
            started_at = coalesce(started_at, $2), updated_at = $2
      where j.id = (select id from contact_imports
                     where state = 'running' and file_bytes > 0 and (leased_until is null or leased_until < $2)
                     order by id limit 1 for update skip locked)
      returning j.*`,
    [nodeId, now, leaseMs],
  );
  return rows[0];
}

/** Renews this node's lease; false when another node took the job over. */
export async function renewLease(
  db: Queryable,
  { id, nodeId, now, leaseMs }: { id: number; nodeId: string; now: Date; leaseMs: number },
): Promise<boolean> {
  const result = await db.query(
    `update contact_imports set leased_until = $3::timestamptz + make_interval(secs => $4 / 1000.0)
      where id = $1 and claimed_by = $2 and state = 'running'`,
    [id, nodeId, now, leaseMs],
  );
  return (result.rowCount ?? 0) > 0;
}

/** The phones of `phones` this import had not seen yet, now recorded as seen. */
export async function markSeen(
  db: Queryable,
  importId: number,
  phones: readonly string[],
): Promise<Set<string>> {
  if (phones.length === 0) return new Set();
  const { rows } = await db.query<{ phone: string }>(
    `insert into contact_import_seen (import_id, phone) select $1, unnest($2::text[])
     on conflict do nothing returning phone`,
    [importId, phones],
  );
  return new Set(rows.map((r) => r.phone));
}

export interface ErrorRow {
  row: number;
  reason: 'invalid' | 'duplicate' | 'missing_phone';
  rawPhone: string;
  detail: string;
}

export async function insertErrors(
  db: Queryable,
  importId: number,
  errors: readonly ErrorRow[],
): Promise<void> {
  if (errors.length === 0) return;
  await db.query(
    `insert into contact_import_errors (import_id, row_number, reason, raw_phone, detail)
     select $1, * from unnest($2::bigint[], $3::text[], $4::text[], $5::text[]) on conflict do nothing`,
    [
      importId,
      errors.map((e) => e.row),
      errors.map((e) => e.reason),
      errors.map((e) => e.rawPhone.slice(0, 100)),
      errors.map((e) => e.detail),
    ],
  );
}

/**
 * Counts a committed chunk and renews the lease, only while this node holds the job: false (and
 * the caller rolls back) when the lease was lost.
 */
export async function advanceImport(
  db: Queryable,
  a: {
    id: number;
    nodeId: string;
    now: Date;
    leaseMs: number;
    rowsRead: number;
    bytesRead: number;
    accepted: number;
    invalid: number;
    duplicates: number;
  },
): Promise<boolean> {
  const result = await db.query(
    `update contact_imports set rows_read = $3, bytes_read = greatest(bytes_read, $4),
            accepted = accepted + $5, invalid = invalid + $6, duplicates = duplicates + $7,
            leased_until = $8::timestamptz + make_interval(secs => $9 / 1000.0), updated_at = $8
      where id = $1 and claimed_by = $2 and state = 'running'`,
    [a.id, a.nodeId, a.rowsRead, a.bytesRead, a.accepted, a.invalid, a.duplicates, a.now, a.leaseMs],
  );
  return (result.rowCount ?? 0) > 0;
}

/** Ends a job (completed or failed with its reason); its file and seen phones are dropped. */
export async function finishImport(
  db: Queryable,
  f: { id: number; nodeId: string; state: 'completed' | 'failed'; reason: string | null; now: Date },
): Promise<boolean> {
  const result = await db.query(
    `update contact_imports set state = $3, failure_reason = $4, finished_at = $5, updated_at = $5,
            leased_until = null, bytes_read = case when $3 = 'completed' then file_bytes else bytes_read end
      where id = $1 and claimed_by = $2 and state = 'running'`,
    [f.id, f.nodeId, f.state, f.reason, f.now],
  );
  if ((result.rowCount ?? 0) === 0) return false;
  await db.query('delete from contact_import_chunks where import_id = $1', [f.id]);
  await db.query('delete from contact_import_seen where import_id = $1', [f.id]);
  return true;
}

export async function readFileChunk(
  db: Queryable,
  importId: number,
  seq: number,
): Promise<Buffer | undefined> {
  const { rows } = await db.query<{ data: Buffer }>(
    'select data from contact_import_chunks where import_id = $1 and seq = $2',
    [importId, seq],
  );
  return rows[0]?.data;
}

export async function listErrors(
  db: Queryable,
  importId: number,
  { afterRow, limit }: { afterRow: number; limit: number },
): Promise<{ row_number: number; reason: string; raw_phone: string; detail: string }[]> {
  const { rows } = await db.query(
    `select row_number, reason, raw_phone, detail from contact_import_errors
      where import_id = $1 and row_number > $2 order by row_number limit $3`,
    [importId, afterRow, limit],
  );
  return rows;
}
