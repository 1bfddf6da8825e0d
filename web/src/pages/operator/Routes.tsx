// The route table, in the order rules are tried: each route's filters (absent: any) and channel
// group (tiers in order of preference, weights within a tier); routes added, changed whole (PUT)
// and removed. Workers pick up a change at their next channel sync.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Form, Input, InputNumber, Modal, Popconfirm, Select, Space } from 'antd';
import { useState } from 'react';
import { api, del, get, post } from '../../api.ts';
import { PageTitle, Section } from '../../components/Section.tsx';
import { errorText } from '../../components/states.tsx';
import { ListTable, type Row } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';

const TYPES = ['verification', 'notification', 'marketing'];
const CARRIERS = ['cmcc', 'cucc', 'ctcc', 'cbn', 'satellite', 'unknown', 'intl'];

interface Member {
  channel: string;
  tier?: number;
  weight?: number;
}
interface RouteForm {
  position?: number | null;
  tenant_id?: number | null;
  message_type?: string | null;
  carrier?: string | null;
  country_prefix?: string;
  signature?: string;
  description?: string;
  channels: Member[];
}

const blankToNull = (v: string | undefined) => (v === undefined || v.trim() === '' ? null : v.trim());

/** What the form holds, as the API's body: empty filters match anything. */
function bodyOf(v: RouteForm) {
  return {
    ...(v.position == null ? {} : { position: v.position }),
    tenant_id: v.tenant_id ?? null,
    message_type: v.message_type ?? null,
    carrier: v.carrier ?? null,
    country_prefix: blankToNull(v.country_prefix),
    signature: blankToNull(v.signature),
    description: v.description?.trim() ?? '',
    channels: v.channels.map((m) => ({ channel: m.channel, tier: m.tier ?? 1, weight: m.weight ?? 1 })),
  };
}

function formOf(route: Row): RouteForm {
  const members = Array.isArray(route.channels)
    ? (route.channels as { channel: string; tier: number; weight: number }[])
    : [];
  return {
    position: route.position as number,
    tenant_id: (route.tenant_id as number | null) ?? null,
    message_type: (route.message_type as string | null) ?? null,
    carrier: (route.carrier as string | null) ?? null,
    country_prefix: (route.country_prefix as string | null) ?? '',
    signature: (route.signature as string | null) ?? '',
    description: String(route.description ?? ''),
    channels: members.map((m) => ({ channel: m.channel, tier: m.tier, weight: m.weight })),
  };
}

function RouteEditor({ route, onDone }: { route: Row | null; onDone: () => void }) {
  const { t, tr } = useI18n();
  const client = useQueryClient();
  const channels = useQuery({
    queryKey: ['op-channels', undefined],
    queryFn: () => get<{ data: { id: number; name: string }[] }>('/v1/operator/channels'),
  });
  const save = useMutation({
    mutationFn: (v: RouteForm) =>
      route
        ? api('PUT', `/v1/operator/routes/${String(route.id)}`, bodyOf(v))
        : post('/v1/operator/routes', bodyOf(v)),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ['op-routes'] });
      onDone();
    },
  });
  const channelOptions = (channels.data?.data ?? []).map((c) => ({ value: c.name, label: c.name }));
  return (
    <Form<RouteForm>
      layout="vertical"
      initialValues={route ? formOf(route) : { channels: [{ channel: undefined, tier: 1, weight: 1 }] }}
      onFinish={(v) => save.mutate(v)}
    >
      <Space wrap>
        <Form.Item name="position" label={t('field.position')} tooltip={t('routes.positionHelp')}>
          <InputNumber min={0} max={1_000_000} precision={0} data-testid="route-position" />
        </Form.Item>
        <Form.Item name="tenant_id" label={t('field.tenant_id')}>
          <InputNumber min={1} precision={0} placeholder={t('routes.any')} />
        </Form.Item>
        <Form.Item name="message_type" label={t('field.message_type')}>
          <Select
            allowClear
            placeholder={t('routes.any')}
            style={{ width: 160 }}
            data-testid="route-type"
            options={TYPES.map((v) => ({ value: v, label: tr(`type.${v}`) }))}
          />
        </Form.Item>
        <Form.Item name="carrier" label={t('field.carrier')}>
          <Select
            allowClear
            placeholder={t('routes.any')}
            style={{ width: 160 }}
            data-testid="route-carrier"
            options={CARRIERS.map((v) => ({ value: v, label: tr(`carrier.${v}`) }))}
          />
        </Form.Item>
        <Form.Item name="country_prefix" label={t('field.country_prefix')}>
          <Input maxLength={6} placeholder={t('routes.any')} style={{ width: 120 }} />
        </Form.Item>
        <Form.Item name="signature" label={t('field.signature')}>
          <Input maxLength={40} placeholder={t('routes.any')} style={{ width: 160 }} />
        </Form.Item>
      </Space>
      <Form.Item name="description" label={t('field.description')}>
        <Input maxLength={500} data-testid="route-description" />
      </Form.Item>
      <Form.List name="channels">
        {(fields, { add, remove }) => (
          <>
            {fields.map((field, i) => (
              <Space key={field.key} align="baseline" wrap>
                <Form.Item
                  name={[field.name, 'channel']}
                  label={i === 0 ? t('field.channel') : undefined}
                  rules={[{ required: true, message: t('form.required') }]}
                >
                  <Select
                    style={{ width: 200 }}
                    loading={channels.isPending}
                    options={channelOptions}
                    data-testid={`route-channel-${i}`}
                  />
                </Form.Item>
                <Form.Item
                  name={[field.name, 'tier']}
                  label={i === 0 ? t('field.tier') : undefined}
                  tooltip={i === 0 ? t('routes.tierHelp') : undefined}
                >
                  <InputNumber min={1} max={9} precision={0} data-testid={`route-tier-${i}`} />
                </Form.Item>
                <Form.Item name={[field.name, 'weight']} label={i === 0 ? t('field.weight') : undefined}>
                  <InputNumber min={1} max={10_000} precision={0} data-testid={`route-weight-${i}`} />
                </Form.Item>
                {fields.length > 1 && (
                  <Button type="link" danger onClick={() => remove(field.name)}>
                    {t('action.remove')}
                  </Button>
                )}
              </Space>
            ))}
            <Form.Item>
              <Button onClick={() => add({ tier: 1, weight: 1 })} data-testid="route-add-channel">
                {t('routes.addChannel')}
              </Button>
            </Form.Item>
          </>
        )}
      </Form.List>
      {channels.error && <Alert type="error" showIcon message={errorText(channels.error)} />}
      {save.error && (
        <Alert type="error" showIcon message={errorText(save.error)} style={{ marginBottom: 12 }} />
      )}
      <Space>
        <Button type="primary" htmlType="submit" loading={save.isPending} data-testid="route-save">
          {t('action.save')}
        </Button>
        <Button onClick={onDone}>{t('action.cancel')}</Button>
      </Space>
    </Form>
  );
}

