// Signatures: apply, see the review state and the reason of a rejection, add proof documents
// (and delete a wrong one) while it is not approved, edit a rejected one and send it back to
// review (PATCH /v1/signatures/{id}).
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Form, Input, Modal, Select } from 'antd';
import { useState } from 'react';
import { patch, post } from '../../api.ts';
import { ReviewState } from '../../components/ReviewState.tsx';
import { ProofDocuments } from '../../components/ProofDocuments.tsx';
import { PageTitle, Section } from '../../components/Section.tsx';
import { errorText } from '../../components/states.tsx';
import { ListTable, type Row } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';

const SOURCES = ['company', 'trademark', 'app', 'website', 'public_account', 'other'];

interface SignatureDraft {
  name: string;
  source: string;
  source_detail?: string;
}

function Resubmit({ row, onDone }: { row: Row; onDone: () => void }) {
  const { t, tr } = useI18n();
  const client = useQueryClient();
  const save = useMutation({
    mutationFn: (v: SignatureDraft) => patch(`/v1/signatures/${String(row.id)}`, v),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ['signatures'] });
      onDone();
    },
  });
  return (
    <Form
      layout="vertical"
      initialValues={{ name: row.name, source: row.source, source_detail: row.source_detail ?? undefined }}
      onFinish={(v: SignatureDraft) => save.mutate(v)}
    >
      {row.reason ? (
        <Alert type="error" showIcon message={String(row.reason)} style={{ marginBottom: 12 }} />
      ) : null}
      <Form.Item
        name="name"
        label={t('field.name')}
        rules={[{ required: true, message: t('form.required') }]}
      >
        <Input maxLength={64} />
      </Form.Item>
      <Form.Item
        name="source"
        label={t('field.source')}
        rules={[{ required: true, message: t('form.required') }]}
      >
        <Select options={SOURCES.map((s) => ({ value: s, label: tr(`source.${s}`) }))} />
      </Form.Item>
      <Form.Item name="source_detail" label={t('field.source_detail')}>
        <Input maxLength={200} />
      </Form.Item>
      {save.error && (
        <Alert type="error" showIcon message={errorText(save.error)} style={{ marginBottom: 12 }} />
      )}
      <Button type="primary" htmlType="submit" loading={save.isPending}>
        {t('action.resubmit')}
      </Button>
    </Form>
  );
}

export default function Signatures() {
  const { t, tr } = useI18n();
  const client = useQueryClient();
  const [editing, setEditing] = useState<Row | null>(null);
  const apply = useMutation({
    mutationFn: (v: { name: string; source: string; source_detail?: string }) => post('/v1/signatures', v),
    onSuccess: () => client.invalidateQueries({ queryKey: ['signatures'] }),
  });
  return (
    <>
      <PageTitle>{t('nav.signatures')}</PageTitle>
      <Section title={t('signatures.apply')}>
        <Form
          layout="inline"
          onFinish={(v: { name: string; source: string; source_detail?: string }) => apply.mutate(v)}
          style={{ rowGap: 8 }}
        >
          <Form.Item
            name="name"
            label={t('field.name')}
            rules={[{ required: true, message: t('form.required') }]}
          >
            <Input maxLength={64} />
          </Form.Item>
          <Form.Item
            name="source"
            label={t('field.source')}
            rules={[{ required: true, message: t('form.required') }]}
          >
            <Select
              style={{ width: 160 }}
              options={SOURCES.map((s) => ({ value: s, label: tr(`source.${s}`) }))}
            />
          </Form.Item>
          <Form.Item name="source_detail" label={t('field.source_detail')}>
            <Input maxLength={200} />
          </Form.Item>
          <Button type="primary" htmlType="submit" loading={apply.isPending}>
            {t('action.submit')}
          </Button>
        </Form>
        {apply.error && (
          <Alert type="error" showIcon style={{ marginTop: 12 }} message={errorText(apply.error)} />
        )}
      </Section>
      <ListTable
        queryKey={['signatures']}
        path="/v1/signatures"
        columns={[
          { key: 'name', render: (v) => `【${String(v)}】` },
          { key: 'source', render: (v) => tr(`source.${String(v)}`) },
          { key: 'status', render: (_v, row) => <ReviewState row={row} /> },
          {
            key: 'documents',
            render: (_v, row) => (
              <ProofDocuments
                row={row}
                base={`/v1/signatures/${String(row.id)}/documents`}
                editable={row.status !== 'approved'}
                queryKey={['signatures']}
              />
            ),
          },
          { key: 'is_default' },
          { key: 'submitted_at' },
        ]}
        actions={{
          key: 'actions',
          render: (_v, row) =>
            row.status === 'rejected' ? (
              <Button size="small" onClick={() => setEditing(row)}>
                {t('action.resubmit')}
              </Button>
            ) : null,
        }}
      />
      <Modal
        open={editing !== null}
        title={t('signatures.resubmit')}
        footer={null}
        destroyOnHidden
        onCancel={() => setEditing(null)}
      >
        {editing && <Resubmit row={editing} onDone={() => setEditing(null)} />}
      </Modal>
    </>
  );
}
