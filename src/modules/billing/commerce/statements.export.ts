// A statement as a file: CSV (RFC 4180, formula cells defused as the message export does, since a
// signature or channel name is typed by people) or XLSX (exceljs; numbers as numbers, amounts as
// numbers with two decimals so a spreadsheet sums them).
import ExcelJS from 'exceljs';
import { csvField } from '../../messages/export.models.ts';
import type { StatementRow } from './statements.models.ts';

const MONEY = new Set<keyof StatementRow>(['amount', 'cost', 'margin']);
/** Prices per part keep their places (a channel cost has 5). */
const PER_PART = new Set<keyof StatementRow>(['cost_per_part']);

export function statementCsv(
  columns: readonly (keyof StatementRow)[],
  rows: readonly StatementRow[],
): string {
  const line = (cells: (string | number | null)[]) => `${cells.map((c) => csvField(c)).join(',')}\r\n`;
  return (
    line([...columns]) +
    rows
      .map((r) => line(columns.map((c) => (r[c] === undefined ? null : (r[c] as string | number | null)))))
      .join('')
  );
}

export async function statementXlsx(
  columns: readonly (keyof StatementRow)[],
  rows: readonly StatementRow[],
  { title }: { title: string },
): Promise<Buffer> {
  const book = new ExcelJS.Workbook();
  book.creator = 'Hongyan';
  const sheet = book.addWorksheet('statement');
  sheet.columns = columns.map((c) => ({
    header: c,
    key: c,
    width: Math.max(10, c.length + 2),
    ...(MONEY.has(c)
      ? { style: { numFmt: '0.00' } }
      : PER_PART.has(c)
        ? { style: { numFmt: '0.00000' } }
        : {}),
  }));
  for (const r of rows) {
    const cells: Record<string, string | number | null> = {};
    for (const c of columns) {
      const v = r[c];
      // Money travels as exact decimal text; a spreadsheet cell is a double, fine for 2 places.
      cells[c] =
        v === undefined || v === null
          ? null
          : MONEY.has(c) || PER_PART.has(c)
            ? Number(v)
            : (v as string | number | null);
    }
    sheet.addRow(cells);
  }
  sheet.getRow(1).font = { bold: true };
  book.title = title;
  return Buffer.from(await book.xlsx.writeBuffer());
}