/** A channel group as read: tiers in order, each channel with its weight. */
function Group({ members }: { members: unknown }) {
  const { t } = useI18n();
  if (!Array.isArray(members)) return <>—</>;
  const list = members as { channel: string; tier: number; weight: number }[];
  const tiers = [...new Set(list.map((m) => m.tier))].sort((a, b) => a - b);
  return (
    <>
      {tiers
        .map(
          (tier) =>
            `${t('routes.tier', { n: tier })}: ${list
              .filter((m) => m.tier === tier)
              .map((m) => `${m.channel}×${m.weight}`)
              .join(', ')}`,
        )
        .join(' › ')}
    </>
  );
}

export default function Routes() {
  const { t, tr } = useI18n();
  const client = useQueryClient();
  const [editing, setEditing] = useState<{ route: Row | null } | null>(null);
  const remove = useMutation({
    mutationFn: (id: string) => del(`/v1/operator/routes/${id}`),
    onSuccess: () => client.invalidateQueries({ queryKey: ['op-routes'] }),
  });
  const any = (v: unknown, label?: (s: string) => string) =>
    v === null || v === undefined || v === '' ? t('routes.any') : label ? label(String(v)) : String(v);
  return (
    <>
      <PageTitle>{t('nav.routes')}</PageTitle>
      <Section
        title={t('routes.table')}
        extra={
          <Button type="primary" onClick={() => setEditing({ route: null })} data-testid="route-new">
            {t('routes.new')}
          </Button>
        }
      >
        {remove.error && (
          <Alert type="error" showIcon message={errorText(remove.error)} style={{ marginBottom: 12 }} />
        )}
        <ListTable
          queryKey={['op-routes']}
          path="/v1/operator/routes"
          columns={[
            { key: 'position' },
            { key: 'id' },
            { key: 'tenant_id', render: (v) => any(v) },
            { key: 'message_type', render: (v) => any(v, (s) => tr(`type.${s}`)) },
            { key: 'carrier', render: (v) => any(v, (s) => tr(`carrier.${s}`)) },
            { key: 'country_prefix', render: (v) => any(v) },
            { key: 'signature', render: (v) => any(v) },
            { key: 'description' },
            {
              key: 'channels',
              render: (v, r) => (
                <span data-testid={`route-group-${String(r.id)}`}>
                  <Group members={v} />
                </span>
              ),
            },
          ]}
          actions={{
            key: 'actions',
            render: (_v, row) => (
              <Space>
                <Button
                  size="small"
                  onClick={() => setEditing({ route: row })}
                  data-testid={`route-edit-${String(row.id)}`}
                >
                  {t('action.edit')}
                </Button>
                <Popconfirm
                  title={t('routes.removeConfirm')}
                  okText={t('action.remove')}
                  cancelText={t('action.cancel')}
                  onConfirm={() => remove.mutate(String(row.id))}
                >
                  <Button size="small" danger data-testid={`route-remove-${String(row.id)}`}>
                    {t('action.remove')}
                  </Button>
                </Popconfirm>
              </Space>
            ),
          }}
        />
      </Section>
      <Modal
        open={editing !== null}
        title={editing?.route ? t('routes.edit', { id: String(editing.route.id) }) : t('routes.new')}
        footer={null}
        destroyOnHidden
        width={760}
        onCancel={() => setEditing(null)}
      >
        {editing && <RouteEditor route={editing.route} onDone={() => setEditing(null)} />}
      </Modal>
    </>
  );
}
