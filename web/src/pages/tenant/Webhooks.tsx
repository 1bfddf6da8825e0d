// Webhook endpoints: register one (URL, events, format; its signing secret shown once), list them,
// change one. The format is the body of each POST: Hongyan's events envelope, or a cloud vendor's
// status report push (aliyun, tencent) for receivers written for that vendor. A vendor's format
// carries message.status only (the API refuses other events with webhooks.format_events), so the
// form says so and leaves message.status as the one event to choose. The deliveries, newest
// first, page on the API's `before` (the last row's id), each delivered or dead-lettered one with
// its own Replay (a new delivery of the same event).
import { useMutation, useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  Button,
  Checkbox,
  Form,
  type FormInstance,
  Input,
  Modal,
  Select,
  Space,
  Switch,
  Typography,
} from 'antd';
import { useState } from 'react';
import { patch, post } from '../../api.ts';
import { errorText } from '../../components/states.tsx';
import { CursorTable, ListTable, type Row, StatusTag } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';

const EVENTS = [
  'message.status',
  'message.reply',
  'batch.completed',
  'template.reviewed',
  'signature.reviewed',
  'balance.low',
  'optout.added',
] as const;
const FORMATS = ['hongyan', 'aliyun', 'tencent'] as const;
type Format = (typeof FORMATS)[number];
const STATUS_ONLY = ['message.status'];

interface EndpointValues {
  url: string;
  description?: string;
  format: Format;
  events: string[];
  enabled?: boolean;
}

/** The fields of an endpoint, shared by the create form and the edit dialog. */
function EndpointFields({ form, prefix }: { form: FormInstance<EndpointValues>; prefix: string }) {
  const { t, tr } = useI18n();
  const format = Form.useWatch('format', form) ?? 'hongyan';
  const vendor = format !== 'hongyan';
  return (
    <>
      <Form.Item
        name="url"
        label={t('field.url')}
        extra={t('webhooks.urlHelp')}
        rules={[{ required: true, whitespace: true, message: t('form.required') }]}
      >
        <Input maxLength={2000} placeholder="https://" data-testid={`${prefix}-url`} />
      </Form.Item>
      <Form.Item name="description" label={t('field.description')}>
        <Input maxLength={200} data-testid={`${prefix}-description`} />
      </Form.Item>
      <Form.Item name="format" label={t('field.format')} extra={t('webhooks.formatHelp')}>
        <Select
          data-testid={`${prefix}-format`}
          style={{ maxWidth: 320 }}
          options={FORMATS.map((f) => ({ value: f, label: tr(`webhooks.format.${f}`) }))}
          onChange={(next: Format) => {
            if (next !== 'hongyan') form.setFieldValue('events', STATUS_ONLY);
          }}
        />
      </Form.Item>
      {vendor && (
        <Alert
          type="info"
          showIcon
          data-testid={`${prefix}-vendor-events`}
          message={t('webhooks.vendorEvents')}
          style={{ marginBottom: 12 }}
        />
      )}
      <Form.Item
        name="events"
        label={t('field.events')}
        rules={[{ required: true, type: 'array', min: 1, message: t('form.required') }]}
      >
        <Checkbox.Group
          data-testid={`${prefix}-events`}
          options={EVENTS.map((e) => ({
            value: e,
            label: `${tr(`event.${e}`)} (${e})`,
            disabled: vendor && e !== 'message.status',
          }))}
        />
      </Form.Item>
    </>
  );
}

function EditEndpoint({ endpoint, onDone }: { endpoint: Row; onDone: () => void }) {
  const { t } = useI18n();
  const client = useQueryClient();
  const [form] = Form.useForm<EndpointValues>();
  const save = useMutation({
    mutationFn: (v: EndpointValues) => patch(`/v1/webhooks/endpoints/${String(endpoint.id)}`, v),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ['webhook-endpoints'] });
      onDone();
    },
  });
  return (
    <Form<EndpointValues>
      form={form}
      layout="vertical"
      initialValues={{
        url: String(endpoint.url ?? ''),
        description: typeof endpoint.description === 'string' ? endpoint.description : '',
        format: (endpoint.format as Format | undefined) ?? 'hongyan',
        events: Array.isArray(endpoint.events) ? (endpoint.events as string[]) : [],
        enabled: endpoint.enabled !== false,
      }}
      onValuesChange={() => save.reset()}
      onFinish={(v) => save.mutate({ ...v, description: v.description ?? '' })}
    >
      <EndpointFields form={form} prefix="webhook-edit" />
      <Form.Item name="enabled" label={t('field.enabled')} valuePropName="checked">
        <Switch data-testid="webhook-edit-enabled" />
      </Form.Item>
      {save.error && (
        <Alert
          type="error"
          showIcon
          data-testid="webhook-edit-error"
          message={errorText(save.error)}
          style={{ marginBottom: 12 }}
        />
      )}
      <Space>
        <Button type="primary" htmlType="submit" loading={save.isPending} data-testid="webhook-edit-save">
          {t('action.save')}
        </Button>
        <Button onClick={onDone}>{t('action.cancel')}</Button>
      </Space>
    </Form>
  );
}

