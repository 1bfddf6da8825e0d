// A campaign report as a file: CSV (RFC 4180, formula cells defused) or XLSX (one sheet each for
// the runs' funnels, carriers and hours; numbers as numbers).
import ExcelJS from 'exceljs';
import { csvField } from '../messages/export.models.ts';
import type { Breakdown, Funnel } from './campaign-reports.ts';
import { FUNNEL_COLUMNS } from './campaign-reports.ts';

export interface ReportRun {
  run_id: string;
  run_at: string;
  funnel: Funnel;
}

const RUN_COLUMNS = ['run_id', 'run_at', ...FUNNEL_COLUMNS] as const;

function runCells(r: ReportRun): (string | number)[] {
  return [r.run_id, r.run_at, ...FUNNEL_COLUMNS.map((c) => r.funnel[c])];
}

export function reportCsv(runs: readonly ReportRun[]): string {
  const line = (cells: (string | number | null)[]) => `${cells.map((c) => csvField(c)).join(',')}\r\n`;
  return line([...RUN_COLUMNS]) + runs.map((r) => line(runCells(r))).join('');
}

export async function reportXlsx(
  runs: readonly ReportRun[],
  breakdowns: { by_carrier: Breakdown[]; by_hour: Breakdown[] },
  title: string,
): Promise<Buffer> {
  const book = new ExcelJS.Workbook();
  book.creator = 'Hongyan';
  book.title = title;
  const funnel = book.addWorksheet('runs');
  funnel.addRow([...RUN_COLUMNS]);
  for (const r of runs) funnel.addRow(runCells(r));
  for (const [name, rows] of [
    ['carriers', breakdowns.by_carrier],
    ['hours', breakdowns.by_hour],
  ] as const) {
    const sheet = book.addWorksheet(name);
    sheet.addRow([name === 'carriers' ? 'carrier' : 'hour', 'messages', 'sent', 'delivered', 'failed']);
    for (const b of rows) sheet.addRow([b.key, b.messages, b.sent, b.delivered, b.failed]);
  }
  for (const sheet of book.worksheets) sheet.getRow(1).font = { bold: true };
  return Buffer.from(await book.xlsx.writeBuffer());
}
