// Security settings of the signed-in account: two-factor (enrol with the QR code or the secret the
// API gives once, confirm with a first code, which answers recovery codes shown once; turn off with
// the password), change password (which ends every other session), and the account's own live
// sessions (sign one out, or every other one).
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Form, Input, Popconfirm, QRCode, Space, Table, Tag, Typography } from 'antd';
import { del, get, post } from '../../api.ts';
import { PageTitle, Section } from '../../components/Section.tsx';
import { EmptyState, ErrorState, errorText, PageLoading } from '../../components/states.tsx';
import { formatValue } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';

interface MeWithTwoFactor {
  login: string;
  stage: string;
  two_factor?: { enabled: boolean; required: boolean; recovery_codes_left: number };
}

interface OwnSession {
  id: string;
  current: boolean;
  ip: string | null;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
}

function TwoFactor() {
  const { t } = useI18n();
  const client = useQueryClient();
  const me = useQuery({ queryKey: ['me'], queryFn: () => get<MeWithTwoFactor>('/v1/auth/me') });
  const enrol = useMutation({
    mutationFn: () => post<{ secret: string; otpauth_uri: string }>('/v1/auth/two-factor'),
  });
  const confirm = useMutation({
    mutationFn: (code: string) => post<{ recovery_codes: string[] }>('/v1/auth/two-factor/confirm', { code }),
    onSuccess: async () => {
      enrol.reset();
      await client.invalidateQueries({ queryKey: ['me'] });
      await client.invalidateQueries({ queryKey: ['own-sessions'] });
    },
  });
  const disable = useMutation({
    mutationFn: (password: string) => post('/v1/auth/two-factor/disable', { password }),
    onSuccess: async () => {
      confirm.reset();
      await client.invalidateQueries({ queryKey: ['me'] });
    },
  });

  if (me.isPending) return <PageLoading />;
  if (me.error) return <ErrorState error={me.error} retry={() => void me.refetch()} />;
  const state = me.data.two_factor;
  const enabled = state?.enabled ?? false;

  return (
    <Section
      title={t('security.twoFactor')}
      extra={
        <Tag color={enabled ? 'green' : 'default'} data-testid="two-factor-state">
          {enabled ? t('security.twoFactorOn') : t('security.twoFactorOff')}
        </Tag>
      }
    >
      {state?.required && (
        <Alert type="info" showIcon message={t('security.twoFactorRequired')} style={{ marginBottom: 12 }} />
      )}
      {confirm.data && (
        <Alert
          type="warning"
          showIcon
          style={{ marginBottom: 12 }}
          message={t('security.recoveryCodes')}
          description={
            <Typography.Paragraph copyable={{ text: confirm.data.recovery_codes.join('\n') }}>
              <code data-testid="recovery-codes" style={{ whiteSpace: 'pre-line' }}>
                {confirm.data.recovery_codes.join('\n')}
              </code>
            </Typography.Paragraph>
          }
        />
      )}
      {enabled ? (
        <>
          <Typography.Paragraph>
            {t('security.recoveryLeft', { n: state?.recovery_codes_left ?? 0 })}
          </Typography.Paragraph>
          {!state?.required && (
            <Form
              layout="inline"
              onFinish={(v: { password: string }) => disable.mutate(v.password)}
              style={{ rowGap: 8 }}
            >
              <Form.Item
                name="password"
                label={t('login.password')}
                rules={[{ required: true, message: t('form.required') }]}
              >
                <Input.Password autoComplete="current-password" data-testid="two-factor-disable-password" />
              </Form.Item>
              <Button danger htmlType="submit" loading={disable.isPending}>
                {t('security.twoFactorDisable')}
              </Button>
            </Form>
          )}
        </>
      ) : enrol.data ? (
        <>
          <Typography.Paragraph>{t('security.scan')}</Typography.Paragraph>
          <Space align="start" wrap size="large" style={{ marginBottom: 12 }}>
            <QRCode value={enrol.data.otpauth_uri} size={180} />
            <div>
              <Typography.Text type="secondary">{t('security.secret')}</Typography.Text>
              <br />
              <Typography.Text copyable code data-testid="two-factor-secret">
                {enrol.data.secret}
              </Typography.Text>
            </div>
          </Space>
          <Form
            layout="inline"
            onFinish={(v: { code: string }) => confirm.mutate(v.code.trim())}
            style={{ rowGap: 8 }}
          >
            <Form.Item
              name="code"
              label={t('login.code')}
              rules={[{ required: true, pattern: /^\s*\d{6}\s*$/, message: t('security.codeFormat') }]}
            >
              <Input
                inputMode="numeric"
                autoComplete="one-time-code"
                maxLength={6}
                style={{ width: 120 }}
                data-testid="two-factor-code"
              />
            </Form.Item>
            <Space>
              <Button type="primary" htmlType="submit" loading={confirm.isPending}>
                {t('security.twoFactorConfirm')}
              </Button>
              <Button onClick={() => enrol.reset()}>{t('action.cancel')}</Button>
            </Space>
          </Form>
        </>
      ) : (
        <>
          <Typography.Paragraph>{t('security.twoFactorHelp')}</Typography.Paragraph>
          <Button type="primary" loading={enrol.isPending} onClick={() => enrol.mutate()}>
            {t('security.twoFactorEnrol')}
          </Button>
        </>
      )}
      {disable.isSuccess && !enabled && (
        <Alert type="success" showIcon message={t('security.twoFactorDisabled')} style={{ marginTop: 12 }} />
      )}
      {(enrol.error ?? confirm.error ?? disable.error) && (
        <Alert
          type="error"
          showIcon
          message={errorText(enrol.error ?? confirm.error ?? disable.error)}
          style={{ marginTop: 12 }}
        />
      )}
    </Section>
  );
}

