// Tables on the API's lists: CursorTable pages on the server (next_cursor; before_id for the
// audit logs; after/next_after for contacts; before for campaigns), ListTable shows a whole short list. Loading, empty and error states are built in.
import { useQuery } from '@tanstack/react-query';
import { Button, Space, Table, Tag } from 'antd';
import type { TableColumnsType } from 'antd';
import { type HTMLAttributes, type ReactNode, useState } from 'react';
import { get, type Page, type Query } from '../api.ts';
import { useI18n } from '../i18n/i18n.tsx';
import { formatDateTime } from '../i18n/lang.ts';
import { EmptyState, ErrorState } from './states.tsx';
import './tables.css';

export type Row = Record<string, unknown>;
export interface Column {
  key: string;
  render?: (value: unknown, row: Row) => ReactNode;
}

const STATUS_COLORS: Record<string, string> = {
  delivered: 'green',
  approved: 'green',
  active: 'green',
  healthy: 'green',
  pending: 'gold',
  queued: 'blue',
  sent: 'blue',
  scheduled: 'purple',
  failed: 'red',
  rejected: 'red',
  undelivered: 'red',
  suspended: 'red',
  degraded: 'orange',
};

export function StatusTag({ value }: { value: unknown }) {
  const { tr } = useI18n();
  const s = String(value);
  return <Tag color={STATUS_COLORS[s] ?? 'default'}>{tr(`status.${s}`)}</Tag>;
}

/** A value as a cell shows it; timestamps as the console's language writes them. */
export function formatValue(value: unknown): ReactNode {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'boolean') return value ? '✓' : '✗';
  if (typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value)) return formatDateTime(value);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * Fields whose values come from a set the API documents, and the dictionary prefix that names
 * them ("breaker": "healthy" reads status.healthy). A value the dictionary lacks shows as words.
 */
const ENUM_FIELDS: Record<string, string> = {
  state: 'status',
  breaker: 'status',
  last_status: 'status',
  role: 'role',
  type: 'type',
  message_type: 'type',
  carrier: 'carrier',
  severity: 'severity',
  bind_mode: 'bindMode',
  id_convention: 'idConvention',
  scopes: 'scope',
  encoding: 'encoding',
  event_type: 'event',
  events: 'event',
  kind: 'kind',
};

function enumLabel(tr: (key: string) => string, prefix: string, value: unknown): ReactNode {
  if (Array.isArray(value))
    return value.length ? value.map((v) => tr(`${prefix}.${String(v)}`)).join(', ') : '—';
  if (value === null || value === undefined || value === '') return '—';
  return tr(`${prefix}.${String(value)}`);
}

/** Without a column list, the first row's plain fields (at most 8) are shown. */
function autoColumns(rows: Row[]): Column[] {
  const first = rows[0];
  if (!first) return [{ key: 'id' }];
  return Object.entries(first)
    .filter(([k, v]) => !k.startsWith('__') && (v === null || typeof v !== 'object'))
    .slice(0, 8)
    .map(([key]) => ({ key }));
}

function useColumns(columns: Column[] | undefined, rows: Row[], extra: Column[] = []): TableColumnsType<Row> {
  const { tr } = useI18n();
  return [...(columns ?? autoColumns(rows)), ...extra].map((c) => {
    const prefix = ENUM_FIELDS[c.key];
    return {
      key: c.key,
      dataIndex: c.key,
      title: tr(`field.${c.key}`),
      ellipsis: c.key === 'content',
      render: (v: unknown, row: Row) =>
        c.render ? (
          c.render(v, row)
        ) : c.key === 'status' || (prefix === 'status' && typeof v === 'string') ? (
          <StatusTag value={v} />
        ) : prefix ? (
          enumLabel(tr, prefix, v)
        ) : (
          formatValue(v)
        ),
    };
  });
}

