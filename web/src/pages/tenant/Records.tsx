// Records: search by number, status, batch and time; each message's timeline of states and its
// receipt code; export of the same filters as CSV.
import { useQuery } from '@tanstack/react-query';
import {
  Button,
  Card,
  DatePicker,
  Descriptions,
  Drawer,
  Form,
  Input,
  Select,
  Space,
  Timeline,
  Typography,
} from 'antd';
import type { Dayjs } from 'dayjs';
import { useState } from 'react';
import { get, type Query, withQuery } from '../../api.ts';
import { ErrorState, PageLoading } from '../../components/states.tsx';
import { CursorTable, formatValue, type Row, StatusTag } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';

const STATUSES = [
  'accepted',
  'held',
  'queued',
  'sending',
  'sent',
  'delivered',
  'undelivered',
  'expired',
  'rejected',
  'failed',
  'unknown',
  'canceled',
];

interface Message {
  id: string;
  to: string;
  content: string;
  status: string;
  parts: number;
  encoding: string;
  batch_id: string | null;
  carrier_message_id: string | null;
  error: { code: string; detail: string | null } | null;
  events: { status: string; at: string }[];
}

function MessageDetail({ id }: { id: string }) {
  const { t } = useI18n();
  const q = useQuery({
    queryKey: ['message', id],
    queryFn: () => get<Message>(`/v1/messages/${id}`),
    refetchInterval: 3000,
  });
  if (q.isPending) return <PageLoading />;
  if (q.error) return <ErrorState error={q.error} retry={() => void q.refetch()} />;
  const m = q.data;
  return (
    <>
      <Descriptions column={1} size="small" bordered>
        <Descriptions.Item label={t('field.to')}>{m.to}</Descriptions.Item>
        <Descriptions.Item label={t('field.status')}>
          <StatusTag value={m.status} />
        </Descriptions.Item>
        <Descriptions.Item label={t('field.content')}>{m.content}</Descriptions.Item>
        <Descriptions.Item label={t('field.parts')}>
          {m.parts} ({m.encoding})
        </Descriptions.Item>
        <Descriptions.Item label={t('field.carrier_message_id')}>
          {formatValue(m.carrier_message_id)}
        </Descriptions.Item>
        <Descriptions.Item label={t('field.error')}>
          {m.error ? `${m.error.code} ${m.error.detail ?? ''}` : '—'}
        </Descriptions.Item>
      </Descriptions>
      <Typography.Title level={5} style={{ marginTop: 16 }}>
        {t('records.timeline')}
      </Typography.Title>
      <Timeline
        data-testid="timeline"
        items={m.events.map((e) => ({
          children: (
            <>
              <StatusTag value={e.status} /> {formatValue(e.at)}
            </>
          ),
        }))}
      />
    </>
  );
}

export default function Records() {
  const { t, tr } = useI18n();
  const [filters, setFilters] = useState<Query>({});
  const [open, setOpen] = useState<string | null>(null);
  const apply = (v: { phone?: string; status?: string; batch_id?: string; range?: [Dayjs, Dayjs] | null }) =>
    setFilters({
      phone: v.phone?.trim(),
      status: v.status,
      batch_id: v.batch_id?.trim(),
      created_after: v.range?.[0]?.toISOString(),
      created_before: v.range?.[1]?.toISOString(),
    });
  return (
    <>
      <Typography.Title level={3}>{t('nav.records')}</Typography.Title>
      <Card style={{ marginBottom: 16 }}>
        <Form layout="inline" onFinish={apply} style={{ rowGap: 8 }}>
          <Form.Item name="phone" label={t('field.to')}>
            <Input allowClear />
          </Form.Item>
          <Form.Item name="status" label={t('field.status')}>
            <Select
              allowClear
              style={{ width: 140 }}
              options={STATUSES.map((s) => ({ value: s, label: tr(`status.${s}`) }))}
            />
          </Form.Item>
          <Form.Item name="batch_id" label={t('field.batch_id')}>
            <Input allowClear style={{ width: 120 }} />
          </Form.Item>
          <Form.Item name="range" label={t('records.time')}>
            <DatePicker.RangePicker showTime />
          </Form.Item>
          <Space>
            <Button type="primary" htmlType="submit">
              {t('action.search')}
            </Button>
            <Button href={withQuery('/v1/messages/export', filters)} download>
              {t('action.export')}
            </Button>
          </Space>
        </Form>
      </Card>
      <CursorTable
        queryKey={['messages']}
        path="/v1/messages"
        query={filters}
        refetchInterval={5000}
        onRow={(r: Row) => setOpen(String(r.id))}
        columns={[
          { key: 'id' },
          { key: 'to' },
          { key: 'status' },
          { key: 'type', render: (v) => tr(`type.${String(v)}`) },
          { key: 'parts' },
          { key: 'content' },
          { key: 'created_at' },
        ]}
      />
      <Drawer
        open={open !== null}
        onClose={() => setOpen(null)}
        title={t('records.detail')}
        width={Math.min(520, window.innerWidth)}
      >
        {open && <MessageDetail id={open} />}
      </Drawer>
    </>
  );
}
