// Verification codes: the tenant's OTP verifications (GET /v1/verifications), searched by number,
// status, purpose and time and paged on the server as Records is. The code itself is never shown:
// the API keeps only its hash and answers its length.
import { Button, Card, DatePicker, Form, Input, Select, Space, Tag, Typography } from 'antd';
import type { Dayjs } from 'dayjs';
import { useState } from 'react';
import type { Query } from '../../api.ts';
import { CursorTable } from '../../components/tables.tsx';
import { type MessageKey, useI18n } from '../../i18n/i18n.tsx';

const STATUSES = ['pending', 'approved', 'expired', 'max_attempts'] as const;
type Status = (typeof STATUSES)[number];
const COLORS: Record<Status, string> = {
  pending: 'gold',
  approved: 'green',
  expired: 'default',
  max_attempts: 'red',
};
const statusKey = (s: Status): MessageKey => `verifications.status.${s}`;

function VerificationStatus({ value }: { value: unknown }) {
  const { t } = useI18n();
  const s = String(value);
  if (!(STATUSES as readonly string[]).includes(s)) return <Tag>{s}</Tag>;
  return <Tag color={COLORS[s as Status]}>{t(statusKey(s as Status))}</Tag>;
}

export default function Verifications() {
  const { t } = useI18n();
  const [filters, setFilters] = useState<Query>({});
  const apply = (v: { phone?: string; status?: string; purpose?: string; range?: [Dayjs, Dayjs] | null }) =>
    setFilters({
      phone: v.phone?.trim() || undefined,
      status: v.status,
      purpose: v.purpose?.trim() || undefined,
      created_after: v.range?.[0]?.toISOString(),
      created_before: v.range?.[1]?.toISOString(),
    });
  return (
    <>
      <Typography.Title level={3}>{t('nav.verifications')}</Typography.Title>
      <Typography.Paragraph type="secondary">{t('verifications.help')}</Typography.Paragraph>
      <Card style={{ marginBottom: 16 }}>
        <Form layout="inline" onFinish={apply} style={{ rowGap: 8 }} data-testid="verifications-filters">
          <Form.Item name="phone" label={t('field.to')}>
            <Input allowClear data-testid="verifications-phone" />
          </Form.Item>
          <Form.Item name="status" label={t('field.status')}>
            <Select
              allowClear
              style={{ width: 140 }}
              data-testid="verifications-status"
              options={STATUSES.map((s) => ({ value: s, label: t(statusKey(s)) }))}
            />
          </Form.Item>
          <Form.Item name="purpose" label={t('field.purpose')}>
            <Input allowClear style={{ width: 120 }} />
          </Form.Item>
          <Form.Item name="range" label={t('records.time')}>
            <DatePicker.RangePicker showTime />
          </Form.Item>
          <Space>
            <Button type="primary" htmlType="submit" data-testid="verifications-search">
              {t('action.search')}
            </Button>
          </Space>
        </Form>
      </Card>
      <CursorTable
        queryKey={['verifications']}
        path="/v1/verifications"
        query={filters}
        refetchInterval={5000}
        columns={[
          { key: 'id' },
          { key: 'to' },
          { key: 'purpose' },
          { key: 'status', render: (v) => <VerificationStatus value={v} /> },
          { key: 'code_length' },
          { key: 'attempts_remaining' },
          { key: 'sends' },
          { key: 'message_id' },
          { key: 'expires_at' },
          { key: 'approved_at' },
          { key: 'created_at' },
        ]}
      />
    </>
  );
}
