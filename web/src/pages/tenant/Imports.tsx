// Imports: upload a CSV or XLSX of contacts with its column mapping and a target group, then watch
// the job (GET /v1/contacts/imports/{id}) until it completes; its error file and the template.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Descriptions, Form, Progress, Select, Space, Typography, Upload } from 'antd';
import { useEffect, useState } from 'react';
import { get, upload } from '../../api.ts';
import { PageTitle, Section } from '../../components/Section.tsx';
import { ErrorState, errorText } from '../../components/states.tsx';
import { ListTable, StatusTag } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';
import { useGroups } from './Contacts.tsx';

interface ImportJob {
  id: string;
  state: 'running' | 'completed' | 'failed';
  file_name: string;
  rows_read: number;
  accepted: number;
  invalid: number;
  duplicates: number;
  percent: number;
  failure_reason: string | null;
}

interface MappingDraft {
  phone?: number;
  name?: number;
  tags?: number;
  group_id?: string;
  encoding?: string;
}

/** The header row of a CSV, read in the browser so that columns can be picked by name. */
async function csvHeader(file: File): Promise<string[]> {
  const text = await file.slice(0, 64 * 1024).text();
  const first = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  return first.split(',').map((h) => h.replace(/^"|"$/g, '').trim());
}

function ImportProgress({ id }: { id: string }) {
  const { t } = useI18n();
  const client = useQueryClient();
  const q = useQuery({
    queryKey: ['import', id],
    queryFn: () => get<ImportJob>(`/v1/contacts/imports/${id}`),
    refetchInterval: (query) => (query.state.data?.state === 'running' || !query.state.data ? 1000 : false),
  });
  const finished = q.data !== undefined && q.data.state !== 'running';
  // The list of recent imports and the groups' member counts change once the job is done.
  useEffect(() => {
    if (!finished) return;
    void client.invalidateQueries({ queryKey: ['imports'] });
    void client.invalidateQueries({ queryKey: ['contact-groups'] });
  }, [finished, client]);
  if (q.error) return <ErrorState error={q.error} retry={() => void q.refetch()} />;
  const job = q.data;
  return (
    <div data-testid="import-progress">
      <Progress
        percent={job?.percent ?? 0}
        status={job?.state === 'failed' ? 'exception' : job?.state === 'completed' ? 'success' : 'active'}
        format={(p) => <span data-testid="import-percent">{p}%</span>}
      />
      {job && (
        <Descriptions size="small" column={{ xs: 1, sm: 2, md: 5 }} style={{ marginTop: 8 }}>
          <Descriptions.Item label={t('field.state')}>
            <StatusTag value={job.state} />
          </Descriptions.Item>
          <Descriptions.Item label={t('field.rows_read')}>{job.rows_read}</Descriptions.Item>
          <Descriptions.Item label={t('field.accepted')}>
            <span data-testid="import-accepted">{job.accepted}</span>
          </Descriptions.Item>
          <Descriptions.Item label={t('field.invalid')}>{job.invalid}</Descriptions.Item>
          <Descriptions.Item label={t('field.duplicates')}>{job.duplicates}</Descriptions.Item>
        </Descriptions>
      )}
      {job?.failure_reason && <Alert type="error" showIcon message={job.failure_reason} />}
      {job && job.state !== 'running' && job.invalid + job.duplicates > 0 && (
        <Button href={`/v1/contacts/imports/${id}/errors`} download>
          {t('imports.errorFile')}
        </Button>
      )}
    </div>
  );
}

