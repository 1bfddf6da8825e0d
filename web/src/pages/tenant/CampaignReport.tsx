// A campaign's report: state and actions (start, pause, resume, cancel), each run's progress, the
// funnel (audience → sent → delivered → clicked, opt-outs, replies), by carrier and by hour, the
// A/B results with the choice when the tenant decides, and the CSV/XLSX exports.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Card, Col, Descriptions, Progress, Row, Space, Statistic, Table, Tag } from 'antd';
import { lazy, Suspense } from 'react';
import { useParams } from 'react-router';
import { get, post } from '../../api.ts';
import { PageTitle, Section } from '../../components/Section.tsx';
import { ErrorState, errorText, PageLoading } from '../../components/states.tsx';
import { formatValue, StatusTag } from '../../components/tables.tsx';
import { type MessageKey, useI18n } from '../../i18n/i18n.tsx';

const charts = () => import('../../components/CampaignCharts.tsx');
const FunnelChart = lazy(() => charts().then((m) => ({ default: m.FunnelChart })));
const BreakdownChart = lazy(() => charts().then((m) => ({ default: m.BreakdownChart })));

interface Funnel {
  audience: number;
  duplicates: number;
  accepted: number;
  rejected: number;
  sent: number;
  delivered: number;
  failed: number;
  clicked: number;
  clicks: number;
  opted_out: number;
  replies: number;
  cost_parts: number;
}
interface Breakdown {
  key: string;
  messages: number;
  sent: number;
  delivered: number;
  failed: number;
}
interface Report {
  total: Funnel;
  runs: { run_id: string; run_at: string; funnel: Funnel }[];
  by_carrier: Breakdown[];
  by_hour: Breakdown[];
}
interface Variant {
  name: string;
  recipients: number;
  delivered: number;
  clicked: number;
  opted_out: number;
  delivery_rate: number;
  click_rate: number;
  opt_out_rate: number;
}
interface Run {
  id: string;
  run_at: string;
  state: string;
  progress: Record<string, number>;
  winner: string | null;
  decision: {
    winner: string;
    metric: string;
    p_value: number;
    significant: boolean;
    variants: Variant[];
  } | null;
}
interface Campaign {
  id: string;
  name: string;
  state: string;
  next_run_at: string | null;
  runs_started: number;
  ab: { variants: { name: string }[]; metric: string } | null;
  runs: Run[];
}

const ACTIONS: Record<string, ('start' | 'pause' | 'resume' | 'cancel')[]> = {
  draft: ['start', 'cancel'],
  active: ['pause', 'cancel'],
  paused: ['resume', 'cancel'],
};
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function breakdownSeries(rows: Breakdown[], t: (k: MessageKey) => string) {
  return {
    keys: rows.map((r) => r.key),
    series: (['sent', 'delivered', 'failed'] as const).map((f) => ({
      name: t(`field.${f}`),
      data: rows.map((r) => r[f]),
    })),
  };
}

function AbResults({ campaign, run }: { campaign: Campaign; run: Run }) {
  const { t, tr } = useI18n();
  const client = useQueryClient();
  const choose = useMutation({
    mutationFn: (variant: string) => post(`/v1/campaigns/${campaign.id}/runs/${run.id}/choose`, { variant }),
    onSuccess: () => client.invalidateQueries({ queryKey: ['campaign', campaign.id] }),
  });
  const canChoose = run.state === 'testing' || run.state === 'choosing';
  const variants = run.decision?.variants ?? campaign.ab?.variants.map((v) => ({ name: v.name })) ?? [];
  return (
    <Card
      size="small"
      title={t('campaigns.abRun', { at: String(formatValue(run.run_at)) })}
      style={{ marginBottom: 12 }}
    >
      {run.decision && (
        <p>
          {t('campaigns.abDecision', {
            winner: run.decision.winner,
            metric: tr(`metric.${run.decision.metric}`),
            p: run.decision.p_value.toFixed(3),
          })}{' '}
          {run.decision.significant ? (
            <Tag color="green">{t('campaigns.significant')}</Tag>
          ) : (
            <Tag>{t('campaigns.notSignificant')}</Tag>
          )}
        </p>
      )}
      {choose.error && (
        <Alert type="error" showIcon message={errorText(choose.error)} style={{ marginBottom: 8 }} />
      )}
      <Table
        size="small"
        pagination={false}
        rowKey="name"
        dataSource={variants as Partial<Variant>[]}
        columns={[
          {
            key: 'name',
            dataIndex: 'name',
            title: t('campaigns.variant'),
            render: (v: string) => (run.winner === v ? <Tag color="green">{v} ✓</Tag> : v),
          },
          { key: 'recipients', dataIndex: 'recipients', title: t('field.recipients'), render: formatValue },
          {
            key: 'delivery_rate',
            dataIndex: 'delivery_rate',
            title: t('field.delivery_rate'),
            render: (v?: number) => (v === undefined ? '—' : pct(v)),
          },
          {
            key: 'click_rate',
            dataIndex: 'click_rate',
            title: t('field.click_rate'),
            render: (v?: number) => (v === undefined ? '—' : pct(v)),
          },
          {
            key: 'opt_out_rate',
            dataIndex: 'opt_out_rate',
            title: t('field.opt_out_rate'),
            render: (v?: number) => (v === undefined ? '—' : pct(v)),
          },
          {
            key: 'choose',
            title: t('field.actions'),
            render: (_v: unknown, row: Partial<Variant>) =>
              canChoose ? (
                <Button
                  size="small"
                  loading={choose.isPending}
                  onClick={() => choose.mutate(String(row.name))}
                >
                  {t('campaigns.choose')}
                </Button>
              ) : null,
          },
        ]}
      />
    </Card>
  );
}

