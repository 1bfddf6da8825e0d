// Billing: balance and its lots, packages and orders, the ledger (every movement of the balance:
// reservations, captures, refunds, releases, purchases and credits, adjustments, expiries), and
// statements over a chosen range of days, grouped as chosen, exported as CSV or XLSX.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Card, Col, DatePicker, Row as Grid, Select, Space, Statistic, Table } from 'antd';
import type { Dayjs } from 'dayjs';
import { useState } from 'react';
import { allows, type TenantRole } from '../../../../src/modules/accounts/permissions.models.ts';
import { get, post, withQuery } from '../../api.ts';
import { useMe } from '../../components/ConsoleLayout.tsx';
import { PageTitle, Section } from '../../components/Section.tsx';
import { EmptyState, ErrorState, errorText } from '../../components/states.tsx';
import { CursorTable, formatValue, ListTable, type Row } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';

// Statement days are China time days (docs: GET /v1/billing/statements), whatever the browser's.
const chinaDay = (at: Date) =>
  new Intl.DateTimeFormat('en-CA', {
    timeZone: 'Asia/Shanghai',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(at);

const LEDGER_KINDS = ['reserve', 'capture', 'refund', 'release', 'credit', 'adjust', 'expire'] as const;
const DIMENSIONS = ['day', 'type', 'signature', 'channel'] as const;

interface Statement {
  from: string;
  to: string;
  columns: string[];
  rows: Row[];
  totals: Row;
}

function Statements() {
  const { t, tr } = useI18n();
  const [range, setRange] = useState(() => ({
    from: chinaDay(new Date(Date.now() - 29 * 86_400_000)),
    to: chinaDay(new Date()),
  }));
  const [groupBy, setGroupBy] = useState<string[]>(['day', 'type']);
  const query = { ...range, group_by: groupBy.join(',') };
  const statement = useQuery({
    queryKey: ['statements', query],
    queryFn: () => get<Statement>('/v1/billing/statements', query),
  });
  const columns = (statement.data?.columns ?? []).map((key) => ({
    key,
    dataIndex: key,
    title: tr(`field.${key}`),
    render: (v: unknown) => (key === 'type' ? tr(`type.${String(v)}`) : formatValue(v)),
  }));
  return (
    <Section
      title={t('billing.statements', range)}
      extra={
        <Space wrap>
          <span data-testid="statement-range">
            <DatePicker.RangePicker
              allowClear={false}
              placeholder={[range.from, range.to]}
              onChange={(v: [Dayjs | null, Dayjs | null] | null) => {
                if (v?.[0] && v[1])
                  setRange({ from: v[0].format('YYYY-MM-DD'), to: v[1].format('YYYY-MM-DD') });
              }}
            />
          </span>
          <Select
            mode="multiple"
            style={{ minWidth: 220 }}
            value={groupBy}
            onChange={(v) => setGroupBy(v.length === 0 ? ['day'] : v)}
            options={DIMENSIONS.map((d) => ({ value: d, label: tr(`field.${d}`) }))}
            aria-label={t('billing.groupBy')}
            data-testid="statement-group-by"
          />
          <Button
            href={withQuery('/v1/billing/statements/export', { ...query, format: 'csv' })}
            download
            data-testid="statement-csv"
          >
            CSV
          </Button>
          <Button
            href={withQuery('/v1/billing/statements/export', { ...query, format: 'xlsx' })}
            download
            data-testid="statement-xlsx"
          >
            XLSX
          </Button>
        </Space>
      }
    >
      {statement.error ? (
        <ErrorState error={statement.error} retry={() => void statement.refetch()} />
      ) : (
        <Table<Row>
          size="small"
          scroll={{ x: true }}
          loading={statement.isPending}
          rowKey={(r) => (statement.data?.columns ?? []).map((c) => String(r[c])).join('|')}
          columns={columns}
          dataSource={statement.data?.rows ?? []}
          locale={{ emptyText: <EmptyState /> }}
          pagination={{ pageSize: 20, hideOnSinglePage: true }}
          data-testid="statement"
          summary={() =>
            statement.data && statement.data.rows.length > 0 ? (
              <Table.Summary.Row>
                {statement.data.columns.map((c, i) => (
                  <Table.Summary.Cell key={c} index={i}>
                    {i === 0 ? t('billing.total') : formatValue(statement.data.totals[c])}
                  </Table.Summary.Cell>
                ))}
              </Table.Summary.Row>
            ) : null
          }
        />
      )}
    </Section>
  );
}

function Ledger() {
  const { t, tr } = useI18n();
  const [kind, setKind] = useState<string | undefined>(undefined);
  return (
    <Section
      title={t('billing.ledger')}
      extra={
        <Select
          allowClear
          style={{ minWidth: 180 }}
          placeholder={t('billing.allKinds')}
          value={kind}
          onChange={setKind}
          options={LEDGER_KINDS.map((k) => ({ value: k, label: tr(`billing.kind.${k}`) }))}
          data-testid="ledger-kind"
        />
      }
    >
      <div data-testid="ledger">
        <CursorTable
          queryKey={['ledger']}
          path="/v1/billing/ledger"
          query={{ kind }}
          columns={[
            { key: 'created_at' },
            { key: 'kind', render: (v) => tr(`billing.kind.${String(v)}`) },
            { key: 'available_delta' },
            { key: 'reserved_delta' },
            { key: 'message_id' },
            { key: 'order_id' },
            { key: 'reason' },
          ]}
        />
      </div>
    </Section>
  );
}

export default function Billing() {
  const { t } = useI18n();
  const client = useQueryClient();
  const me = useMe();
  // The order button only for the roles the API lets order (billing.order).
  const canOrder = allows(
    { kind: 'member', tenantId: Number(me.tenant_id), role: me.role as TenantRole },
    'billing.order',
  );
  const balance = useQuery({
    queryKey: ['balance'],
    queryFn: () => get<{ available: number; reserved: number; lots: Row[] }>('/v1/billing/balance'),
  });
  const order = useMutation({
    mutationFn: (packageId: unknown) => post('/v1/billing/orders', { package_id: packageId }),
    onSuccess: () => client.invalidateQueries({ queryKey: ['orders'] }),
  });
  return (
    <>
      <PageTitle>{t('nav.billing')}</PageTitle>
      {balance.error ? (
        <ErrorState error={balance.error} retry={() => void balance.refetch()} />
      ) : (
        <Grid gutter={16} style={{ marginBottom: 16 }}>
          <Col xs={12} md={6}>
            <Card loading={balance.isPending}>
              <Statistic
                title={t('billing.available')}
                value={balance.data?.available ?? 0}
                suffix={t('unit.parts')}
              />
            </Card>
          </Col>
          <Col xs={12} md={6}>
            <Card loading={balance.isPending}>
              <Statistic
                title={t('billing.reserved')}
                value={balance.data?.reserved ?? 0}
                suffix={t('unit.parts')}
              />
            </Card>
          </Col>
        </Grid>
      )}
      <Section title={t('billing.lots')}>
        <ListTable
          queryKey={['balance-lots']}
          path="/v1/billing/balance"
          select={(d) => (d as { lots: Row[] }).lots}
        />
      </Section>
      <Section title={t('billing.packages')}>
        {order.error && (
          <Alert type="error" showIcon message={errorText(order.error)} style={{ marginBottom: 12 }} />
        )}
        <ListTable
          queryKey={['packages']}
          path="/v1/billing/packages"
          actions={
            canOrder
              ? {
                  key: 'actions',
                  render: (_v, row) => (
                    <Button size="small" onClick={() => order.mutate(row.id)} loading={order.isPending}>
                      {t('billing.order')}
                    </Button>
                  ),
                }
              : undefined
          }
        />
      </Section>
      <Section title={t('billing.orders')}>
        <ListTable queryKey={['orders']} path="/v1/billing/orders" />
      </Section>
      <Ledger />
      <Statements />
    </>
  );
}
