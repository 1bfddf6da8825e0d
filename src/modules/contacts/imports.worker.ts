// The import job runner: any node claims a running job (FOR UPDATE SKIP LOCKED, a lease it renews
// with every chunk and on a timer), streams the file, and commits each chunk of rows in one
// transaction: the contacts (upserted by phone, added to the target group), the error rows, the
// phones seen, and the counters. A node that dies loses only its uncommitted chunk: the next one to
// claim the job (after the lease) reads the file again and skips the rows already counted, and the
// seen phones make a duplicate a duplicate across the restart too.
import type { CountryCode } from 'libphonenumber-js/max';
import type pg from 'pg';
import type { Logger } from 'pino';
import { withTransaction } from '../../db/pool.ts';
import { normalizePhone } from '../messages/phone.models.ts';
import { addGroupMembers, type ContactInput, upsertContacts } from './contacts.sql.ts';
import { readRow, resolveMapping, type ResolvedMapping } from './imports.models.ts';
import { fileRows, fileSource } from './imports.reader.ts';
import {
  advanceImport,
  claimImport,
  type ErrorRow,
  finishImport,
  type ImportRow,
  insertErrors,
  markSeen,
  renewLease,
} from './imports.sql.ts';

export interface ImportSettings {
  leaseMs: number;
  chunkRows: number;
  maxRows: number;
  defaultRegion: CountryCode;
}

export interface ImportWorkerDeps {
  pool: pg.Pool;
  nodeId: string;
  now: () => Date;
  settings: ImportSettings;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Called after each committed chunk (tests hold the job there to read its progress). */
  afterChunk?: (job: { id: number; rowsRead: number }) => Promise<void>;
}

export interface ImportWorker {
  /** Claims and runs one job to its end; false when none was waiting. */
  runOnce(): Promise<boolean>;
  /** Stops as a crash would: the chunk in flight is rolled back, the lease is not given up. */
  kill(): void;
}

class LeaseLost extends Error {}
class Killed extends Error {}
/** The database refused a chunk: the job stays running and is taken up again after its lease. */
class StoreError extends Error {}

interface Pending {
  valid: { row: number; contact: ContactInput }[];
  errors: ErrorRow[];
}

