// Contact groups (list with member counts, create) and saved segments (list, create from a few
// conditions, and how many contacts one selects now).
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Form, Input, InputNumber, Modal, Select, Space, Statistic } from 'antd';
import { useState } from 'react';
import { get, post } from '../../api.ts';
import { Section } from '../../components/Section.tsx';
import { ErrorState, errorText, PageLoading } from '../../components/states.tsx';
import { ListTable, type Row } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';

export function Groups() {
  const { t } = useI18n();
  const client = useQueryClient();
  const [form] = Form.useForm<{ name: string; description?: string }>();
  const create = useMutation({
    mutationFn: (v: { name: string; description?: string }) => post('/v1/contacts/groups', v),
    onSuccess: () => {
      form.resetFields();
      return client.invalidateQueries({ queryKey: ['contact-groups'] });
    },
  });
  return (
    <>
      <Section title={t('contacts.newGroup')}>
        <Form form={form} layout="inline" onFinish={(v) => create.mutate(v)} style={{ rowGap: 8 }}>
          <Form.Item
            name="name"
            label={t('field.name')}
            rules={[{ required: true, whitespace: true, message: t('form.required') }]}
          >
            <Input maxLength={100} data-testid="group-name" />
          </Form.Item>
          <Form.Item name="description" label={t('field.description')}>
            <Input maxLength={500} />
          </Form.Item>
          <Button type="primary" htmlType="submit" loading={create.isPending} data-testid="group-create">
            {t('action.create')}
          </Button>
        </Form>
        {create.error && (
          <Alert type="error" showIcon message={errorText(create.error)} style={{ marginTop: 12 }} />
        )}
      </Section>
      <ListTable
        queryKey={['contact-groups']}
        path="/v1/contacts/groups"
        columns={[
          { key: 'id' },
          { key: 'name' },
          { key: 'description' },
          { key: 'members' },
          { key: 'created_at' },
        ]}
      />
    </>
  );
}

const FIELD_OPS = ['eq', 'neq', 'contains', 'exists', 'missing'];
type ConditionDraft =
  | { type: 'field'; key?: string; op?: string; value?: string }
  | { type: 'tag'; op?: string; value?: string }
  | { type: 'engaged' | 'not_engaged'; days?: number };

function SegmentCount({ id }: { id: string }) {
  const { t } = useI18n();
  const q = useQuery({
    queryKey: ['contact-segment', id],
    queryFn: () => get<{ contacts: number; marketable: number }>(`/v1/contacts/segments/${id}`),
  });
  if (q.isPending) return <PageLoading />;
  if (q.error) return <ErrorState error={q.error} retry={() => void q.refetch()} />;
  return (
    <Space size="large">
      <Statistic title={t('field.contacts')} value={q.data.contacts} />
      <Statistic title={t('field.marketable')} value={q.data.marketable} />
    </Space>
  );
}

function conditionLabel(c: Record<string, unknown>): string {
  return Object.values(c)
    .map((v) => String(v))
    .join(' ');
}

