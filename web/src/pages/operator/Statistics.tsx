// Platform statistics: messages per day with the delivery rate (a chart and a table), each
// tenant's totals over the range (GET /v1/operator/stats/daily, counted once final on the day
// sent, Beijing time), and each channel's live figures (GET /v1/operator/routing/health).
import { useQuery } from '@tanstack/react-query';
import { DatePicker, Space, Table, Typography } from 'antd';
import type { TableColumnsType } from 'antd';
import type { Dayjs } from 'dayjs';
import { BarChart, LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import { useEffect, useRef, useState } from 'react';
import { get } from '../../api.ts';
import { PageTitle, Section } from '../../components/Section.tsx';
import { EmptyState, ErrorState } from '../../components/states.tsx';
import { useI18n } from '../../i18n/i18n.tsx';

echarts.use([BarChart, LineChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

interface Counts {
  messages: number;
  delivered: number;
  failed: number;
  unknown: number;
  canceled: number;
  delivery_rate: number | null;
}
type Day = Counts & { day: string };
type Tenant = Counts & { tenant_id: number; tenant_name: string };
interface Channel {
  channel_id: number;
  name: string;
  submitted: number;
  delivered: number;
  undelivered: number;
  unknown: number;
  delivery_rate: number | null;
}

const percent = (rate: number | null) => (rate === null ? '—' : `${(rate * 100).toFixed(1)} %`);
/** A day in Beijing, where the statistics' days are counted, `back` days before today. */
const beijingDay = (back: number) =>
  new Date(Date.now() - back * 86_400_000).toLocaleDateString('sv-SE', { timeZone: 'Asia/Shanghai' });

function DailyChart({ days }: { days: Day[] }) {
  const { t } = useI18n();
  const ref = useRef<HTMLDivElement>(null);
  const option = JSON.stringify({
    tooltip: { trigger: 'axis' },
    legend: {},
    grid: { left: 48, right: 56, top: 40, bottom: 32 },
    xAxis: { type: 'category', data: days.map((d) => d.day) },
    yAxis: [
      { type: 'value', name: t('stats.messages') },
      {
        type: 'value',
        name: t('field.delivery_rate'),
        min: 0,
        max: 100,
        axisLabel: { formatter: '{value} %' },
      },
    ],
    series: [
      { name: t('stats.messages'), type: 'bar', data: days.map((d) => d.messages) },
      {
        name: t('field.delivery_rate'),
        type: 'line',
        yAxisIndex: 1,
        data: days.map((d) => (d.delivery_rate === null ? null : Math.round(d.delivery_rate * 1000) / 10)),
      },
    ],
  });
  useEffect(() => {
    if (!ref.current) return;
    const chart = echarts.init(ref.current);
    chart.setOption(JSON.parse(option) as echarts.EChartsCoreOption);
    const resize = () => chart.resize();
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      chart.dispose();
    };
  }, [option]);
  return <div ref={ref} style={{ height: 280 }} />;
}

function countColumns<T extends Counts>(t: ReturnType<typeof useI18n>['t']): TableColumnsType<T> {
  return [
    { key: 'messages', title: t('stats.messages'), dataIndex: 'messages' },
    { key: 'delivered', title: t('status.delivered'), dataIndex: 'delivered' },
    { key: 'failed', title: t('status.failed'), dataIndex: 'failed' },
    { key: 'unknown', title: t('status.unknown'), dataIndex: 'unknown' },
    { key: 'canceled', title: t('status.canceled'), dataIndex: 'canceled' },
    {
      key: 'delivery_rate',
      title: t('field.delivery_rate'),
      render: (_v, r) => percent(r.delivery_rate),
    },
  ];
}

export default function Statistics() {
  const { t } = useI18n();
  // The last 14 days until the picker says otherwise.
  const [query, setQuery] = useState({ from: beijingDay(13), to: beijingDay(0) });
  const stats = useQuery({
    queryKey: ['op-stats', query],
    queryFn: () => get<{ days: Day[]; tenants: Tenant[] }>('/v1/operator/stats/daily', query),
  });
  const channels = useQuery({
    queryKey: ['op-health', undefined],
    queryFn: () => get<{ data: Channel[] }>('/v1/operator/routing/health'),
    refetchInterval: 5000,
  });
  const table = <T extends object>(
    rows: T[] | undefined,
    columns: TableColumnsType<T>,
    rowKey: keyof T & string,
    testId: string,
  ) => (
    <Table<T>
      size="small"
      data-testid={testId}
      rowKey={rowKey}
      loading={rows === undefined}
      columns={columns}
      dataSource={rows ?? []}
      locale={{ emptyText: <EmptyState /> }}
      pagination={{ pageSize: 20, hideOnSinglePage: true }}
    />
  );
  return (
    <>
      <PageTitle>{t('nav.statistics')}</PageTitle>
      <Space style={{ marginBottom: 16 }} wrap>
        <DatePicker.RangePicker
          allowClear={false}
          placeholder={[query.from, query.to]}
          data-testid="stats-range"
          onChange={(v: [Dayjs | null, Dayjs | null] | null) => {
            if (v?.[0] && v[1]) setQuery({ from: v[0].format('YYYY-MM-DD'), to: v[1].format('YYYY-MM-DD') });
          }}
        />
        <Typography.Text type="secondary">{t('stats.help')}</Typography.Text>
      </Space>
      {stats.error ? (
        <ErrorState error={stats.error} retry={() => void stats.refetch()} />
      ) : (
        <>
          <Section title={t('stats.perDay')}>
            {stats.data && stats.data.days.length > 0 && <DailyChart days={stats.data.days} />}
            {table<Day>(
              stats.data?.days,
              [{ key: 'day', title: t('stats.day'), dataIndex: 'day' }, ...countColumns<Day>(t)],
              'day',
              'stats-days',
            )}
          </Section>
          <Section title={t('stats.byTenant')}>
            {table<Tenant>(
              stats.data?.tenants,
              [
                {
                  key: 'tenant',
                  title: t('nav.tenants'),
                  render: (_v, r) => `#${r.tenant_id} ${r.tenant_name}`,
                },
                ...countColumns<Tenant>(t),
              ],
              'tenant_id',
              'stats-tenants',
            )}
          </Section>
        </>
      )}
      <Section title={t('stats.byChannel')}>
        {channels.error ? (
          <ErrorState error={channels.error} retry={() => void channels.refetch()} />
        ) : (
          table<Channel>(
            channels.data?.data,
            [
              { key: 'name', title: t('field.channel'), dataIndex: 'name' },
              { key: 'submitted', title: t('stats.submitted'), dataIndex: 'submitted' },
              { key: 'delivered', title: t('status.delivered'), dataIndex: 'delivered' },
              { key: 'undelivered', title: t('status.undelivered'), dataIndex: 'undelivered' },
              { key: 'unknown', title: t('status.unknown'), dataIndex: 'unknown' },
              { key: 'rate', title: t('field.delivery_rate'), render: (_v, r) => percent(r.delivery_rate) },
            ],
            'channel_id',
            'stats-channels',
          )
        )}
      </Section>
    </>
  );
}
