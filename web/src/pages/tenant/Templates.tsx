// Templates: the rules engine's findings shown before submitting, apply, review state and reasons,
// and a rejected template edited and sent back to review (PATCH /v1/templates/{id}).
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Form, Input, Modal, Select, Space } from 'antd';
import { useState } from 'react';
import { patch, post } from '../../api.ts';
import { type Finding, Findings } from '../../components/Findings.tsx';
import { ReviewState } from '../../components/ReviewState.tsx';
import { PageTitle, Section } from '../../components/Section.tsx';
import { errorText } from '../../components/states.tsx';
import { ListTable, type Row } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';

const TYPES = ['verification', 'notification', 'marketing'];

interface Draft {
  name: string;
  type: string;
  content: string;
}

/** Every {name} of the text, as text variables; a {code} is a verification code. */
function variablesOf(content: string) {
  const names = [...new Set([...content.matchAll(/\{([A-Za-z_][A-Za-z0-9_]{0,63})\}/g)].map((m) => m[1]!))];
  return names.map((name) => ({ name, kind: name === 'code' ? 'code' : 'text' }));
}

function Resubmit({ row, onDone }: { row: Row; onDone: () => void }) {
  const { t, tr } = useI18n();
  const client = useQueryClient();
  const save = useMutation({
    mutationFn: (d: Draft) =>
      patch(`/v1/templates/${String(row.id)}`, { ...d, variables: variablesOf(d.content) }),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ['templates'] });
      onDone();
    },
  });
  return (
    <Form
      layout="vertical"
      initialValues={{ name: row.name, type: row.type, content: row.content }}
      onFinish={(d: Draft) => save.mutate(d)}
    >
      {row.reason ? (
        <Alert type="error" showIcon message={String(row.reason)} style={{ marginBottom: 12 }} />
      ) : null}
      <Form.Item
        name="name"
        label={t('field.name')}
        rules={[{ required: true, message: t('form.required') }]}
      >
        <Input maxLength={100} />
      </Form.Item>
      <Form.Item name="type" label={t('field.type')}>
        <Select options={TYPES.map((v) => ({ value: v, label: tr(`type.${v}`) }))} />
      </Form.Item>
      <Form.Item
        name="content"
        label={t('field.content')}
        help={t('templates.contentHelp')}
        rules={[{ required: true, message: t('form.required') }]}
      >
        <Input.TextArea rows={3} maxLength={1000} data-testid="resubmit-content" />
      </Form.Item>
      {save.error && (
        <Alert type="error" showIcon message={errorText(save.error)} style={{ marginBottom: 12 }} />
      )}
      <Button type="primary" htmlType="submit" loading={save.isPending} data-testid="resubmit-submit">
        {t('action.resubmit')}
      </Button>
    </Form>
  );
}

export default function Templates() {
  const { t, tr } = useI18n();
  const client = useQueryClient();
  const [form] = Form.useForm<Draft>();
  const [checked, setChecked] = useState<{ blocked: boolean; findings: Finding[] } | null>(null);
  const [editing, setEditing] = useState<Row | null>(null);
  const check = useMutation({
    mutationFn: (d: Draft) =>
      post<{ blocked: boolean; findings: Finding[] }>('/v1/compliance/check', {
        content: d.content,
        type: d.type,
        subject: 'template',
      }),
    onSuccess: setChecked,
  });
  const submit = useMutation({
    mutationFn: (d: Draft) => post('/v1/templates', { ...d, variables: variablesOf(d.content) }),
    onSuccess: () => {
      form.resetFields();
      setChecked(null);
      return client.invalidateQueries({ queryKey: ['templates'] });
    },
  });
  return (
    <>
      <PageTitle>{t('nav.templates')}</PageTitle>
      <Section title={t('templates.apply')}>
        <Form
          form={form}
          layout="vertical"
          initialValues={{ type: 'notification' }}
          onFinish={(d) => submit.mutate(d)}
        >
          <Form.Item
            name="name"
            label={t('field.name')}
            rules={[{ required: true, message: t('form.required') }]}
          >
            <Input maxLength={100} data-testid="template-name" />
          </Form.Item>
          <Form.Item name="type" label={t('field.type')}>
            <Select options={TYPES.map((v) => ({ value: v, label: tr(`type.${v}`) }))} />
          </Form.Item>
          <Form.Item
            name="content"
            label={t('field.content')}
            help={t('templates.contentHelp')}
            rules={[{ required: true, message: t('form.required') }]}
          >
            <Input.TextArea
              rows={3}
              maxLength={1000}
              data-testid="template-content"
              onChange={() => setChecked(null)}
            />
          </Form.Item>
          {checked && <Findings findings={checked.findings} blocked={checked.blocked} />}
          {check.error && (
            <Alert type="error" showIcon message={errorText(check.error)} style={{ marginBottom: 12 }} />
          )}
          {submit.error && (
            <Alert type="error" showIcon message={errorText(submit.error)} style={{ marginBottom: 12 }} />
          )}
          <Space>
            <Button
              onClick={() => form.validateFields().then((d) => check.mutate(d))}
              loading={check.isPending}
            >
              {t('send.check')}
            </Button>
            <Button type="primary" htmlType="submit" loading={submit.isPending} data-testid="template-submit">
              {t('action.submit')}
            </Button>
          </Space>
        </Form>
      </Section>
      <ListTable
        queryKey={['templates']}
        path="/v1/templates"
        columns={[
          { key: 'id' },
          { key: 'name' },
          { key: 'type', render: (v) => tr(`type.${String(v)}`) },
          { key: 'content' },
          { key: 'status', render: (_v, row) => <ReviewState row={row} /> },
          { key: 'findings', render: (v) => (Array.isArray(v) ? v.length : 0) },
          { key: 'submitted_at' },
        ]}
        actions={{
          key: 'actions',
          render: (_v, row) =>
            row.status === 'rejected' ? (
              <Button size="small" onClick={() => setEditing(row)} data-testid={`resubmit-${String(row.id)}`}>
                {t('action.resubmit')}
              </Button>
            ) : null,
        }}
      />
      <Modal
        open={editing !== null}
        title={t('templates.resubmit')}
        footer={null}
        destroyOnHidden
        onCancel={() => setEditing(null)}
      >
        {editing && <Resubmit row={editing} onDone={() => setEditing(null)} />}
      </Modal>
    </>
  );
}
