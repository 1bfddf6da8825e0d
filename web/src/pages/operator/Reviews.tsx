// Review queues: tenants (with their qualification documents), signatures, templates and
// marketing batches, each with its age against its desk's target (the due time, overdue in red)
// and one-click approve / reject with a reason; and
// the settings those targets come from (the desks' hours, time zone, holidays; the signature name
// length).
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Input, Modal, Space, Tabs, Tag, Typography } from 'antd';
import { useState } from 'react';
import { post } from '../../api.ts';
import { ProofDocuments } from '../../components/ProofDocuments.tsx';
import { PageTitle } from '../../components/Section.tsx';
import { errorText } from '../../components/states.tsx';
import { type Column, formatValue, ListTable, type Row } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';
import { ComplianceSettings } from './ComplianceSettings.tsx';

interface Queue {
  key: string;
  path: string;
  decide: (id: string, action: 'approve' | 'reject') => string;
  idKey: string;
  columns: Column[];
}

function TypeLabel({ value }: { value: unknown }) {
  const { tr } = useI18n();
  return <>{tr(`type.${String(value)}`)}</>;
}

/** Minutes waited: the API's age when it gives one, else counted from when the item was submitted. */
function ageMinutes(row: Row): number | null {
  if (typeof row.age_minutes === 'number') return row.age_minutes;
  if (typeof row.age_seconds === 'number') return Math.round(row.age_seconds / 60);
  const since = row.submitted_at ?? row.created_at;
  if (typeof since !== 'string') return null;
  return Math.max(0, Math.floor((Date.now() - new Date(since).getTime()) / 60_000));
}

function Age({ row }: { row: Row }) {
  const { t } = useI18n();
  const minutes = ageMinutes(row);
  if (minutes === null) return <>—</>;
  const label = minutes < 120 ? `${minutes}′` : `${Math.floor(minutes / 60)}h ${minutes % 60}′`;
  return (
    <Space size={4} wrap>
      <Tag color={row.overdue ? 'red' : 'default'} data-testid="queue-age">
        {label}
      </Tag>
      {row.overdue ? <Tag color="red">{t('reviews.overdue')}</Tag> : null}
      {typeof row.due_at === 'string' ? (
        <Typography.Text type="secondary">
          {t('reviews.due', { at: String(formatValue(row.due_at)) })}
        </Typography.Text>
      ) : null}
    </Space>
  );
}

interface QualificationDocument {
  id: number;
  kind: string;
  content_type: string;
  size_bytes: number;
}

/** A tenant's qualification documents, each a link that opens (or downloads) it. */
function QualificationDocuments({ row }: { row: Row }) {
  const { tr } = useI18n();
  const docs = Array.isArray(row.documents) ? (row.documents as QualificationDocument[]) : [];
  if (docs.length === 0) return <Typography.Text type="secondary">—</Typography.Text>;
  return (
    <Space direction="vertical" size={2}>
      {docs.map((doc) => (
        <a
          key={doc.id}
          href={`/v1/operator/tenants/${String(row.id)}/documents/${doc.id}`}
          target="_blank"
          rel="noreferrer"
          data-testid={`qualification-document-${doc.id}`}
        >
          {tr(`documentKind.${doc.kind}`)} · {DOCUMENT_TYPES[doc.content_type] ?? doc.content_type} ·{' '}
          {Math.max(1, Math.round(doc.size_bytes / 1024))} KB
        </a>
      ))}
    </Space>
  );
}

const DOCUMENT_TYPES: Record<string, string> = {
  'application/pdf': 'PDF',
  'image/jpeg': 'JPEG',
  'image/png': 'PNG',
};

const age: Column = { key: 'age_minutes', render: (_v, row) => <Age row={row} /> };

