// Billing: balance and its lots, packages and orders, statements with export.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Card, Col, Row as Grid, Space, Statistic } from 'antd';
import { get, post, withQuery } from '../../api.ts';
import { PageTitle, Section } from '../../components/Section.tsx';
import { ErrorState, errorText } from '../../components/states.tsx';
import { ListTable, type Row } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';

const ymd = (d: Date) => d.toISOString().slice(0, 10);

export default function Billing() {
  const { t } = useI18n();
  const client = useQueryClient();
  const balance = useQuery({
    queryKey: ['balance'],
    queryFn: () => get<{ available: number; reserved: number; lots: Row[] }>('/v1/billing/balance'),
  });
  const order = useMutation({
    mutationFn: (packageId: unknown) => post('/v1/billing/orders', { package_id: packageId }),
    onSuccess: () => client.invalidateQueries({ queryKey: ['orders'] }),
  });
  const to = new Date();
  const from = new Date(Date.now() - 30 * 86_400_000);
  const range = { from: ymd(from), to: ymd(to) };
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
          actions={{
            key: 'actions',
            render: (_v, row) => (
              <Button size="small" onClick={() => order.mutate(row.id)} loading={order.isPending}>
                {t('billing.order')}
              </Button>
            ),
          }}
        />
      </Section>
      <Section title={t('billing.orders')}>
        <ListTable queryKey={['orders']} path="/v1/billing/orders" />
      </Section>
      <Section
        title={t('billing.statements', range)}
        extra={
          <Space>
            <Button href={withQuery('/v1/billing/statements/export', { ...range, format: 'csv' })} download>
              CSV
            </Button>
            <Button href={withQuery('/v1/billing/statements/export', { ...range, format: 'xlsx' })} download>
              XLSX
            </Button>
          </Space>
        }
      >
        <ListTable
          queryKey={['statements']}
          path="/v1/billing/statements"
          query={range}
          rowKey="__index"
          select={(d) => ((d as { rows: Row[] }).rows ?? []).map((r, i) => ({ ...r, __index: i }))}
        />
      </Section>
    </>
  );
}