export function Segments() {
  const { t, tr } = useI18n();
  const client = useQueryClient();
  const [form] = Form.useForm<{ name: string; match: 'all' | 'any'; conditions: ConditionDraft[] }>();
  const [open, setOpen] = useState<Row | null>(null);
  const create = useMutation({
    mutationFn: (v: { name: string; match: 'all' | 'any'; conditions: ConditionDraft[] }) =>
      post('/v1/contacts/segments', { name: v.name, filter: { match: v.match, conditions: v.conditions } }),
    onSuccess: () => {
      form.resetFields();
      return client.invalidateQueries({ queryKey: ['contact-segments'] });
    },
  });
  return (
    <>
      <Section title={t('contacts.newSegment')}>
        <Form
          form={form}
          layout="vertical"
          initialValues={{ match: 'all', conditions: [{ type: 'tag', op: 'has' }] }}
          onFinish={(v) => create.mutate(v)}
        >
          <Space wrap align="start">
            <Form.Item
              name="name"
              label={t('field.name')}
              rules={[{ required: true, whitespace: true, message: t('form.required') }]}
            >
              <Input maxLength={100} />
            </Form.Item>
            <Form.Item name="match" label={t('contacts.match')}>
              <Select
                style={{ width: 160 }}
                options={[
                  { value: 'all', label: t('contacts.matchAll') },
                  { value: 'any', label: t('contacts.matchAny') },
                ]}
              />
            </Form.Item>
          </Space>
          <Form.List name="conditions">
            {(items, { add, remove }) => (
              <>
                {items.map((item) => (
                  <Space key={item.key} wrap align="start">
                    <Form.Item name={[item.name, 'type']}>
                      <Select
                        style={{ width: 140 }}
                        options={['field', 'tag', 'engaged', 'not_engaged'].map((v) => ({
                          value: v,
                          label: tr(`condition.${v}`),
                        }))}
                      />
                    </Form.Item>
                    <Form.Item noStyle shouldUpdate>
                      {() => {
                        const type = form.getFieldValue(['conditions', item.name, 'type']) as string;
                        if (type === 'engaged' || type === 'not_engaged')
                          return (
                            <Form.Item
                              name={[item.name, 'days']}
                              rules={[{ required: true, message: t('form.required') }]}
                            >
                              <InputNumber min={1} max={3650} addonAfter={t('unit.days')} />
                            </Form.Item>
                          );
                        return (
                          <>
                            {type === 'field' && (
                              <Form.Item
                                name={[item.name, 'key']}
                                rules={[{ required: true, message: t('form.required') }]}
                              >
                                <Input placeholder={t('contacts.fieldKey')} style={{ width: 120 }} />
                              </Form.Item>
                            )}
                            <Form.Item
                              name={[item.name, 'op']}
                              rules={[{ required: true, message: t('form.required') }]}
                            >
                              <Select
                                style={{ width: 120 }}
                                options={(type === 'field' ? FIELD_OPS : ['has', 'lacks']).map((v) => ({
                                  value: v,
                                  label: tr(`op.${v}`),
                                }))}
                              />
                            </Form.Item>
                            <Form.Item name={[item.name, 'value']}>
                              <Input placeholder={t('contacts.value')} style={{ width: 140 }} />
                            </Form.Item>
                          </>
                        );
                      }}
                    </Form.Item>
                    <Button onClick={() => remove(item.name)} disabled={items.length < 2}>
                      {t('action.remove')}
                    </Button>
                  </Space>
                ))}
                <Space>
                  <Button onClick={() => add({ type: 'tag', op: 'has' })}>
                    {t('contacts.addCondition')}
                  </Button>
                  <Button type="primary" htmlType="submit" loading={create.isPending}>
                    {t('action.create')}
                  </Button>
                </Space>
              </>
            )}
          </Form.List>
        </Form>
        {create.error && (
          <Alert type="error" showIcon message={errorText(create.error)} style={{ marginTop: 12 }} />
        )}
      </Section>
      <ListTable
        queryKey={['contact-segments']}
        path="/v1/contacts/segments"
        columns={[
          { key: 'id' },
          { key: 'name' },
          {
            key: 'filter',
            render: (v) => {
              const f = v as { match?: string; conditions?: Record<string, unknown>[] } | null;
              return (f?.conditions ?? []).map(conditionLabel).join(f?.match === 'any' ? ' | ' : ' & ');
            },
          },
          { key: 'updated_at' },
        ]}
        actions={{
          key: 'actions',
          render: (_v, row) => (
            <Button size="small" onClick={() => setOpen(row)}>
              {t('contacts.count')}
            </Button>
          ),
        }}
      />
      <Modal
        open={open !== null}
        title={String(open?.name ?? '')}
        footer={null}
        onCancel={() => setOpen(null)}
      >
        {open && <SegmentCount id={String(open.id)} />}
      </Modal>
    </>
  );
}