export default function Imports() {
  const { t } = useI18n();
  const client = useQueryClient();
  const groups = useGroups();
  const [file, setFile] = useState<File | null>(null);
  const [header, setHeader] = useState<string[] | null>(null);
  const [jobId, setJobId] = useState<string | null>(null);
  const columnOptions = (header ?? Array.from({ length: 10 }, () => '')).map((h, i) => ({
    value: i + 1,
    label: h ? `${i + 1}: ${h}` : t('imports.column', { n: i + 1 }),
  }));
  const start = useMutation({
    mutationFn: (v: MappingDraft) => {
      const form = new FormData();
      const mapping: Record<string, number> = {};
      if (v.phone) mapping.phone = v.phone;
      if (v.name) mapping.name = v.name;
      if (v.tags) mapping.tags = v.tags;
      if (Object.keys(mapping).length > 0) form.append('mapping', JSON.stringify(mapping));
      if (v.group_id) form.append('group_id', v.group_id);
      if (v.encoding) form.append('encoding', v.encoding);
      form.append('file', file!, file!.name);
      return upload<ImportJob>('/v1/contacts/imports', form);
    },
    onSuccess: (job) => {
      setJobId(job.id);
      return client.invalidateQueries({ queryKey: ['imports'] });
    },
  });
  return (
    <>
      <PageTitle>{t('nav.imports')}</PageTitle>
      <Section
        title={t('imports.upload')}
        extra={
          <Space>
            <a href="/v1/contacts/imports/template" download>
              {t('imports.templateCsv')}
            </a>
            <a href="/v1/contacts/imports/template?format=xlsx" download>
              {t('imports.templateXlsx')}
            </a>
          </Space>
        }
      >
        <Typography.Paragraph type="secondary">{t('imports.help')}</Typography.Paragraph>
        <Form layout="vertical" onFinish={(v: MappingDraft) => start.mutate(v)}>
          <Form.Item label={t('imports.file')} required>
            <Upload
              accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
              maxCount={1}
              beforeUpload={(f) => {
                setFile(f);
                setJobId(null);
                setHeader(null);
                if (/\.csv$/i.test(f.name)) void csvHeader(f).then(setHeader);
                return false;
              }}
              onRemove={() => {
                setFile(null);
                setHeader(null);
              }}
              fileList={file ? [{ uid: 'file', name: file.name, status: 'done' }] : []}
            >
              <Button data-testid="import-pick">{t('imports.pick')}</Button>
            </Upload>
          </Form.Item>
          <Space wrap align="start">
            <Form.Item name="phone" label={t('imports.phoneColumn')} help={t('imports.auto')}>
              <Select allowClear style={{ width: 180 }} options={columnOptions} />
            </Form.Item>
            <Form.Item name="name" label={t('imports.nameColumn')}>
              <Select allowClear style={{ width: 180 }} options={columnOptions} />
            </Form.Item>
            <Form.Item name="tags" label={t('imports.tagsColumn')}>
              <Select allowClear style={{ width: 180 }} options={columnOptions} />
            </Form.Item>
            <Form.Item name="group_id" label={t('imports.group')}>
              <Select
                allowClear
                style={{ width: 180 }}
                data-testid="import-group"
                loading={groups.isPending}
                options={(groups.data ?? []).map((g) => ({ value: g.id, label: g.name }))}
              />
            </Form.Item>
            <Form.Item name="encoding" label={t('imports.encoding')}>
              <Select
                allowClear
                style={{ width: 120 }}
                options={(['auto', 'utf-8', 'gbk'] as const).map((v) => ({
                  value: v,
                  label: t(`encoding.${v}`),
                }))}
              />
            </Form.Item>
          </Space>
          {start.error && (
            <Alert type="error" showIcon message={errorText(start.error)} style={{ marginBottom: 12 }} />
          )}
          <Button
            type="primary"
            htmlType="submit"
            disabled={!file}
            loading={start.isPending}
            data-testid="import-submit"
          >
            {t('imports.start')}
          </Button>
        </Form>
        {jobId && (
          <div style={{ marginTop: 16 }}>
            <ImportProgress id={jobId} />
          </div>
        )}
      </Section>
      <Section title={t('imports.recent')}>
        <ListTable
          queryKey={['imports']}
          path="/v1/contacts/imports"
          columns={[
            { key: 'id' },
            { key: 'file_name' },
            { key: 'state', render: (v) => <StatusTag value={v} /> },
            { key: 'percent', render: (v) => `${String(v)}%` },
            { key: 'accepted' },
            { key: 'invalid' },
            { key: 'duplicates' },
            { key: 'created_at' },
          ]}
          actions={{
            key: 'actions',
            render: (_v, row) =>
              Number(row.invalid) + Number(row.duplicates) > 0 ? (
                <a href={`/v1/contacts/imports/${String(row.id)}/errors`} download>
                  {t('imports.errorFile')}
                </a>
              ) : null,
          }}
        />
      </Section>
    </>
  );
}
