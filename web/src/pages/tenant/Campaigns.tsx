// Campaigns: the list, newest first, paged on the server; a row opens its report.
import { Button, Space } from 'antd';
import { useNavigate } from 'react-router';
import { PageTitle } from '../../components/Section.tsx';
import { CursorTable, formatValue, type Row, StatusTag } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';

export default function Campaigns() {
  const { t, tr } = useI18n();
  const navigate = useNavigate();
  return (
    <>
      <Space style={{ width: '100%', justifyContent: 'space-between' }} align="baseline">
        <PageTitle>{t('nav.campaigns')}</PageTitle>
        <Button type="primary" onClick={() => navigate('/campaigns/new')} data-testid="campaign-new">
          {t('campaigns.new')}
        </Button>
      </Space>
      <CursorTable
        queryKey={['campaigns']}
        path="/v1/campaigns"
        mode="before"
        refetchInterval={10_000}
        onRow={(r: Row) => navigate(`/campaigns/${String(r.id)}`)}
        columns={[
          { key: 'id' },
          { key: 'name' },
          { key: 'state', render: (v) => <StatusTag value={v} /> },
          {
            key: 'schedule',
            render: (v) => tr(`campaigns.${String((v as { kind?: string } | null)?.kind ?? 'now')}`),
          },
          { key: 'runs_started' },
          { key: 'next_run_at', render: (v) => formatValue(v) },
          { key: 'created_at' },
        ]}
      />
    </>
  );
}
