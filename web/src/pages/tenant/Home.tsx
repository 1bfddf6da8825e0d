// Home: today's and this month's sends, delivery rate, balance with the low-balance banner, and
// a chart of the last 7 or 30 days by status, counted from the message list (GET /v1/messages).
import { useQuery } from '@tanstack/react-query';
import { Alert, Card, Col, Row, Segmented, Statistic, Typography } from 'antd';
import { lazy, Suspense, useMemo, useState } from 'react';
import { get, type Page } from '../../api.ts';
import { ErrorState, PageLoading } from '../../components/states.tsx';
import { useI18n } from '../../i18n/i18n.tsx';
import type { DaySeries } from '../../components/StatusChart.tsx';

const StatusChart = lazy(() =>
  import('../../components/StatusChart.tsx').then((m) => ({ default: m.StatusChart })),
);

interface Msg {
  status: string;
  created_at: string;
  parts: number;
}
// The counts come from the list; this bounds how many messages one view reads.
const MAX_PAGES = 10;
const PAGE = 500;

async function messagesSince(since: Date): Promise<{ rows: Msg[]; complete: boolean }> {
  const rows: Msg[] = [];
  let cursor: string | null | undefined = undefined;
  for (let i = 0; i < MAX_PAGES; i++) {
    const page: Page<Msg> = await get<Page<Msg>>('/v1/messages', {
      created_after: since.toISOString(),
      limit: PAGE,
      cursor,
    });
    rows.push(...page.data);
    cursor = page.next_cursor;
    if (!cursor) return { rows, complete: true };
  }
  return { rows, complete: false };
}

const dayKey = (d: Date) =>
  `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;

function startOfDay(daysAgo: number): Date {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  d.setDate(d.getDate() - daysAgo);
  return d;
}

function byDay(rows: Msg[], days: number, tr: (k: string) => string): DaySeries {
  const keys = Array.from({ length: days }, (_, i) => dayKey(startOfDay(days - 1 - i)));
  const statuses = [...new Set(rows.map((r) => r.status))].sort();
  return {
    days: keys,
    series: statuses.map((s) => ({
      name: tr(`status.${s}`),
      data: keys.map(
        (k) => rows.filter((r) => r.status === s && dayKey(new Date(r.created_at)) === k).length,
      ),
    })),
  };
}

export default function Home() {
  const { t, tr } = useI18n();
  const [days, setDays] = useState<7 | 30>(7);
  const monthStart = useMemo(() => {
    const d = startOfDay(0);
    d.setDate(1);
    return d;
  }, []);
  const since = useMemo(
    () => new Date(Math.min(startOfDay(29).getTime(), monthStart.getTime())),
    [monthStart],
  );
  const messages = useQuery({
    queryKey: ['home-messages'],
    queryFn: () => messagesSince(since),
    refetchInterval: 30_000,
  });
  const balance = useQuery({
    queryKey: ['balance'],
    queryFn: () => get<{ available: number; reserved: number }>('/v1/billing/balance'),
  });
  const alert = useQuery({
    queryKey: ['alerts'],
    queryFn: () => get<{ low_balance: boolean; threshold: number }>('/v1/billing/alerts'),
  });

  const stats = useMemo(() => {
    const rows = messages.data?.rows ?? [];
    const today = startOfDay(0).getTime();
    const month = rows.filter((r) => new Date(r.created_at).getTime() >= monthStart.getTime());
    const final = month.filter((r) =>
      ['delivered', 'undelivered', 'expired', 'rejected', 'failed'].includes(r.status),
    );
    const delivered = month.filter((r) => r.status === 'delivered').length;
    return {
      today: rows.filter((r) => new Date(r.created_at).getTime() >= today).length,
      month: month.length,
      rate: final.length === 0 ? null : (100 * delivered) / final.length,
    };
  }, [messages.data, monthStart]);
  const chart = useMemo(() => byDay(messages.data?.rows ?? [], days, tr), [messages.data, days, tr]);

  return (
    <>
      <Typography.Title level={3}>{t('nav.home')}</Typography.Title>
      {alert.data?.low_balance && (
        <Alert
          type="warning"
          showIcon
          style={{ marginBottom: 16 }}
          message={t('home.lowBalance', { threshold: alert.data.threshold })}
          data-testid="low-balance"
        />
      )}
      {messages.error && <ErrorState error={messages.error} retry={() => void messages.refetch()} />}
      <Row gutter={[16, 16]}>
        <Col xs={12} md={6}>
          <Card loading={messages.isPending}>
            <Statistic title={t('home.today')} value={stats.today} />
          </Card>
        </Col>
        <Col xs={12} md={6}>
          <Card loading={messages.isPending}>
            <Statistic title={t('home.month')} value={stats.month} />
          </Card>
        </Col>
        <Col xs={12} md={6}>
          <Card loading={messages.isPending}>
            <Statistic
              title={t('home.deliveryRate')}
              value={stats.rate ?? '—'}
              precision={1}
              suffix={stats.rate === null ? '' : '%'}
            />
          </Card>
        </Col>
        <Col xs={12} md={6}>
          <Card loading={balance.isPending}>
            {balance.error ? (
              <ErrorState error={balance.error} />
            ) : (
              <Statistic
                title={t('home.balance')}
                value={balance.data?.available ?? 0}
                suffix={t('unit.parts')}
              />
            )}
          </Card>
        </Col>
      </Row>
      <Card
        style={{ marginTop: 16 }}
        title={t('home.chart')}
        extra={
          <Segmented<7 | 30>
            value={days}
            onChange={setDays}
            options={[
              { label: t('home.days7'), value: 7 },
              { label: t('home.days30'), value: 30 },
            ]}
          />
        }
      >
        {messages.isPending ? (
          <PageLoading />
        ) : (
          <Suspense fallback={<PageLoading />}>
            <StatusChart data={chart} />
          </Suspense>
        )}
        {messages.data && !messages.data.complete && (
          <Typography.Text type="secondary">{t('home.partial', { n: MAX_PAGES * PAGE })}</Typography.Text>
        )}
      </Card>
    </>
  );
}