const QUEUES: Queue[] = [
  {
    key: 'templates',
    path: '/v1/operator/templates',
    decide: (id, a) => `/v1/operator/templates/${id}/${a}`,
    idKey: 'id',
    columns: [
      { key: 'id' },
      { key: 'tenant_name' },
      { key: 'name' },
      { key: 'type', render: (v) => <TypeLabel value={v} /> },
      { key: 'content' },
      { key: 'findings', render: (v) => (Array.isArray(v) ? v.length : 0) },
      age,
    ],
  },
  {
    key: 'signatures',
    path: '/v1/operator/signatures',
    decide: (id, a) => `/v1/operator/signatures/${id}/${a}`,
    idKey: 'id',
    columns: [
      { key: 'id' },
      { key: 'tenant_name' },
      { key: 'name' },
      { key: 'source' },
      { key: 'source_detail' },
      {
        key: 'documents',
        render: (_v, row) => (
          <ProofDocuments
            row={row}
            base={`/v1/operator/signatures/${String(row.id)}/documents`}
            editable={false}
            queryKey={['queue', 'signatures']}
          />
        ),
      },
      age,
    ],
  },
  {
    key: 'tenants',
    path: '/v1/operator/reviews/tenants',
    decide: (id, a) => `/v1/operator/tenants/${id}/${a}`,
    idKey: 'id',
    columns: [
      { key: 'id' },
      { key: 'name' },
      { key: 'company_name' },
      { key: 'credit_code' },
      { key: 'industry' },
      { key: 'contact_name' },
      { key: 'submitted_at' },
      { key: 'documents', render: (_v, row) => <QualificationDocuments row={row} /> },
      age,
    ],
  },
  {
    key: 'marketing',
    path: '/v1/operator/marketing-reviews',
    decide: (id, a) => `/v1/operator/marketing-reviews/${id}/${a}`,
    idKey: 'batch_id',
    columns: [
      { key: 'batch_id' },
      { key: 'tenant_name' },
      { key: 'content' },
      { key: 'total' },
      { key: 'expected_by' },
      age,
    ],
  },
];

function QueueTable({ queue }: { queue: Queue }) {
  const { t } = useI18n();
  const client = useQueryClient();
  const [rejecting, setRejecting] = useState<string | null>(null);
  const [reason, setReason] = useState('');
  const decide = useMutation({
    mutationFn: ({ id, action }: { id: string; action: 'approve' | 'reject' }) =>
      post(queue.decide(id, action), action === 'reject' ? { reason } : undefined),
    onSuccess: () => {
      setRejecting(null);
      setReason('');
      return client.invalidateQueries({ queryKey: ['queue', queue.key] });
    },
  });
  const actions: Column = {
    key: 'actions',
    render: (_v, row: Row) => {
      const id = String(row[queue.idKey]);
      return (
        <Space>
          <Button
            size="small"
            type="primary"
            data-testid={`approve-${id}`}
            onClick={() => decide.mutate({ id, action: 'approve' })}
          >
            {t('action.approve')}
          </Button>
          <Button size="small" danger onClick={() => setRejecting(id)}>
            {t('action.reject')}
          </Button>
        </Space>
      );
    },
  };
  return (
    <>
      {decide.error && (
        <Alert type="error" showIcon message={errorText(decide.error)} style={{ marginBottom: 12 }} />
      )}
      <ListTable
        queryKey={['queue', queue.key]}
        path={queue.path}
        columns={queue.columns}
        rowKey={queue.idKey}
        actions={actions}
        refetchInterval={15_000}
      />
      <Modal
        open={rejecting !== null}
        title={t('reviews.rejectTitle')}
        okText={t('action.reject')}
        okButtonProps={{ danger: true, disabled: reason.trim() === '' }}
        cancelText={t('action.cancel')}
        onCancel={() => setRejecting(null)}
        onOk={() => rejecting && decide.mutate({ id: rejecting, action: 'reject' })}
      >
        <Input.TextArea
          rows={3}
          maxLength={500}
          placeholder={t('reviews.reason')}
          value={reason}
          onChange={(e) => setReason(e.target.value)}
        />
      </Modal>
    </>
  );
}

export default function Reviews() {
  const { t, tr } = useI18n();
  return (
    <>
      <PageTitle>{t('nav.reviews')}</PageTitle>
      <Tabs
        items={[
          ...QUEUES.map((q) => ({
            key: q.key,
            label: tr(`reviews.${q.key}`),
            children: <QueueTable queue={q} />,
          })),
          { key: 'settings', label: t('reviews.settings'), children: <ComplianceSettings /> },
        ]}
      />
    </>
  );
}
