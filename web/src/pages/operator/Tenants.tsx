// Tenants: newest first, a page at a time from the server (by status and part of the name), with a balance adjustment (credit or take parts, with a reason; audited)
// and its limits: the frequency caps per message type (GET/PATCH .../protection), two-factor and
// content retention (PATCH /v1/operator/tenants/{id}); suspend (with an optional reason) and
// reactivate, each confirmed in a dialog.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  Button,
  Form,
  Input,
  InputNumber,
  Modal,
  Select,
  Space,
  Switch,
  Table,
  Typography,
} from 'antd';
import { useState } from 'react';
import { get, patch, post } from '../../api.ts';
import { PageTitle } from '../../components/Section.tsx';
import { ErrorState, errorText, PageLoading } from '../../components/states.tsx';
import { CursorTable, type Row } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';

const TYPES = ['verification', 'notification', 'marketing'] as const;
const STATUSES = ['pending_review', 'active', 'suspended', 'rejected'] as const;
const WINDOWS = ['minute', 'hour', 'day'] as const;
type Caps = Record<(typeof TYPES)[number], Record<(typeof WINDOWS)[number], number | null>>;

function Adjust({ tenant, onDone }: { tenant: Row; onDone: () => void }) {
  const { t } = useI18n();
  const adjust = useMutation({
    mutationFn: (v: { parts: number; reason: string }) =>
      post<{ available: number }>(`/v1/operator/billing/tenants/${String(tenant.id)}/adjust`, v),
  });
  return (
    <Form layout="vertical" onFinish={(v: { parts: number; reason: string }) => adjust.mutate(v)}>
      <Typography.Paragraph type="secondary">{t('tenants.adjustHelp')}</Typography.Paragraph>
      <Form.Item
        name="parts"
        label={t('field.parts')}
        rules={[
          { required: true, message: t('form.required') },
          {
            validator: (_r, v) =>
              v === 0 ? Promise.reject(new Error(t('tenants.notZero'))) : Promise.resolve(),
          },
        ]}
      >
        <InputNumber min={-1_000_000_000} max={1_000_000_000} precision={0} style={{ width: 200 }} />
      </Form.Item>
      <Form.Item
        name="reason"
        label={t('field.reason')}
        rules={[{ required: true, whitespace: true, message: t('form.required') }]}
      >
        <Input maxLength={500} />
      </Form.Item>
      {adjust.error && (
        <Alert type="error" showIcon message={errorText(adjust.error)} style={{ marginBottom: 12 }} />
      )}
      {adjust.data && (
        <Alert
          type="success"
          showIcon
          message={t('tenants.adjusted', { available: adjust.data.available })}
          style={{ marginBottom: 12 }}
        />
      )}
      <Space>
        <Button type="primary" htmlType="submit" loading={adjust.isPending}>
          {t('action.submit')}
        </Button>
        <Button onClick={onDone}>{t('action.close')}</Button>
      </Space>
    </Form>
  );
}

/** Suspend (sending and logins stop at once, queued messages are held) or reactivate, confirmed. */
function StatusChange({
  tenant,
  action,
  onDone,
}: {
  tenant: Row;
  action: 'suspend' | 'activate';
  onDone: () => void;
}) {
  const { t } = useI18n();
  const client = useQueryClient();
  const [reason, setReason] = useState('');
  const change = useMutation({
    mutationFn: () =>
      post(
        `/v1/operator/tenants/${String(tenant.id)}/${action}`,
        action === 'suspend' && reason.trim() !== '' ? { reason: reason.trim() } : undefined,
      ),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ['op-tenants'] });
      onDone();
    },
  });
  return (
    <>
      <Typography.Paragraph>
        {action === 'suspend' ? t('tenants.suspendHelp') : t('tenants.activateHelp')}
      </Typography.Paragraph>
      {action === 'suspend' && (
        <Input.TextArea
          rows={3}
          maxLength={500}
          placeholder={t('tenants.suspendReason')}
          value={reason}
          onChange={(e) => setReason(e.target.value)}
          data-testid="suspend-reason"
        />
      )}
      {change.error && (
        <Alert type="error" showIcon message={errorText(change.error)} style={{ marginTop: 12 }} />
      )}
      <Space style={{ marginTop: 16 }}>
        <Button
          type="primary"
          danger={action === 'suspend'}
          loading={change.isPending}
          onClick={() => change.mutate()}
          data-testid="status-confirm"
        >
          {action === 'suspend' ? t('tenants.suspend') : t('tenants.activate')}
        </Button>
        <Button onClick={onDone}>{t('action.cancel')}</Button>
      </Space>
    </>
  );
}

