// Channels with live health (refreshed every 5 s): state, binds up of those configured, throughput
// now against the channel's max TPS, delivery rate, breaker state and each channel's last routing
// event; each channel's circuit breaker (state and thresholds, edited in a dialog) and the newest
// routing events.
import { useQueries, useQuery } from '@tanstack/react-query';
import { Button, Modal, Space, Table, Tag, Tooltip, Typography } from 'antd';
import type { TableColumnsType } from 'antd';
import { useState } from 'react';
import { get } from '../../api.ts';
import { PageTitle, Section } from '../../components/Section.tsx';
import { EmptyState, ErrorState } from '../../components/states.tsx';
import { formatValue, ListTable, type Row, StatusTag } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';
import { ChannelBreaker } from './ChannelBreaker.tsx';

const asRows = (d: unknown): Row[] => (Array.isArray(d) ? d : ((d as { data?: Row[] }).data ?? []));
const LIVE = 5000;

interface Health {
  channel_id: number;
  name: string;
  enabled: boolean;
  bind_limit: number;
  binds: { slot: number; node_id: string; expires_at: string }[];
  breaker: 'healthy' | 'degraded';
  breaker_since: string | null;
  submitted_last_minute: number;
  delivery_rate: number | null;
  delivered: number;
  undelivered: number;
}
interface Channel {
  id: number;
  name: string;
  max_tps: number;
  binds: number;
}
interface ChannelEvent {
  id: number;
  channel_id: number;
  kind: string;
  reason: string;
  created_at: string;
}

const percent = (rate: number | null) => (rate === null ? '—' : `${(rate * 100).toFixed(1)} %`);

function EventTag({ event }: { event: ChannelEvent | undefined }) {
  const { tr } = useI18n();
  if (!event) return <>—</>;
  const bad = ['degraded', 'all_degraded', 'bind_lost'].includes(event.kind);
  return (
    <Tooltip title={event.reason}>
      <Space size={4} wrap>
        <Tag color={bad ? 'red' : 'green'}>{tr(`routingEvent.${event.kind}`)}</Tag>
        <Typography.Text type="secondary">{String(formatValue(event.created_at))}</Typography.Text>
      </Space>
    </Tooltip>
  );
}

function LiveHealth({ onBreaker }: { onBreaker: (id: number, name: string) => void }) {
  const { t } = useI18n();
  const health = useQuery({
    queryKey: ['op-health', undefined],
    queryFn: () => get<{ data: Health[] }>('/v1/operator/routing/health'),
    refetchInterval: LIVE,
  });
  const channels = useQuery({
    queryKey: ['op-channels', undefined],
    queryFn: () => get<{ data: Channel[] }>('/v1/operator/channels'),
    refetchInterval: LIVE,
  });
  const rows = health.data?.data ?? [];
  // Each channel's newest routing event, of any kind (a switch, a bind lost or back, a lease).
  const last = useQueries({
    queries: rows.map((r) => ({
      queryKey: ['op-last-event', r.channel_id],
      queryFn: () =>
        get<{ data: ChannelEvent[] }>('/v1/operator/routing/events', {
          channel_id: r.channel_id,
          order: 'desc',
          limit: 1,
        }),
      refetchInterval: LIVE,
    })),
  });
  const error = health.error ?? channels.error;
  if (error)
    return (
      <ErrorState
        error={error}
        retry={() => {
          void health.refetch();
          void channels.refetch();
        }}
      />
    );
  const settings = new Map((channels.data?.data ?? []).map((c) => [c.id, c]));
  const lastOf = new Map(rows.map((r, i) => [r.channel_id, last[i]?.data?.data[0]]));
  const columns: TableColumnsType<Health> = [
    { key: 'name', title: t('field.name'), dataIndex: 'name' },
    {
      key: 'state',
      title: t('field.state'),
      render: (_v, r) => (
        <Tag color={r.enabled ? 'green' : 'default'}>
          {r.enabled ? t('channels.enabled') : t('channels.disabled')}
        </Tag>
      ),
    },
    {
      key: 'binds',
      title: <Tooltip title={t('channels.bindsHelp')}>{t('field.binds')}</Tooltip>,
      render: (_v, r) => (
        <Tooltip title={r.binds.map((b) => `#${b.slot} ${b.node_id}`).join(', ') || undefined}>
          <Typography.Text
            type={r.enabled && r.binds.length < r.bind_limit ? 'warning' : undefined}
            data-testid={`binds-${r.channel_id}`}
          >
            {r.binds.length}/{r.bind_limit}
          </Typography.Text>
        </Tooltip>
      ),
    },
    {
      key: 'throughput',
      title: t('channels.throughput'),
      render: (_v, r) => (
        <Tooltip title={t('channels.lastMinute', { n: r.submitted_last_minute })}>
          <span data-testid={`throughput-${r.channel_id}`}>
            {t('channels.perSecond', { n: (r.submitted_last_minute / 60).toFixed(1) })}
          </span>
        </Tooltip>
      ),
    },
    {
      key: 'max_tps',
      title: t('field.max_tps'),
      render: (_v, r) => (
        <span data-testid={`max-tps-${r.channel_id}`}>{settings.get(r.channel_id)?.max_tps ?? '—'}</span>
      ),
    },
    {
      key: 'delivery_rate',
      title: t('field.delivery_rate'),
      render: (_v, r) => (
        <Tooltip title={t('channels.outcomes', { delivered: r.delivered, undelivered: r.undelivered })}>
          <span data-testid={`rate-${r.channel_id}`}>{percent(r.delivery_rate)}</span>
        </Tooltip>
      ),
    },
    {
      key: 'breaker',
      title: t('field.breaker'),
      render: (_v, r) => (
        <Space size={4} wrap>
          <span data-testid={`breaker-state-${r.channel_id}`}>
            <StatusTag value={r.breaker} />
          </span>
          {r.breaker_since ? (
            <Typography.Text type="secondary">
              {t('breaker.since', { at: String(formatValue(r.breaker_since)) })}
            </Typography.Text>
          ) : null}
        </Space>
      ),
    },
    {
      key: 'last_event',
      title: t('channels.lastEvent'),
      render: (_v, r) => (
        <span data-testid={`last-event-${r.channel_id}`}>
          <EventTag event={lastOf.get(r.channel_id)} />
        </span>
      ),
    },
    {
      key: 'actions',
      render: (_v, r) => (
        <Button size="small" onClick={() => onBreaker(r.channel_id, r.name)}>
          {t('breaker.edit')}
        </Button>
      ),
    },
  ];
  return (
    <Table<Health>
      size="small"
      scroll={{ x: true }}
      loading={health.isPending}
      rowKey="channel_id"
      columns={columns}
      dataSource={rows}
      locale={{ emptyText: <EmptyState /> }}
      pagination={{ pageSize: 20, hideOnSinglePage: true }}
    />
  );
}

