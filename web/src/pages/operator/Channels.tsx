// Channels with live health (refreshed every 5 s), each channel's circuit breaker (state and
// thresholds, edited in a dialog) and the routing events.
import { Button, Modal } from 'antd';
import { useState } from 'react';
import { PageTitle, Section } from '../../components/Section.tsx';
import { ListTable, type Row } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';
import { ChannelBreaker } from './ChannelBreaker.tsx';

const asRows = (d: unknown): Row[] => (Array.isArray(d) ? d : ((d as { data?: Row[] }).data ?? []));

export default function Channels() {
  const { t } = useI18n();
  const [breakerOf, setBreakerOf] = useState<Row | null>(null);
  return (
    <>
      <PageTitle>{t('nav.channels')}</PageTitle>
      <Section title={t('channels.health')}>
        <ListTable
          queryKey={['op-health']}
          path="/v1/operator/routing/health"
          select={asRows}
          rowKey="channel_id"
          refetchInterval={5000}
        />
      </Section>
      <Section title={t('channels.list')}>
        <ListTable
          queryKey={['op-channels']}
          path="/v1/operator/channels"
          select={asRows}
          actions={{
            key: 'actions',
            render: (_v, row) => (
              <Button
                size="small"
                data-testid={`breaker-${String(row.id)}`}
                onClick={() => setBreakerOf(row)}
              >
                {t('breaker.edit')}
              </Button>
            ),
          }}
        />
      </Section>
      <Modal
        open={breakerOf !== null}
        title={breakerOf ? t('breaker.title', { channel: String(breakerOf.name) }) : ''}
        footer={null}
        destroyOnHidden
        width={640}
        onCancel={() => setBreakerOf(null)}
      >
        {breakerOf && <ChannelBreaker channelId={Number(breakerOf.id)} onDone={() => setBreakerOf(null)} />}
      </Modal>
      <Section title={t('channels.events')}>
        <ListTable
          queryKey={['op-events']}
          path="/v1/operator/routing/events"
          query={{ limit: 100 }}
          select={asRows}
          refetchInterval={5000}
        />
      </Section>
    </>
  );
}