export function createImportWorker(deps: ImportWorkerDeps): ImportWorker {
  let killed = false;
  const { settings } = deps;

  async function commitChunk(job: ImportRow, pending: Pending, rowsRead: number, bytesRead: number) {
    await withTransaction(deps.pool, async (tx) => {
      const phones = pending.valid.map((v) => v.contact.phone);
      const fresh = await markSeen(tx, job.id, phones);
      const contacts: ContactInput[] = [];
      const errors = [...pending.errors];
      for (const v of pending.valid) {
        if (fresh.has(v.contact.phone)) {
          contacts.push(v.contact);
          fresh.delete(v.contact.phone);
        } else {
          errors.push({
            row: v.row,
            reason: 'duplicate',
            rawPhone: v.contact.phone,
            detail: 'the same number appears earlier in the file',
          });
        }
      }
      const written = await upsertContacts(tx, job.tenant_id, contacts, { now: deps.now() });
      if (job.group_id !== null)
        await addGroupMembers(
          tx,
          job.group_id,
          written.map((w) => w.id),
          deps.now(),
        );
      await insertErrors(tx, job.id, errors);
      const duplicates = errors.filter((e) => e.reason === 'duplicate').length;
      const advanced = await advanceImport(tx, {
        id: job.id,
        nodeId: deps.nodeId,
        now: deps.now(),
        leaseMs: settings.leaseMs,
        rowsRead,
        bytesRead,
        accepted: written.length,
        invalid: errors.length - duplicates,
        duplicates,
      });
      if (!advanced) throw new LeaseLost(`import ${job.id}: another node holds it now`);
      if (killed) throw new Killed('killed');
    });
    pending.valid = [];
    pending.errors = [];
    if (deps.afterChunk) await deps.afterChunk({ id: job.id, rowsRead });
  }

  async function store(job: ImportRow, pending: Pending, rowsRead: number, bytesRead: number) {
    try {
      await commitChunk(job, pending, rowsRead, bytesRead);
    } catch (error) {
      if (error instanceof LeaseLost || error instanceof Killed) throw error;
      throw new StoreError(`import ${job.id}: storing rows failed`, { cause: error });
    }
  }

  /** Classifies one data row into `pending`. */
  function takeRow(pending: Pending, cells: string[], mapping: ResolvedMapping, row: number) {
    const candidate = readRow(cells, mapping);
    if (candidate.rawPhone === '') {
      pending.errors.push({
        row,
        reason: 'missing_phone',
        rawPhone: '',
        detail: 'no phone number in this row',
      });
      return;
    }
    const phone = normalizePhone(candidate.rawPhone, settings.defaultRegion);
    if (!phone.ok) {
      pending.errors.push({ row, reason: 'invalid', rawPhone: candidate.rawPhone, detail: phone.reason });
      return;
    }
    const { rawPhone: _raw, ...rest } = candidate;
    pending.valid.push({ row, contact: { ...rest, phone: phone.e164 } });
  }

  /** Runs the job to its end; answers the failure reason, or null when every row was read. */
  async function runJob(job: ImportRow): Promise<string | null> {
    const source = fileSource(deps.pool, job.id);
    const hasHeader = job.mapping.has_header !== false;
    let mapping: ResolvedMapping | null = null;
    let dataRows = 0;
    const pending: Pending = { valid: [], errors: [] };
    // Spreadsheet row numbers: the header is row 1.
    const rowNumber = (index: number) => index + (hasHeader ? 2 : 1);
    try {
      for await (const cells of fileRows(source, { format: job.format, encoding: job.encoding })) {
        if (mapping === null) {
          const resolved = resolveMapping(job.mapping, hasHeader ? cells : null);
          if (!resolved.ok) return resolved.reason;
          mapping = resolved.value;
          if (hasHeader) continue;
        }
        dataRows += 1;
        if (dataRows > settings.maxRows) {
          return `the file has more than ${settings.maxRows} rows: the first ${settings.maxRows} were imported, the rest were not read`;
        }
        if (dataRows <= job.rows_read) continue;
        takeRow(pending, cells, mapping, rowNumber(dataRows - 1));
        if (pending.valid.length + pending.errors.length >= settings.chunkRows) {
          await store(job, pending, dataRows, source.bytesRead());
        }
      }
      if (mapping === null) return 'the file has no rows';
      if (dataRows === 0) return 'the file has a header row but no data rows';
      if (pending.valid.length + pending.errors.length > 0)
        await store(job, pending, dataRows, source.bytesRead());
      return null;
    } finally {
      source.stream.destroy();
    }
  }

  return {
    kill() {
      killed = true;
    },
    async runOnce() {
      if (killed) return false;
      const job = await claimImport(deps.pool, {
        nodeId: deps.nodeId,
        now: deps.now(),
        leaseMs: settings.leaseMs,
      });
      if (!job) return false;
      deps.logger.info({ importId: job.id, resumeAfterRow: job.rows_read }, 'contact import claimed');
      // A slow chunk (a large transaction on a busy database) must not let the lease run out.
      const heartbeat = setInterval(
        () => {
          if (killed) return;
          renewLease(deps.pool, {
            id: job.id,
            nodeId: deps.nodeId,
            now: deps.now(),
            leaseMs: settings.leaseMs,
          }).catch((error: unknown) =>
            deps.logger.warn({ err: error, importId: job.id }, 'contact import heartbeat failed'),
          );
        },
        Math.max(1_000, Math.floor(settings.leaseMs / 3)),
      );
      try {
        let reason: string | null;
        try {
          reason = await runJob(job);
        } catch (error) {
          if (error instanceof Killed || error instanceof LeaseLost || error instanceof StoreError || killed)
            throw error;
          // A file the parsers refuse (a broken zip, an unterminated quote) ends the job with why.
          deps.logger.warn({ err: error, importId: job.id }, 'contact import failed');
          reason = `the file could not be read: ${(error as Error).message}`.slice(0, 500);
        }
        if (killed) throw new Killed('killed');
        await withTransaction(deps.pool, (tx) =>
          finishImport(tx, {
            id: job.id,
            nodeId: deps.nodeId,
            state: reason === null ? 'completed' : 'failed',
            reason,
            now: deps.now(),
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof Killed || killed) return false;
        if (error instanceof LeaseLost) {
          deps.logger.warn({ importId: job.id }, 'contact import lease lost to another node');
          return true;
        }
        throw error;
      } finally {
        clearInterval(heartbeat);
      }
    },
  };
}