export default function Channels() {
  const { t, tr } = useI18n();
  const [breakerOf, setBreakerOf] = useState<{ id: number; name: string } | null>(null);
  const names = useQuery({
    queryKey: ['op-channels', undefined],
    queryFn: () => get<{ data: Channel[] }>('/v1/operator/channels'),
    refetchInterval: LIVE,
  });
  const nameOf = new Map((names.data?.data ?? []).map((c) => [c.id, c.name]));
  return (
    <>
      <PageTitle>{t('nav.channels')}</PageTitle>
      <Section title={t('channels.health')}>
        <LiveHealth onBreaker={(id, name) => setBreakerOf({ id, name })} />
      </Section>
      <Section title={t('channels.list')}>
        <ListTable
          queryKey={['op-channels']}
          path="/v1/operator/channels"
          select={asRows}
          refetchInterval={LIVE}
          columns={[
            { key: 'id' },
            { key: 'name' },
            { key: 'host', render: (_v, r) => `${String(r.host)}:${String(r.port)}` },
            { key: 'system_id' },
            { key: 'bind_mode' },
            { key: 'binds' },
            { key: 'max_tps' },
            {
              key: 'carriers',
              render: (v) => (Array.isArray(v) ? v.map((x) => tr(`carrier.${String(x)}`)).join(', ') : '—'),
            },
            {
              key: 'message_types',
              render: (v) => (Array.isArray(v) ? v.map((x) => tr(`type.${String(x)}`)).join(', ') : '—'),
            },
            { key: 'cost_per_part', render: (v, r) => `${String(v)} ${String(r.cost_currency)}` },
            { key: 'weight' },
            { key: 'enabled' },
          ]}
          actions={{
            key: 'actions',
            render: (_v, row) => (
              <Button
                size="small"
                data-testid={`breaker-${String(row.id)}`}
                onClick={() => setBreakerOf({ id: Number(row.id), name: String(row.name) })}
              >
                {t('breaker.edit')}
              </Button>
            ),
          }}
        />
      </Section>
      <Modal
        open={breakerOf !== null}
        title={breakerOf ? t('breaker.title', { channel: breakerOf.name }) : ''}
        footer={null}
        destroyOnHidden
        width={640}
        onCancel={() => setBreakerOf(null)}
      >
        {breakerOf && <ChannelBreaker channelId={breakerOf.id} onDone={() => setBreakerOf(null)} />}
      </Modal>
      <Section title={t('channels.events')}>
        <ListTable
          queryKey={['op-events']}
          path="/v1/operator/routing/events"
          query={{ limit: 100, order: 'desc' }}
          select={asRows}
          refetchInterval={LIVE}
          columns={[
            { key: 'created_at' },
            { key: 'channel', render: (_v, r) => nameOf.get(Number(r.channel_id)) ?? String(r.channel_id) },
            { key: 'kind', render: (v) => tr(`routingEvent.${String(v)}`) },
            { key: 'reason' },
            { key: 'node_id' },
            { key: 'delivery_rate', render: (v) => percent(typeof v === 'number' ? v : null) },
            { key: 'samples' },
          ]}
        />
      </Section>
    </>
  );
}
