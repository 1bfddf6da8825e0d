// Home: today's and this month's sends, delivery rate, balance with the low-balance banner, charts
// of the last 7 or 30 days by status and by message type, and the latest replies. The counts come
// from the API's daily statistics (GET /v1/stats/daily), which count a message once it is final,
// on its day of creation in the statistics' time zone.
import { useQuery } from '@tanstack/react-query';
import { Alert, Card, Col, List, Row, Segmented, Statistic, Typography } from 'antd';
import { lazy, Suspense, useMemo, useState } from 'react';
import { Link } from 'react-router';
import {
  allows,
  type Permission,
  type TenantRole,
} from '../../../../src/modules/accounts/permissions.models.ts';
import { get, type Page } from '../../api.ts';
import { useMe } from '../../components/ConsoleLayout.tsx';
import { EmptyState, ErrorState, PageLoading } from '../../components/states.tsx';
import { useI18n } from '../../i18n/i18n.tsx';
import type { DaySeries } from '../../components/StatusChart.tsx';

const StatusChart = lazy(() =>
  import('../../components/StatusChart.tsx').then((m) => ({ default: m.StatusChart })),
);

// The days of GET /v1/stats/daily are Asia/Shanghai days (docs/campaigns.md), whatever the
// browser's own time zone is.
const STATS_TIME_ZONE = 'Asia/Shanghai';
const TYPES = ['verification', 'notification', 'marketing'] as const;
const STATUSES = ['delivered', 'failed', 'unknown', 'canceled'] as const;

interface TypeStat {
  messages: number;
  parts: number;
  delivered: number;
  failed: number;
}
interface DayStat {
  day: string;
  messages: number;
  parts: number;
  sent: number;
  delivered: number;
  failed: number;
  unknown: number;
  canceled: number;
  by_type: Partial<Record<string, TypeStat>>;
}
interface Reply {
  id: string;
  from: string;
  content: string;
  received_at: string;
}

