// Developers' access: the credential list with rotation (the old and the new key both work until
// the old one is revoked), revocation and a live credential's IP allowlist changed, and the SMPP
// accounts (the password shown once).
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Form, Input, InputNumber, Modal, Popconfirm, Space, Switch, Typography } from 'antd';
import { useState } from 'react';
import { patch, post } from '../../api.ts';
import { Section } from '../../components/Section.tsx';
import { errorText } from '../../components/states.tsx';
import { ListTable, type Row } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';

function SecretOnce({ label, secret, testId }: { label: string; secret: string; testId?: string }) {
  const { t } = useI18n();
  return (
    <Alert
      type="warning"
      showIcon
      style={{ marginBottom: 12 }}
      message={t('developers.secretOnce')}
      description={
        <>
          {label}{' '}
          <Typography.Text copyable code data-testid={testId}>
            {secret}
          </Typography.Text>
        </>
      }
    />
  );
}

/** Addresses or CIDRs as typed (commas or spaces between them) as the API's list. */
export function parseAllow(text: string | undefined): string[] {
  return (text ?? '')
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

function EditAllow({ credential, onDone }: { credential: Row; onDone: () => void }) {
  const { t } = useI18n();
  const client = useQueryClient();
  const save = useMutation({
    mutationFn: (v: { allow?: string }) =>
      patch(`/v1/credentials/${String(credential.id)}`, { allow: parseAllow(v.allow) }),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ['credentials'] });
      onDone();
    },
  });
  return (
    <Form
      layout="vertical"
      initialValues={{ allow: Array.isArray(credential.allow) ? credential.allow.join(', ') : '' }}
      onValuesChange={() => save.reset()}
      onFinish={(v: { allow?: string }) => save.mutate(v)}
    >
      <Form.Item name="allow" label={t('field.allow')} extra={t('developers.allowHelp')}>
        <Input placeholder="203.0.113.0/24, 2001:db8::/32" data-testid="credential-edit-allow" />
      </Form.Item>
      {save.error && (
        <Alert type="error" showIcon message={errorText(save.error)} style={{ marginBottom: 12 }} />
      )}
      <Space>
        <Button type="primary" htmlType="submit" loading={save.isPending} data-testid="credential-edit-save">
          {t('action.save')}
        </Button>
        <Button onClick={onDone}>{t('action.cancel')}</Button>
      </Space>
    </Form>
  );
}

export function CredentialList() {
  const { t, tr } = useI18n();
  const client = useQueryClient();
  const refresh = () => client.invalidateQueries({ queryKey: ['credentials'] });
  const rotate = useMutation({
    mutationFn: (id: string) =>
      post<{ credential: { app_key: string }; app_secret: string }>(`/v1/credentials/${id}/rotate`),
    onSuccess: refresh,
  });
  const revoke = useMutation({
    mutationFn: (id: string) => post(`/v1/credentials/${id}/revoke`),
    onSuccess: refresh,
  });
  const error = rotate.error ?? revoke.error;
  const [editing, setEditing] = useState<Row | null>(null);
  return (
    <>
      <Modal
        open={editing !== null}
        title={editing ? t('developers.editAllowTitle', { name: String(editing.name) }) : ''}
        footer={null}
        destroyOnHidden
        onCancel={() => setEditing(null)}
      >
        {editing && <EditAllow credential={editing} onDone={() => setEditing(null)} />}
      </Modal>
      {rotate.data && (
        <>
          <Alert type="info" showIcon style={{ marginBottom: 12 }} message={t('developers.rotated')} />
          <SecretOnce label={rotate.data.credential.app_key} secret={rotate.data.app_secret} />
        </>
      )}
      {error && <Alert type="error" showIcon message={errorText(error)} style={{ marginBottom: 12 }} />}
      <ListTable
        queryKey={['credentials']}
        path="/v1/credentials"
        columns={[
          { key: 'id' },
          { key: 'name' },
          { key: 'app_key' },
          {
            key: 'scopes',
            render: (v) => (Array.isArray(v) ? v.map((s) => tr(`scope.${String(s)}`)).join(', ') : '—'),
          },
          { key: 'allow', render: (v) => (Array.isArray(v) && v.length ? v.join(', ') : '*') },
          { key: 'rotated_from' },
          { key: 'last_used_at' },
          { key: 'revoked_at' },
        ]}
        actions={{
          key: 'actions',
          render: (_v, row: Row) =>
            row.revoked_at ? null : (
              <Space>
                <Button
                  size="small"
                  data-testid={`credential-allow-${String(row.id)}`}
                  onClick={() => setEditing(row)}
                >
                  {t('developers.editAllow')}
                </Button>
                <Button size="small" onClick={() => rotate.mutate(String(row.id))}>
                  {t('developers.rotate')}
                </Button>
                <Popconfirm
                  title={t('developers.revokeConfirm')}
                  okText={t('developers.revoke')}
                  cancelText={t('action.cancel')}
                  onConfirm={() => revoke.mutate(String(row.id))}
                >
                  <Button size="small" danger>
                    {t('developers.revoke')}
                  </Button>
                </Popconfirm>
              </Space>
            ),
        }}
      />
    </>
  );
}

