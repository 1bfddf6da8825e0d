// Contacts exported as CSV or XLSX, streamed page by page (keyset over contact ids), so a million
// contacts never sit in memory: CSV lines are yielded as they are read; XLSX rows are committed to
// exceljs's streaming writer, which zips them as it goes.
import { PassThrough, Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import type pg from 'pg';
import type { ContactRow } from './contacts.repository.ts';
import { type ContactQuery, listContacts, listFieldKeys } from './contacts.sql.ts';

const PAGE = 2_000;
const FIXED = ['phone', 'name', 'tags', 'opted_out', 'blacklisted', 'last_engaged_at', 'created_at'];

function rowValues(r: ContactRow, fieldKeys: readonly string[]): string[] {
  return [
    r.phone,
    r.name,
    r.tags.join(';'),
    String(r.opted_out),
    String(r.blacklisted),
    r.last_engaged_at?.toISOString() ?? '',
    r.created_at.toISOString(),
    ...fieldKeys.map((k) => r.fields[k] ?? ''),
  ];
}

/** A CSV cell: quoted when it holds a comma, quote or line break; a leading =+-@ is defused. */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) && !/^\+\d+$/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

async function* pages(pool: pg.Pool, tenantId: number, query: Omit<ContactQuery, 'limit' | 'afterId'>) {
  let afterId = 0;
  for (;;) {
    const rows = await listContacts(pool, tenantId, { ...query, afterId, limit: PAGE });
    if (rows.length === 0) return;
    yield rows;
    afterId = rows[rows.length - 1]!.id;
    if (rows.length < PAGE) return;
  }
}

export async function exportContactsCsv(
  pool: pg.Pool,
  tenantId: number,
  query: Omit<ContactQuery, 'limit' | 'afterId'>,
): Promise<Readable> {
  const fieldKeys = await listFieldKeys(pool, tenantId);
  async function* lines() {
    // A BOM, so that Excel opens the UTF-8 file with its Chinese intact.
    yield `\uFEFF${[...FIXED, ...fieldKeys.map((k) => `field:${k}`)].map(csvCell).join(',')}\r\n`;
    for await (const rows of pages(pool, tenantId, query)) {
      yield rows.map((r) => `${rowValues(r, fieldKeys).map(csvCell).join(',')}\r\n`).join('');
    }
  }
  return Readable.from(lines());
}

export async function exportContactsXlsx(
  pool: pg.Pool,
  tenantId: number,
  query: Omit<ContactQuery, 'limit' | 'afterId'>,
  onError: (error: unknown) => void,
): Promise<Readable> {
  const fieldKeys = await listFieldKeys(pool, tenantId);
  const out = new PassThrough();
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({
    stream: out,
    useStyles: false,
    useSharedStrings: false,
  });
  const sheet = workbook.addWorksheet('contacts');
  void (async () => {
    try {
      sheet.addRow([...FIXED, ...fieldKeys.map((k) => `field:${k}`)]).commit();
      for await (const rows of pages(pool, tenantId, query)) {
        for (const r of rows) sheet.addRow(rowValues(r, fieldKeys)).commit();
      }
      sheet.commit();
      await workbook.commit();
    } catch (error) {
      onError(error);
      out.destroy(error as Error);
    }
  })();
  return out;
}
