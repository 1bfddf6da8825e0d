// Records: search by number, status, batch, template and time; each message's timeline of states,
// its final state with the receipt or error code; export of the same filters as CSV or XLSX. A row
// opens its timeline on a click, or from its id's link with the keyboard (Tab, Enter).
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
  events: { status: string; at: string; code?: string; detail?: string | null }[];
}
interface Template {
  id: string;
  name: string;
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
          color: e.code ? 'red' : undefined,
          children: (
            <>
              <StatusTag value={e.status} /> {formatValue(e.at)}
              {e.code && (
                <div>
                  <Typography.Text code data-testid="timeline-code">
                    {e.code}
                  </Typography.Text>{' '}
                  {e.detail && <Typography.Text type="secondary">{e.detail}</Typography.Text>}
                </div>
              )}
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
  const templates = useQuery({
    queryKey: ['templates'],
    queryFn: () => get<{ data: Template[] }>('/v1/templates'),
  });
  const apply = (v: {
    phone?: string;
    status?: string;
    batch_id?: string;
    template_id?: string;
    range?: [Dayjs, Dayjs] | null;
  }) =>
    setFilters({
      phone: v.phone?.trim(),
      status: v.status,
      batch_id: v.batch_id?.trim(),
      template_id: v.template_id,
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
          <Form.Item name="template_id" label={t('records.template')}>
            <Select
              allowClear
              data-testid="template-filter"
              style={{ width: 180 }}
              loading={templates.isPending}
              status={templates.error ? 'error' : undefined}
              placeholder={templates.error ? t('state.error') : undefined}
              notFoundContent={t('state.empty')}
              options={(templates.data?.data ?? []).map((x) => ({ value: x.id, label: x.name }))}
            />
          </Form.Item>
          <Form.Item name="range" label={t('records.time')}>
            <DatePicker.RangePicker showTime />
          </Form.Item>
          <Space>
            <Button type="primary" htmlType="submit">
              {t('action.search')}
            </Button>
            <Button href={withQuery('/v1/messages/export', filters)} download data-testid="export-csv">
              {t('records.exportCsv')}
            </Button>
            <Button
              href={withQuery('/v1/messages/export', { ...filters, format: 'xlsx' })}
              download
              data-testid="export-xlsx"
            >
              {t('records.exportXlsx')}
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
          {
            key: 'id',
            // A button: reached with Tab and opened with Enter, as the row is with a click.
            render: (v) => (
              <Button
                type="link"
                size="small"
                style={{ padding: 0 }}
                data-testid={`open-${String(v)}`}
                onClick={(e) => {
                  e.stopPropagation();
                  setOpen(String(v));
                }}
              >
                {String(v)}
              </Button>
            ),
          },
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
