// Contacts: search and page through them on the server, create and edit one, groups, saved
// segments (read and create), and the export of the current filters.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Card, Form, Input, Modal, Select, Space, Tabs, Tag } from 'antd';
import { useState } from 'react';
import { get, patch, post, type Query, withQuery } from '../../api.ts';
import { PageTitle } from '../../components/Section.tsx';
import { errorText } from '../../components/states.tsx';
import { CursorTable, type Row } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';
import { Groups, Segments } from './ContactGroups.tsx';

export interface Group {
  id: string;
  name: string;
  members?: number;
}
export interface Segment {
  id: string;
  name: string;
}

export function useGroups() {
  return useQuery({
    queryKey: ['contact-groups'],
    queryFn: () => get<{ data: Group[] }>('/v1/contacts/groups').then((r) => r.data),
  });
}
export function useSegments() {
  return useQuery({
    queryKey: ['contact-segments'],
    queryFn: () => get<{ data: Segment[] }>('/v1/contacts/segments').then((r) => r.data),
  });
}

interface ContactDraft {
  phone?: string;
  name?: string;
  tags?: string[];
  group_ids?: string[];
}

function ContactForm({ editing, onDone }: { editing: Row | 'new'; onDone: () => void }) {
  const { t } = useI18n();
  const client = useQueryClient();
  const groups = useGroups();
  const isNew = editing === 'new';
  const save = useMutation({
    mutationFn: (v: ContactDraft) =>
      isNew
        ? post('/v1/contacts', { ...v, phone: v.phone?.trim() })
        : patch(`/v1/contacts/${String(editing.id)}`, { name: v.name ?? '', tags: v.tags ?? [] }),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ['contacts'] });
      await client.invalidateQueries({ queryKey: ['contact-groups'] });
      onDone();
    },
  });
  const initial: ContactDraft = isNew
    ? {}
    : {
        phone: String(editing.phone),
        name: String(editing.name ?? ''),
        tags: (editing.tags as string[] | undefined) ?? [],
      };
  return (
    <Form layout="vertical" initialValues={initial} onFinish={(v: ContactDraft) => save.mutate(v)}>
      <Form.Item
        name="phone"
        label={t('field.phone')}
        rules={[{ required: true, message: t('form.required') }]}
      >
        <Input disabled={!isNew} maxLength={64} data-testid="contact-phone" />
      </Form.Item>
      <Form.Item name="name" label={t('field.name')}>
        <Input maxLength={100} data-testid="contact-name" />
      </Form.Item>
      <Form.Item name="tags" label={t('field.tags')}>
        <Select mode="tags" tokenSeparators={[',', '，']} open={false} suffixIcon={null} />
      </Form.Item>
      {isNew && (
        <Form.Item name="group_ids" label={t('contacts.groups')}>
          <Select
            mode="multiple"
            loading={groups.isPending}
            options={(groups.data ?? []).map((g) => ({ value: g.id, label: g.name }))}
          />
        </Form.Item>
      )}
      {save.error && (
        <Alert type="error" showIcon message={errorText(save.error)} style={{ marginBottom: 12 }} />
      )}
      <Button type="primary" htmlType="submit" loading={save.isPending} data-testid="contact-save">
        {t('action.save')}
      </Button>
    </Form>
  );
}

function ContactList() {
  const { t } = useI18n();
  const groups = useGroups();
  const segments = useSegments();
  const [filters, setFilters] = useState<Query>({});
  const [editing, setEditing] = useState<Row | 'new' | null>(null);
  const apply = (v: { phone?: string; tag?: string; group_id?: string; segment_id?: string }) =>
    setFilters({
      phone: v.phone?.trim(),
      tag: v.tag?.trim(),
      group_id: v.group_id,
      segment_id: v.segment_id,
    });
  return (
    <>
      <Card style={{ marginBottom: 16 }}>
        <Form layout="inline" onFinish={apply} style={{ rowGap: 8 }}>
          <Form.Item name="phone" label={t('field.phone')}>
            <Input allowClear style={{ width: 160 }} />
          </Form.Item>
          <Form.Item name="tag" label={t('field.tags')}>
            <Input allowClear style={{ width: 120 }} />
          </Form.Item>
          <Form.Item name="group_id" label={t('field.group')}>
            <Select
              allowClear
              style={{ width: 160 }}
              options={(groups.data ?? []).map((g) => ({ value: g.id, label: g.name }))}
            />
          </Form.Item>
          <Form.Item name="segment_id" label={t('field.segment')}>
            <Select
              allowClear
              style={{ width: 160 }}
              options={(segments.data ?? []).map((s) => ({ value: s.id, label: s.name }))}
            />
          </Form.Item>
          <Space wrap>
            <Button type="primary" htmlType="submit">
              {t('action.search')}
            </Button>
            <Button href={withQuery('/v1/contacts/export', filters)} download>
              {t('action.export')} CSV
            </Button>
            <Button href={withQuery('/v1/contacts/export', { ...filters, format: 'xlsx' })} download>
              {t('action.export')} XLSX
            </Button>
            <Button onClick={() => setEditing('new')} data-testid="contact-new">
              {t('contacts.new')}
            </Button>
          </Space>
        </Form>
      </Card>
      <CursorTable
        queryKey={['contacts']}
        path="/v1/contacts"
        query={filters}
        mode="after"
        columns={[
          { key: 'id' },
          { key: 'phone' },
          { key: 'name' },
          {
            key: 'tags',
            render: (v) => (Array.isArray(v) ? v.map((x) => <Tag key={String(x)}>{String(x)}</Tag>) : '—'),
          },
          {
            key: 'opted_out',
            render: (v, row) =>
              v ? (
                <Tag color="red">{t('contacts.optedOut')}</Tag>
              ) : row.blacklisted ? (
                <Tag color="red">{t('contacts.blacklisted')}</Tag>
              ) : (
                '—'
              ),
          },
          { key: 'last_engaged_at' },
          { key: 'created_at' },
        ]}
        actions={{
          key: 'actions',
          render: (_v, row) => (
            <Button size="small" onClick={() => setEditing(row)}>
              {t('action.edit')}
            </Button>
          ),
        }}
      />
      <Modal
        open={editing !== null}
        title={editing === 'new' ? t('contacts.new') : t('contacts.edit')}
        footer={null}
        destroyOnHidden
        onCancel={() => setEditing(null)}
      >
        {editing !== null && <ContactForm editing={editing} onDone={() => setEditing(null)} />}
      </Modal>
    </>
  );
}

export default function Contacts() {
  const { t } = useI18n();
  return (
    <>
      <PageTitle>{t('nav.contacts')}</PageTitle>
      <Tabs
        items={[
          { key: 'contacts', label: t('nav.contacts'), children: <ContactList /> },
          { key: 'groups', label: t('contacts.groups'), children: <Groups /> },
          { key: 'segments', label: t('contacts.segments'), children: <Segments /> },
        ]}
      />
    </>
  );
}