export default function CampaignReport() {
  const { t, tr } = useI18n();
  const { id = '' } = useParams();
  const client = useQueryClient();
  const campaign = useQuery({
    queryKey: ['campaign', id],
    queryFn: () => get<Campaign>(`/v1/campaigns/${id}`),
    refetchInterval: 3000,
  });
  const report = useQuery({
    queryKey: ['campaign', id, 'report'],
    queryFn: () => get<Report>(`/v1/campaigns/${id}/report`),
    refetchInterval: 5000,
  });
  const act = useMutation({
    mutationFn: (action: string) => post(`/v1/campaigns/${id}/${action}`),
    onSuccess: () => client.invalidateQueries({ queryKey: ['campaign', id] }),
  });
  if (campaign.isPending) return <PageLoading />;
  if (campaign.error) return <ErrorState error={campaign.error} retry={() => void campaign.refetch()} />;
  const c = campaign.data;
  const total = report.data?.total;
  return (
    <>
      <PageTitle>
        {c.name} <StatusTag value={c.state} />
      </PageTitle>
      <Space wrap style={{ marginBottom: 16 }}>
        {(ACTIONS[c.state] ?? []).map((a) => (
          <Button
            key={a}
            danger={a === 'cancel'}
            loading={act.isPending && act.variables === a}
            onClick={() => act.mutate(a)}
          >
            {tr(`campaigns.action.${a}`)}
          </Button>
        ))}
        <Button href={`/v1/campaigns/${id}/report/export`} download>
          {t('action.export')} CSV
        </Button>
        <Button href={`/v1/campaigns/${id}/report/export?format=xlsx`} download>
          {t('action.export')} XLSX
        </Button>
      </Space>
      {act.error && (
        <Alert type="error" showIcon message={errorText(act.error)} style={{ marginBottom: 12 }} />
      )}
      <Descriptions size="small" bordered column={{ xs: 1, sm: 3 }} style={{ marginBottom: 16 }}>
        <Descriptions.Item label={t('field.runs_started')}>{c.runs_started}</Descriptions.Item>
        <Descriptions.Item label={t('field.next_run_at')}>{formatValue(c.next_run_at)}</Descriptions.Item>
        <Descriptions.Item label={t('field.id')}>{c.id}</Descriptions.Item>
      </Descriptions>
      <Section title={t('campaigns.runs')}>
        {c.runs.length === 0 ? (
          <span>{t('campaigns.noRuns')}</span>
        ) : (
          c.runs.map((r) => (
            <div key={r.id} style={{ marginBottom: 12 }} data-testid="campaign-run">
              <Space wrap>
                <span>{formatValue(r.run_at)}</span>
                <StatusTag value={r.state} />
                <span>
                  {t('campaigns.runProgress', {
                    accepted: r.progress.accepted ?? 0,
                    sent: r.progress.sent ?? 0,
                    delivered: r.progress.delivered ?? 0,
                  })}
                </span>
              </Space>
              <Progress percent={r.progress.percent ?? 0} size="small" />
            </div>
          ))
        )}
      </Section>
      {report.error && <ErrorState error={report.error} retry={() => void report.refetch()} />}
      {report.isPending && <PageLoading />}
      {total && report.data && (
        <>
          <Row gutter={[16, 16]} style={{ marginBottom: 16 }}>
            {(
              [
                'audience',
                'accepted',
                'sent',
                'delivered',
                'clicked',
                'opted_out',
                'replies',
                'cost_parts',
              ] as const
            ).map((k) => (
              <Col key={k} xs={12} md={6} lg={3}>
                <Card size="small">
                  <Statistic title={t(`field.${k}`)} value={total[k]} valueStyle={{ fontSize: 20 }} />
                </Card>
              </Col>
            ))}
          </Row>
          <Suspense fallback={<PageLoading />}>
            <Section title={t('campaigns.funnel')}>
              <span data-testid="funnel-delivered" hidden>
                {total.delivered}
              </span>
              <FunnelChart
                steps={(['audience', 'accepted', 'sent', 'delivered', 'clicked'] as const).map((k) => ({
                  name: t(`field.${k}`),
                  value: total[k],
                }))}
              />
            </Section>
            <Row gutter={16}>
              <Col xs={24} lg={12}>
                <Section title={t('campaigns.byCarrier')}>
                  <BreakdownChart
                    {...breakdownSeries(
                      report.data.by_carrier.map((b) => ({ ...b, key: tr(`carrier.${b.key}`) })),
                      t,
                    )}
                  />
                </Section>
              </Col>
              <Col xs={24} lg={12}>
                <Section title={t('campaigns.byHour')}>
                  <BreakdownChart
                    {...breakdownSeries(
                      // "2026-11-30T22:00" in the campaign's time zone, shown as "11-30 22:00".
                      report.data.by_hour.map((b) => ({ ...b, key: b.key.slice(5).replace('T', ' ') })),
                      t,
                    )}
                  />
                </Section>
              </Col>
            </Row>
          </Suspense>
        </>
      )}
      {c.ab && (
        <Section title={t('campaigns.ab')}>
          {c.runs.map((r) => (
            <AbResults key={r.id} campaign={c} run={r} />
          ))}
        </Section>
      )}
    </>
  );
}