interface SmppDraft {
  system_id?: string;
  allow?: string;
  window?: number;
  tps?: number;
  receive_replies?: boolean;
}

export function SmppAccounts() {
  const { t } = useI18n();
  const client = useQueryClient();
  const [form] = Form.useForm<SmppDraft>();
  const refresh = () => client.invalidateQueries({ queryKey: ['smpp-accounts'] });
  const create = useMutation({
    mutationFn: (v: SmppDraft) =>
      post<{ account: { system_id: string }; password: string }>('/v1/smpp-accounts', {
        ...(v.system_id?.trim() ? { system_id: v.system_id.trim() } : {}),
        allow: (v.allow ?? '')
          .split(/[\s,]+/)
          .map((s) => s.trim())
          .filter(Boolean),
        ...(v.window ? { window: v.window } : {}),
        ...(v.tps ? { tps: v.tps } : {}),
        receive_replies: v.receive_replies ?? false,
      }),
    onSuccess: () => {
      form.resetFields();
      return refresh();
    },
  });
  const disable = useMutation({
    mutationFn: (id: string) => post(`/v1/smpp-accounts/${id}/disable`),
    onSuccess: refresh,
  });
  const error = create.error ?? disable.error;
  return (
    <Section title={t('developers.smpp')}>
      <Typography.Paragraph type="secondary">{t('developers.smppHelp')}</Typography.Paragraph>
      <Form
        form={form}
        layout="inline"
        onFinish={(v) => create.mutate(v)}
        style={{ rowGap: 8, marginBottom: 12 }}
      >
        <Form.Item name="system_id" label={t('field.system_id')}>
          <Input maxLength={15} placeholder={t('developers.generated')} style={{ width: 150 }} />
        </Form.Item>
        <Form.Item name="allow" label={t('field.allow')}>
          <Input placeholder="203.0.113.0/24" style={{ width: 180 }} />
        </Form.Item>
        <Form.Item name="window" label={t('field.window')}>
          <InputNumber min={1} max={10_000} />
        </Form.Item>
        <Form.Item name="tps" label={t('field.tps')}>
          <InputNumber min={1} max={1_000_000} />
        </Form.Item>
        <Form.Item name="receive_replies" label={t('field.receive_replies')} valuePropName="checked">
          <Switch />
        </Form.Item>
        <Button type="primary" htmlType="submit" loading={create.isPending}>
          {t('action.create')}
        </Button>
      </Form>
      {create.data && (
        <SecretOnce
          label={`${t('field.system_id')}: ${create.data.account.system_id} · ${t('login.password')}:`}
          secret={create.data.password}
        />
      )}
      {error && <Alert type="error" showIcon message={errorText(error)} style={{ marginBottom: 12 }} />}
      <ListTable
        queryKey={['smpp-accounts']}
        path="/v1/smpp-accounts"
        columns={[
          { key: 'system_id' },
          { key: 'allow', render: (v) => (Array.isArray(v) && v.length ? v.join(', ') : '*') },
          { key: 'window' },
          { key: 'tps' },
          { key: 'receive_replies' },
          { key: 'last_bind_at' },
          { key: 'last_bind_address' },
          { key: 'disabled_at' },
        ]}
        actions={{
          key: 'actions',
          render: (_v, row: Row) =>
            row.disabled_at ? null : (
              <Popconfirm
                title={t('developers.disableConfirm')}
                okText={t('action.disable')}
                cancelText={t('action.cancel')}
                onConfirm={() => disable.mutate(String(row.id))}
              >
                <Button size="small" danger>
                  {t('action.disable')}
                </Button>
              </Popconfirm>
            ),
        }}
      />
    </Section>
  );
}
