// A usage statement of a date range: read at the finest grain, folded and rated (pure).
import type { Queryable } from '../../accounts/audit.ts';
import { parseGroupBy, parseRange, type StatementDimension } from './commerce.models.ts';
import { invalidStatementRange } from './commerce.errors.ts';
import { loadPriceTable } from './commerce.repository.ts';
import { buildStatement, statementColumns } from './statements.models.ts';
import { readUsage } from './statements.sql.ts';

export interface StatementQuery {
  from?: string;
  to?: string;
  group_by?: string;
}

export function parseStatementQuery(q: StatementQuery): {
  from: string;
  to: string;
  dims: StatementDimension[];
} {
  const range = q.from !== undefined && q.to !== undefined ? parseRange(q.from, q.to) : null;
  const dims = parseGroupBy(q.group_by);
  if (!range || !dims) throw invalidStatementRange();
  return { ...range, dims };
}

/** `tenantId` null: every tenant (operator). `operator` adds channel cost and margin. */
export async function readStatement({
  db,
  tenantId,
  query,
  operator,
}: {
  db: Queryable;
  tenantId: number | null;
  query: StatementQuery;
  operator: boolean;
}) {
  const { from, to, dims } = parseStatementQuery(query);
  const prices = await loadPriceTable(db);
  const usage = await readUsage(db, { tenantId, from, to, domesticCountryCode: prices.domesticCountryCode });
  const { rows, totals } = buildStatement({ usage, dims, prices, operator });
  return { from, to, group_by: dims, columns: statementColumns(dims, operator), rows, totals };
}