interface PasswordValues {
  current_password: string;
  new_password: string;
  repeat: string;
}

function ChangePassword() {
  const { t } = useI18n();
  const client = useQueryClient();
  const [form] = Form.useForm<PasswordValues>();
  const change = useMutation({
    mutationFn: (v: PasswordValues) =>
      post('/v1/auth/password', { current_password: v.current_password, new_password: v.new_password }),
    onSuccess: async () => {
      form.resetFields();
      await client.invalidateQueries({ queryKey: ['own-sessions'] });
    },
  });
  return (
    <Section title={t('security.password')}>
      <Form<PasswordValues>
        form={form}
        layout="vertical"
        style={{ maxWidth: 360 }}
        onValuesChange={() => change.reset()}
        onFinish={(v) => change.mutate(v)}
      >
        <Form.Item
          name="current_password"
          label={t('security.currentPassword')}
          rules={[{ required: true, message: t('form.required') }]}
        >
          <Input.Password autoComplete="current-password" />
        </Form.Item>
        <Form.Item
          name="new_password"
          label={t('security.newPassword')}
          rules={[{ required: true, message: t('form.required') }]}
        >
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Form.Item
          name="repeat"
          label={t('security.repeatPassword')}
          dependencies={['new_password']}
          rules={[
            { required: true, message: t('form.required') },
            ({ getFieldValue }) => ({
              validator: (_rule, value) =>
                !value || value === getFieldValue('new_password')
                  ? Promise.resolve()
                  : Promise.reject(new Error(t('security.passwordsDiffer'))),
            }),
          ]}
        >
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Button type="primary" htmlType="submit" loading={change.isPending}>
          {t('security.changePassword')}
        </Button>
      </Form>
      {change.isSuccess && (
        <Alert type="success" showIcon message={t('security.passwordChanged')} style={{ marginTop: 12 }} />
      )}
      {change.error && (
        <Alert type="error" showIcon message={errorText(change.error)} style={{ marginTop: 12 }} />
      )}
    </Section>
  );
}

function Sessions() {
  const { t } = useI18n();
  const client = useQueryClient();
  const sessions = useQuery({
    queryKey: ['own-sessions'],
    queryFn: () => get<{ sessions: OwnSession[] }>('/v1/auth/sessions'),
  });
  const refresh = () => client.invalidateQueries({ queryKey: ['own-sessions'] });
  const end = useMutation({
    mutationFn: (id: string) => del(`/v1/auth/sessions/${id}`),
    onSettled: refresh,
  });
  const endOthers = useMutation({
    mutationFn: async (ids: string[]) => {
      for (const id of ids) await del(`/v1/auth/sessions/${id}`);
    },
    onSettled: refresh,
  });
  const rows = sessions.data?.sessions ?? [];
  const others = rows.filter((s) => !s.current).map((s) => s.id);
  const error = end.error ?? endOthers.error;
  return (
    <Section
      title={t('security.sessions')}
      extra={
        <Popconfirm
          title={t('security.endOthersConfirm')}
          okText={t('security.endOthers')}
          cancelText={t('action.cancel')}
          onConfirm={() => endOthers.mutate(others)}
          disabled={others.length === 0}
        >
          <Button danger disabled={others.length === 0} loading={endOthers.isPending}>
            {t('security.endOthers')}
          </Button>
        </Popconfirm>
      }
    >
      {error && <Alert type="error" showIcon message={errorText(error)} style={{ marginBottom: 12 }} />}
      {sessions.error ? (
        <ErrorState error={sessions.error} retry={() => void sessions.refetch()} />
      ) : (
        <Table<OwnSession>
          size="small"
          scroll={{ x: true }}
          loading={sessions.isPending}
          rowKey="id"
          dataSource={rows}
          pagination={false}
          locale={{ emptyText: <EmptyState /> }}
          columns={[
            {
              key: 'ip',
              title: t('security.address'),
              render: (_v, s) => (
                <Space>
                  {formatValue(s.ip)}
                  {s.current && <Tag color="blue">{t('security.thisSession')}</Tag>}
                </Space>
              ),
            },
            {
              key: 'created_at',
              title: t('security.signedIn'),
              render: (_v, s) => formatValue(s.created_at),
            },
            {
              key: 'last_seen_at',
              title: t('security.lastSeen'),
              render: (_v, s) => formatValue(s.last_seen_at),
            },
            {
              key: 'expires_at',
              title: t('security.expires'),
              render: (_v, s) => formatValue(s.expires_at),
            },
            {
              key: 'actions',
              title: '',
              render: (_v, s) =>
                s.current ? null : (
                  <Button
                    size="small"
                    danger
                    loading={end.isPending && end.variables === s.id}
                    onClick={() => end.mutate(s.id)}
                  >
                    {t('security.endSession')}
                  </Button>
                ),
            },
          ]}
        />
      )}
    </Section>
  );
}

export default function Security() {
  const { t } = useI18n();
  return (
    <>
      <PageTitle>{t('nav.security')}</PageTitle>
      <TwoFactor />
      <ChangePassword />
      <Sessions />
    </>
  );
}