export function WebhookEndpoints() {
  const { t, tr } = useI18n();
  const client = useQueryClient();
  const [form] = Form.useForm<EndpointValues>();
  const [editing, setEditing] = useState<Row | null>(null);
  const create = useMutation({
    mutationFn: (v: EndpointValues) =>
      post<{ endpoint: Row; secret: string }>('/v1/webhooks/endpoints', {
        url: v.url.trim(),
        events: v.events,
        format: v.format,
        ...(v.description ? { description: v.description } : {}),
      }),
    onSuccess: async () => {
      form.resetFields();
      await client.invalidateQueries({ queryKey: ['webhook-endpoints'] });
    },
  });
  return (
    <>
      <Typography.Title level={5}>{t('webhooks.new')}</Typography.Title>
      <Form<EndpointValues>
        form={form}
        layout="vertical"
        initialValues={{ format: 'hongyan', events: STATUS_ONLY }}
        onFinish={(v) => create.mutate(v)}
        style={{ maxWidth: 720 }}
      >
        <EndpointFields form={form} prefix="webhook" />
        <Button type="primary" htmlType="submit" loading={create.isPending} data-testid="webhook-create">
          {t('action.create')}
        </Button>
      </Form>
      {create.data && (
        <Alert
          type="warning"
          showIcon
          style={{ marginTop: 12 }}
          message={t('developers.secretOnce')}
          description={
            <Typography.Text copyable code data-testid="webhook-secret">
              {create.data.secret}
            </Typography.Text>
          }
        />
      )}
      {create.error && (
        <Alert
          type="error"
          showIcon
          data-testid="webhook-error"
          message={errorText(create.error)}
          style={{ marginTop: 12 }}
        />
      )}
      <div style={{ marginTop: 16 }}>
        <ListTable
          queryKey={['webhook-endpoints']}
          path="/v1/webhooks/endpoints"
          columns={[
            { key: 'id' },
            { key: 'url' },
            { key: 'format', render: (v) => tr(`webhooks.format.${String(v ?? 'hongyan')}`) },
            { key: 'events', render: (v) => (Array.isArray(v) ? v.join(', ') : '—') },
            { key: 'enabled' },
            { key: 'description' },
            { key: 'created_at' },
          ]}
          actions={{
            key: 'actions',
            render: (_v, row) => (
              <Button
                size="small"
                data-testid={`webhook-edit-${String(row.id)}`}
                onClick={() => setEditing(row)}
              >
                {t('action.edit')}
              </Button>
            ),
          }}
        />
      </div>
      <Modal
        open={editing !== null}
        title={editing ? t('webhooks.edit', { url: String(editing.url) }) : ''}
        footer={null}
        destroyOnHidden
        width={640}
        onCancel={() => setEditing(null)}
      >
        {editing && <EditEndpoint endpoint={editing} onDone={() => setEditing(null)} />}
      </Modal>
    </>
  );
}

/** Deliveries, newest first; a delivered or dead-lettered one can be sent again. */
export function WebhookDeliveries() {
  const { t } = useI18n();
  const client = useQueryClient();
  const replay = useMutation({
    mutationFn: (id: string) => post<Row>(`/v1/webhooks/deliveries/${id}/replay`),
    onSuccess: () => client.invalidateQueries({ queryKey: ['deliveries'] }),
  });
  return (
    <>
      {replay.error && (
        <Alert
          type="error"
          showIcon
          data-testid="replay-error"
          message={errorText(replay.error)}
          style={{ marginBottom: 12 }}
        />
      )}
      {replay.data && (
        <Alert
          type="success"
          showIcon
          data-testid="replayed"
          message={t('developers.replayedAs', { id: String(replay.data.id) })}
          style={{ marginBottom: 12 }}
        />
      )}
      <CursorTable
        queryKey={['deliveries']}
        path="/v1/webhooks/deliveries"
        mode="before"
        columns={[
          { key: 'id' },
          { key: 'event_type' },
          { key: 'endpoint_id' },
          { key: 'callback_url' },
          { key: 'message_id' },
          { key: 'state', render: (v) => <StatusTag value={v} /> },
          { key: 'attempts' },
          { key: 'last_status' },
          { key: 'last_error' },
          { key: 'replay_of' },
          { key: 'created_at' },
        ]}
        actions={{
          key: 'actions',
          render: (_v, row) =>
            row.state === 'pending' ? null : (
              <Button
                size="small"
                data-testid={`replay-${String(row.id)}`}
                loading={replay.isPending && replay.variables === String(row.id)}
                onClick={() => replay.mutate(String(row.id))}
              >
                {t('developers.replay')}
              </Button>
            ),
        }}
      />
    </>
  );
}
