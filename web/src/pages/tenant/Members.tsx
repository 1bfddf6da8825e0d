// Members of the tenant and their roles: add one (an initial password given or generated and shown
// once), change a role, reset a password (a new one shown once), remove. The API refuses what the
// caller may not do (an admin touching an owner, the last owner leaving) with its code, shown here.
// One's own row has no actions: one's own account is on the Security page.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Form, Input, Popconfirm, Select, Space, Typography } from 'antd';
import { del, patch, post } from '../../api.ts';
import { useMe } from '../../components/ConsoleLayout.tsx';
import { PageTitle, Section } from '../../components/Section.tsx';
import { errorText } from '../../components/states.tsx';
import { ListTable, type Row } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';

const ROLES = ['owner', 'admin', 'developer', 'sender', 'finance', 'viewer'] as const;

interface NewMember {
  email: string;
  role: string;
  password?: string;
}

function ShownOnce({ label, secret }: { label: string; secret: string }) {
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
          <Typography.Text copyable code data-testid="member-password">
            {secret}
          </Typography.Text>
        </>
      }
    />
  );
}

export default function Members() {
  const { t, tr } = useI18n();
  const me = useMe();
  const client = useQueryClient();
  const [form] = Form.useForm<NewMember>();
  const refresh = () => client.invalidateQueries({ queryKey: ['members'] });
  const roleOptions = ROLES.map((r) => ({ value: r, label: tr(`role.${r}`) }));

  const add = useMutation({
    mutationFn: (v: NewMember) =>
      post<{ member: Row; initial_password?: string }>('/v1/members', {
        email: v.email.trim(),
        role: v.role,
        ...(v.password ? { password: v.password } : {}),
      }),
    onSuccess: () => {
      form.resetFields();
      return refresh();
    },
  });
  const changeRole = useMutation({
    mutationFn: (v: { id: string; role: string }) => patch<Row>(`/v1/members/${v.id}`, { role: v.role }),
    onSettled: refresh,
  });
  const resetPassword = useMutation({
    mutationFn: (row: Row) =>
      post<{ password: string }>(`/v1/members/${String(row.id)}/password-reset`).then((r) => ({
        email: String(row.email),
        password: r.password,
      })),
  });
  const remove = useMutation({
    mutationFn: (id: string) => del(`/v1/members/${id}`),
    onSettled: refresh,
  });
  const error = add.error ?? changeRole.error ?? resetPassword.error ?? remove.error;
  const isMe = (row: Row) => String(row.id) === String(me.id);

  return (
    <>
      <PageTitle>{t('nav.members')}</PageTitle>
      <Section title={t('members.add')}>
        <Form<NewMember>
          form={form}
          layout="inline"
          initialValues={{ role: 'viewer' }}
          onValuesChange={() => add.reset()}
          onFinish={(v) => add.mutate(v)}
          style={{ rowGap: 8 }}
        >
          <Form.Item
            name="email"
            label={t('field.email')}
            rules={[{ required: true, whitespace: true, message: t('form.required') }]}
          >
            <Input maxLength={320} autoComplete="off" data-testid="member-email" style={{ width: 240 }} />
          </Form.Item>
          <Form.Item name="role" label={t('field.role')}>
            <Select options={roleOptions} data-testid="member-role" style={{ width: 140 }} />
          </Form.Item>
          <Form.Item
            name="password"
            label={t('login.password')}
            tooltip={t('members.passwordHelp')}
            rules={[{ min: 10, message: t('members.passwordHelp') }]}
          >
            <Input.Password autoComplete="new-password" style={{ width: 200 }} />
          </Form.Item>
          <Button type="primary" htmlType="submit" loading={add.isPending} data-testid="member-add">
            {t('action.create')}
          </Button>
        </Form>
      </Section>
      {add.data?.initial_password && (
        <ShownOnce
          label={t('members.initialPassword', { email: String(add.data.member.email) })}
          secret={add.data.initial_password}
        />
      )}
      {resetPassword.data && (
        <ShownOnce
          label={t('members.newPassword', { email: resetPassword.data.email })}
          secret={resetPassword.data.password}
        />
      )}
      {changeRole.isSuccess && (
        <Alert type="success" showIcon message={t('members.roleChanged')} style={{ marginBottom: 12 }} />
      )}
      {error && (
        <Alert
          type="error"
          showIcon
          data-testid="member-error"
          message={errorText(error)}
          style={{ marginBottom: 12 }}
        />
      )}
      <ListTable
        queryKey={['members']}
        path="/v1/members"
        columns={[
          { key: 'email' },
          {
            key: 'role',
            render: (v, row) =>
              isMe(row) ? (
                tr(`role.${String(v)}`)
              ) : (
                <Select
                  size="small"
                  value={String(v)}
                  options={roleOptions}
                  aria-label={`${t('field.role')} ${String(row.email)}`}
                  data-testid={`member-role-${String(row.email)}`}
                  style={{ width: 130 }}
                  disabled={changeRole.isPending}
                  onChange={(role: string) => {
                    resetPassword.reset();
                    changeRole.mutate({ id: String(row.id), role });
                  }}
                />
              ),
          },
          { key: 'two_factor' },
          { key: 'created_at' },
        ]}
        actions={{
          key: 'actions',
          render: (_v, row) =>
            isMe(row) ? null : (
              <Space>
                <Popconfirm
                  title={t('members.resetConfirm')}
                  okText={t('members.resetPassword')}
                  cancelText={t('action.cancel')}
                  onConfirm={() => resetPassword.mutate(row)}
                >
                  <Button size="small">{t('members.resetPassword')}</Button>
                </Popconfirm>
                <Popconfirm
                  title={t('members.removeConfirm', { email: String(row.email) })}
                  okText={t('members.remove')}
                  cancelText={t('action.cancel')}
                  onConfirm={() => remove.mutate(String(row.id))}
                >
                  <Button size="small" danger data-testid={`member-remove-${String(row.email)}`}>
                    {t('members.remove')}
                  </Button>
                </Popconfirm>
              </Space>
            ),
        }}
      />
    </>
  );
}