/** YYYY-MM-DD of an instant in the statistics' time zone. */
const statsDay = (at: Date) =>
  new Intl.DateTimeFormat('en-CA', {
    timeZone: STATS_TIME_ZONE,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(at);

/** The calendar day `n` days after a YYYY-MM-DD day (negative: before). */
function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

function series(
  stats: DayStat[],
  days: string[],
  names: readonly string[],
  value: (s: DayStat, name: string) => number,
  label: (name: string) => string,
): DaySeries {
  const byDay = new Map(stats.map((s) => [s.day, s]));
  return {
    days,
    series: names.map((name) => ({
      name: label(name),
      data: days.map((d) => {
        const s = byDay.get(d);
        return s ? value(s, name) : 0;
      }),
    })),
  };
}

export default function Home() {
  const { t, tr } = useI18n();
  const me = useMe();
  // Each part is shown, and asked for, only when the member's role may read it: a viewer's home
  // asks nothing that answers 403 (the same permission table as the server's).
  const may = (permission: Permission) =>
    allows({ kind: 'member', tenantId: Number(me.tenant_id), role: me.role as TenantRole }, permission);
  const canStats = may('messages.read');
  const canBilling = may('billing.read');
  const canReplies = may('replies.read');
  const [span, setSpan] = useState<7 | 30>(7);
  const range = useMemo(() => {
    const today = statsDay(new Date());
    const monthStart = `${today.slice(0, 8)}01`;
    const from30 = addDays(today, -29);
    return { today, monthStart, from: from30 < monthStart ? from30 : monthStart };
  }, []);
  const stats = useQuery({
    queryKey: ['stats-daily', range.from, range.today],
    queryFn: () => get<{ data: DayStat[] }>('/v1/stats/daily', { from: range.from, to: range.today }),
    refetchInterval: 30_000,
    enabled: canStats,
  });
  const balance = useQuery({
    queryKey: ['balance'],
    queryFn: () => get<{ available: number; reserved: number }>('/v1/billing/balance'),
    enabled: canBilling,
  });
  const alert = useQuery({
    queryKey: ['alerts'],
    queryFn: () => get<{ low_balance: boolean; threshold: number }>('/v1/billing/alerts'),
    enabled: canBilling,
  });
  const replies = useQuery({
    queryKey: ['home-replies'],
    queryFn: () => get<Page<Reply>>('/v1/replies', { limit: 5 }),
    refetchInterval: 30_000,
    enabled: canReplies,
  });

  const totals = useMemo(() => {
    const rows = stats.data?.data ?? [];
    const month = rows.filter((r) => r.day >= range.monthStart);
    const sum = (f: (r: DayStat) => number) => month.reduce((a, r) => a + f(r), 0);
    // Of this month's messages with an outcome (a canceled one never left), the share delivered.
    const outcome = sum((r) => r.delivered + r.failed + r.unknown);
    return {
      today: rows.find((r) => r.day === range.today)?.messages ?? 0,
      month: sum((r) => r.messages),
      rate: outcome === 0 ? null : (100 * sum((r) => r.delivered)) / outcome,
    };
  }, [stats.data, range]);

  const charts = useMemo(() => {
    const rows = stats.data?.data ?? [];
    const days = Array.from({ length: span }, (_, i) => addDays(range.today, i - span + 1));
    return {
      byStatus: series(
        rows,
        days,
        STATUSES,
        (s, name) => s[name as (typeof STATUSES)[number]],
        (name) => tr(`status.${name}`),
      ),
      byType: series(
        rows,
        days,
        TYPES,
        (s, name) => s.by_type[name]?.messages ?? 0,
        (name) => tr(`type.${name}`),
      ),
    };
  }, [stats.data, span, range.today, tr]);

  const chart = (data: DaySeries, testId: string) =>
    stats.isPending ? (
      <PageLoading />
    ) : stats.error ? (
      // The error and its retry are shown once, above the figures.
      <EmptyState />
    ) : (
      <Suspense fallback={<PageLoading />}>
        <StatusChart data={data} testId={testId} />
      </Suspense>
    );

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
      {stats.error && <ErrorState error={stats.error} retry={() => void stats.refetch()} />}
      <Row gutter={[16, 16]}>
        {canStats && (
          <>
            <Col xs={12} md={6}>
              <Card loading={stats.isPending}>
                <Statistic title={t('home.today')} value={totals.today} data-testid="home-today" />
              </Card>
            </Col>
            <Col xs={12} md={6}>
              <Card loading={stats.isPending}>
                <Statistic title={t('home.month')} value={totals.month} data-testid="home-month" />
              </Card>
            </Col>
            <Col xs={12} md={6}>
              <Card loading={stats.isPending}>
                <Statistic
                  title={t('home.deliveryRate')}
                  // Rounded here: Statistic's precision cuts digits off (66.66… would read 66.6).
                  value={totals.rate === null ? '—' : totals.rate.toFixed(1)}
                  suffix={totals.rate === null ? '' : '%'}
                  data-testid="home-rate"
                />
              </Card>
            </Col>
          </>
        )}
        {canBilling && (
          <Col xs={12} md={6}>
            <Card loading={balance.isPending}>
              {balance.error ? (
                <ErrorState error={balance.error} />
              ) : (
                <Statistic
                  title={t('home.balance')}
                  value={balance.data?.available ?? 0}
                  suffix={t('unit.parts')}
                  data-testid="home-balance"
                />
              )}
            </Card>
          </Col>
        )}
      </Row>
      {canStats && (
        <>
          <Typography.Paragraph type="secondary" style={{ marginTop: 8 }}>
            {t('home.countedWhenFinal')}
          </Typography.Paragraph>
          <Segmented<7 | 30>
            value={span}
            onChange={setSpan}
            data-testid="home-span"
            options={[
              { label: t('home.days7'), value: 7 },
              { label: t('home.days30'), value: 30 },
            ]}
          />
          <Row gutter={[16, 16]} style={{ marginTop: 16 }}>
            <Col xs={24} lg={12}>
              <Card title={t('home.chart')}>{chart(charts.byStatus, 'chart-status')}</Card>
            </Col>
            <Col xs={24} lg={12}>
              <Card title={t('home.chartByType')}>{chart(charts.byType, 'chart-type')}</Card>
            </Col>
          </Row>
        </>
      )}
      {canReplies && (
        <Card
          style={{ marginTop: 16 }}
          title={t('home.recentReplies')}
          extra={<Link to="/replies">{t('home.allReplies')}</Link>}
        >
          {replies.error ? (
            <ErrorState error={replies.error} retry={() => void replies.refetch()} />
          ) : (
            <List<Reply>
              size="small"
              loading={replies.isPending}
              dataSource={replies.data?.data ?? []}
              locale={{ emptyText: <EmptyState /> }}
              data-testid="home-replies"
              renderItem={(r) => (
                <List.Item key={r.id} extra={new Date(r.received_at).toLocaleString()}>
                  <List.Item.Meta title={r.from} description={r.content} />
                </List.Item>
              )}
            />
          )}
        </Card>
      )}
    </>
  );
}