export function ListTable({
  queryKey,
  path,
  query,
  columns,
  select = (d) => (d as { data: Row[] }).data,
  rowKey = 'id',
  actions,
  refetchInterval,
}: {
  queryKey: unknown[];
  path: string;
  query?: Query;
  columns?: Column[];
  select?: (data: unknown) => Row[];
  rowKey?: string;
  actions?: Column;
  refetchInterval?: number;
}) {
  const q = useQuery({ queryKey: [...queryKey, query], queryFn: () => get(path, query), refetchInterval });
  const rows = q.data ? select(q.data) : [];
  const cols = useColumns(columns, rows, actions ? [actions] : []);
  if (q.error) return <ErrorState error={q.error} retry={() => void q.refetch()} />;
  return (
    <Table<Row>
      size="small"
      scroll={{ x: true }}
      loading={q.isPending}
      rowKey={(r) => String(r[rowKey])}
      columns={cols}
      dataSource={rows}
      locale={{ emptyText: <EmptyState /> }}
      pagination={{ pageSize: 20, hideOnSinglePage: true }}
    />
  );
}

/**
 * A row that opens something: a Tab stop, opened by Enter or Space as by a click (keys pressed on
 * a button or link inside the row stay theirs).
 */
function clickableRow(row: Row, open: (row: Row) => void): HTMLAttributes<HTMLElement> {
  return {
    tabIndex: 0,
    className: 'hy-clickable-row',
    onClick: () => open(row),
    onKeyDown: (e) => {
      if (e.target !== e.currentTarget || (e.key !== 'Enter' && e.key !== ' ')) return;
      e.preventDefault();
      open(row);
    },
  };
}

/** How a list route pages: the query parameter it reads, and where the next page's value comes from. */
export type PageMode = 'cursor' | 'before_id' | 'after' | 'before';
const PAGE_PARAM: Record<PageMode, string> = {
  cursor: 'cursor',
  before_id: 'before_id',
  after: 'after',
  before: 'before',
};

/**
 * Server-side pages: the cursor of each page seen is kept, so Previous goes back without the
 * server needing offsets. `before_id` and `before` lists page on the last row's id instead.
 */
export function CursorTable({
  queryKey,
  path,
  query = {},
  columns,
  pageSize = 20,
  mode = 'cursor',
  onRow,
  refetchInterval,
  actions,
}: {
  queryKey: unknown[];
  path: string;
  query?: Query;
  columns?: Column[];
  pageSize?: number;
  mode?: PageMode;
  onRow?: (row: Row) => void;
  refetchInterval?: number;
  actions?: Column;
}) {
  const { t } = useI18n();
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors.at(-1) ?? null;
  const filterKey = JSON.stringify(query);
  const [seenFilter, setSeenFilter] = useState(filterKey);
  if (seenFilter !== filterKey) {
    setSeenFilter(filterKey);
    setCursors([null]);
  }
  const pageQuery: Query = {
    ...query,
    limit: pageSize,
    [PAGE_PARAM[mode]]: cursor,
  };
  const q = useQuery({
    queryKey: [...queryKey, pageQuery],
    queryFn: () => get<Page<Row>>(path, pageQuery),
    refetchInterval,
  });
  const rows = q.data?.data ?? [];
  const cols = useColumns(columns, rows, actions ? [actions] : []);
  if (q.error) return <ErrorState error={q.error} retry={() => void q.refetch()} />;
  const next =
    mode === 'cursor'
      ? (q.data?.next_cursor ?? null)
      : mode === 'after'
        ? (q.data?.next_after ?? null)
        : rows.length === pageSize
          ? String(rows.at(-1)?.id ?? '')
          : null;
  return (
    <>
      <Table<Row>
        size="small"
        scroll={{ x: true }}
        loading={q.isPending}
        rowKey={(r) => String(r.id)}
        columns={cols}
        dataSource={rows}
        locale={{ emptyText: <EmptyState /> }}
        pagination={false}
        onRow={onRow ? (row) => clickableRow(row, onRow) : undefined}
      />
      <Space style={{ marginTop: 12 }}>
        <Button disabled={cursors.length < 2} onClick={() => setCursors((c) => c.slice(0, -1))}>
          {t('action.previous')}
        </Button>
        <span>{t('table.page', { n: cursors.length })}</span>
        <Button disabled={!next} onClick={() => setCursors((c) => [...c, next])}>
          {t('action.next')}
        </Button>
      </Space>
    </>
  );
}