function Limits({ tenant, onDone }: { tenant: Row; onDone: () => void }) {
  const { t, tr } = useI18n();
  const client = useQueryClient();
  const id = String(tenant.id);
  const protection = useQuery({
    queryKey: ['op-protection', id],
    queryFn: () => get<{ caps: Caps }>(`/v1/operator/tenants/${id}/protection`),
  });
  const [caps, setCaps] = useState<Caps | null>(null);
  const [twoFactor, setTwoFactor] = useState(Boolean(tenant.require_two_factor));
  const [retention, setRetention] = useState<number | null>(
    (tenant.content_retention_days as number | null) ?? null,
  );
  const save = useMutation({
    mutationFn: async () => {
      if (caps) await patch(`/v1/operator/tenants/${id}/protection`, { caps });
      await patch(`/v1/operator/tenants/${id}`, {
        require_two_factor: twoFactor,
        content_retention_days: retention,
      });
    },
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ['op-tenants'] });
      await client.invalidateQueries({ queryKey: ['op-protection', id] });
      onDone();
    },
  });
  if (protection.isPending) return <PageLoading />;
  if (protection.error)
    return <ErrorState error={protection.error} retry={() => void protection.refetch()} />;
  const shown = caps ?? protection.data.caps;
  const setCap = (type: (typeof TYPES)[number], window: (typeof WINDOWS)[number], value: number | null) =>
    setCaps({ ...shown, [type]: { ...shown[type], [window]: value } });
  return (
    <>
      <Typography.Title level={5}>{t('tenants.caps')}</Typography.Title>
      <Typography.Paragraph type="secondary">{t('tenants.capsHelp')}</Typography.Paragraph>
      <Table
        size="small"
        pagination={false}
        rowKey="type"
        dataSource={TYPES.map((type) => ({ type }))}
        columns={[
          { key: 'type', title: t('field.type'), render: (_v, r) => tr(`type.${r.type}`) },
          ...WINDOWS.map((w) => ({
            key: w,
            title: tr(`window.${w}`),
            render: (_v: unknown, r: { type: (typeof TYPES)[number] }) => (
              <InputNumber
                min={0}
                precision={0}
                value={shown[r.type][w]}
                placeholder="∞"
                onChange={(v) => setCap(r.type, w, v)}
                style={{ width: 90 }}
              />
            ),
          })),
        ]}
      />
      <Space direction="vertical" style={{ marginTop: 16 }}>
        <Space>
          <span>{t('field.require_two_factor')}</span>
          <Switch checked={twoFactor} onChange={setTwoFactor} />
        </Space>
        <Space>
          <span>{t('field.content_retention_days')}</span>
          <InputNumber
            min={1}
            max={36_500}
            value={retention}
            onChange={setRetention}
            placeholder={t('tenants.default')}
            style={{ width: 160 }}
          />
        </Space>
      </Space>
      {save.error && (
        <Alert type="error" showIcon message={errorText(save.error)} style={{ marginTop: 12 }} />
      )}
      <div style={{ marginTop: 16 }}>
        <Button type="primary" loading={save.isPending} onClick={() => save.mutate()}>
          {t('action.save')}
        </Button>
      </div>
    </>
  );
}

export default function Tenants() {
  const { t } = useI18n();
  const [status, setStatus] = useState<string | undefined>();
  const [name, setName] = useState('');
  const [open, setOpen] = useState<{
    tenant: Row;
    kind: 'adjust' | 'limits' | 'suspend' | 'activate';
  } | null>(null);
  const titles = {
    adjust: t('tenants.adjust'),
    limits: t('tenants.limits'),
    suspend: t('tenants.suspend'),
    activate: t('tenants.activate'),
  };
  return (
    <>
      <PageTitle>{t('nav.tenants')}</PageTitle>
      <Space wrap style={{ marginBottom: 12 }}>
        <Input.Search
          allowClear
          style={{ width: 240 }}
          placeholder={t('tenants.searchName')}
          aria-label={t('tenants.searchName')}
          data-testid="tenants-search"
          onSearch={(v) => setName(v.trim())}
        />
        <Select
          allowClear
          style={{ width: 180 }}
          placeholder={t('field.status')}
          aria-label={t('field.status')}
          data-testid="tenants-status"
          value={status}
          onChange={(v: string | undefined) => setStatus(v)}
          options={STATUSES.map((v) => ({ value: v, label: t(`status.${v}`) }))}
        />
      </Space>
      <CursorTable
        queryKey={['op-tenants']}
        path="/v1/operator/tenants"
        mode="before"
        query={{ status, q: name || undefined }}
        columns={[
          { key: 'id' },
          { key: 'name' },
          { key: 'status' },
          { key: 'status_reason' },
          { key: 'sender_code' },
          { key: 'require_two_factor' },
          { key: 'content_retention_days' },
          { key: 'created_at' },
        ]}
        actions={{
          key: 'actions',
          render: (_v, row) => (
            <Space>
              <Button size="small" onClick={() => setOpen({ tenant: row, kind: 'adjust' })}>
                {t('tenants.adjust')}
              </Button>
              <Button size="small" onClick={() => setOpen({ tenant: row, kind: 'limits' })}>
                {t('tenants.limits')}
              </Button>
              {row.status === 'active' && (
                <Button
                  size="small"
                  danger
                  data-testid={`suspend-${String(row.id)}`}
                  onClick={() => setOpen({ tenant: row, kind: 'suspend' })}
                >
                  {t('tenants.suspend')}
                </Button>
              )}
              {row.status === 'suspended' && (
                <Button
                  size="small"
                  data-testid={`activate-${String(row.id)}`}
                  onClick={() => setOpen({ tenant: row, kind: 'activate' })}
                >
                  {t('tenants.activate')}
                </Button>
              )}
            </Space>
          ),
        }}
      />
      <Modal
        open={open !== null}
        title={open ? `${titles[open.kind]} — ${String(open.tenant.name)}` : ''}
        footer={null}
        destroyOnHidden
        width={640}
        onCancel={() => setOpen(null)}
      >
        {open?.kind === 'adjust' && <Adjust tenant={open.tenant} onDone={() => setOpen(null)} />}
        {open?.kind === 'limits' && <Limits tenant={open.tenant} onDone={() => setOpen(null)} />}
        {(open?.kind === 'suspend' || open?.kind === 'activate') && (
          <StatusChange tenant={open.tenant} action={open.kind} onDone={() => setOpen(null)} />
        )}
      </Modal>
    </>
  );
}
