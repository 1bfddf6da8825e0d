// Channels with live health (refreshed every 5 s) and the routing events.
import { PageTitle, Section } from '../../components/Section.tsx';
import { ListTable, type Row } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';

const asRows = (d: unknown): Row[] => (Array.isArray(d) ? d : ((d as { data?: Row[] }).data ?? []));

export default function Channels() {
  const { t } = useI18n();
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
        <ListTable queryKey={['op-channels']} path="/v1/operator/channels" select={asRows} />
      </Section>
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
