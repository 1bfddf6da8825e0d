// Operator staff: every member with their role and two-factor; add one (without a password, the
// API generates an initial one, shown here once), change a role (their sessions end) or remove
// one, each change confirmed. The API has no other status for staff than being there.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Form, Input, Modal, Popconfirm, Select, Space, Typography } from 'antd';
import { useState } from 'react';
import { del, patch, post } from '../../api.ts';
import { PageTitle, Section } from '../../components/Section.tsx';
import { errorText } from '../../components/states.tsx';
import { ListTable, type Row } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';

const ROLES = ['admin', 'reviewer', 'support'] as const;

function AddStaff({ onDone }: { onDone: () => void }) {
  const { t, tr } = useI18n();
  const client = useQueryClient();
  const add = useMutation({
    mutationFn: (v: { username: string; role: string; password?: string }) =>
      post<{ staff: { username: string }; initial_password?: string }>('/v1/operator/staff', {
        username: v.username.trim(),
        role: v.role,
        ...(v.password ? { password: v.password } : {}),
      }),
    onSuccess: () => client.invalidateQueries({ queryKey: ['op-staff'] }),
  });
  if (add.data)
    return (
      <>
        <Alert
          type="success"
          showIcon
          message={t('staff.added', { username: add.data.staff.username })}
          description={
            add.data.initial_password ? (
              <>
                {t('staff.initialPassword')}{' '}
                <Typography.Text code copyable data-testid="staff-initial-password">
                  {add.data.initial_password}
                </Typography.Text>
              </>
            ) : undefined
          }
          style={{ marginBottom: 12 }}
        />
        <Button onClick={onDone}>{t('action.close')}</Button>
      </>
    );
  return (
    <Form layout="vertical" initialValues={{ role: 'reviewer' }} onFinish={(v) => add.mutate(v)}>
      <Form.Item
        name="username"
        label={t('field.username')}
        rules={[{ required: true, whitespace: true, message: t('form.required') }]}
      >
        <Input maxLength={64} data-testid="staff-username" />
      </Form.Item>
      <Form.Item name="role" label={t('field.role')}>
        <Select data-testid="staff-role" options={ROLES.map((r) => ({ value: r, label: tr(`role.${r}`) }))} />
      </Form.Item>
      <Form.Item name="password" label={t('staff.password')} extra={t('staff.passwordHelp')}>
        <Input.Password maxLength={256} autoComplete="new-password" />
      </Form.Item>
      {add.error && (
        <Alert type="error" showIcon message={errorText(add.error)} style={{ marginBottom: 12 }} />
      )}
      <Space>
        <Button type="primary" htmlType="submit" loading={add.isPending} data-testid="staff-submit">
          {t('action.create')}
        </Button>
        <Button onClick={onDone}>{t('action.cancel')}</Button>
      </Space>
    </Form>
  );
}

export default function Staff() {
  const { t, tr } = useI18n();
  const client = useQueryClient();
  const [adding, setAdding] = useState(false);
  const [reRole, setReRole] = useState<{ row: Row; role: string } | null>(null);
  const refresh = () => client.invalidateQueries({ queryKey: ['op-staff'] });
  const change = useMutation({
    mutationFn: ({ id, role }: { id: string; role: string }) => patch(`/v1/operator/staff/${id}`, { role }),
    onSuccess: async () => {
      setReRole(null);
      await refresh();
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => del(`/v1/operator/staff/${id}`),
    onSuccess: refresh,
  });
  const error = remove.error;
  return (
    <>
      <PageTitle>{t('nav.staff')}</PageTitle>
      <Section
        title={t('nav.staff')}
        extra={
          <Button type="primary" onClick={() => setAdding(true)} data-testid="staff-new">
            {t('staff.new')}
          </Button>
        }
      >
        {error && <Alert type="error" showIcon message={errorText(error)} style={{ marginBottom: 12 }} />}
        <ListTable
          queryKey={['op-staff']}
          path="/v1/operator/staff"
          columns={[
            { key: 'id' },
            { key: 'username' },
            {
              key: 'role',
              render: (v, r) => (
                <Select
                  size="small"
                  value={String(v)}
                  style={{ width: 140 }}
                  data-testid={`staff-role-${String(r.username)}`}
                  onChange={(role) => setReRole({ row: r, role })}
                  options={ROLES.map((x) => ({ value: x, label: tr(`role.${x}`) }))}
                />
              ),
            },
            { key: 'two_factor' },
            { key: 'created_at' },
          ]}
          actions={{
            key: 'actions',
            render: (_v, row) => (
              <Popconfirm
                title={t('staff.removeConfirm', { username: String(row.username) })}
                okText={t('action.remove')}
                cancelText={t('action.cancel')}
                onConfirm={() => remove.mutate(String(row.id))}
              >
                <Button size="small" danger data-testid={`staff-remove-${String(row.username)}`}>
                  {t('action.remove')}
                </Button>
              </Popconfirm>
            ),
          }}
        />
      </Section>
      <Modal
        open={adding}
        title={t('staff.new')}
        footer={null}
        destroyOnHidden
        onCancel={() => setAdding(false)}
      >
        {adding && <AddStaff onDone={() => setAdding(false)} />}
      </Modal>
      <Modal
        open={reRole !== null}
        title={t('staff.changeRole')}
        okText={t('action.save')}
        cancelText={t('action.cancel')}
        okButtonProps={{ loading: change.isPending, id: 'staff-role-confirm' }}
        onCancel={() => {
          change.reset();
          setReRole(null);
        }}
        onOk={() => reRole && change.mutate({ id: String(reRole.row.id), role: reRole.role })}
        destroyOnHidden
      >
        {reRole && (
          <Typography.Paragraph>
            {t('staff.changeRoleHelp', {
              username: String(reRole.row.username),
              role: tr(`role.${reRole.role}`),
            })}
          </Typography.Paragraph>
        )}
        {change.error && <Alert type="error" showIcon message={errorText(change.error)} />}
      </Modal>
    </>
  );
}
