// Send: one number, a pasted batch or an imported file (CSV or XLSX, uploaded as an audience file
// with a progress bar, its refused rows shown with their reasons), free text or an approved
// template with its variables, a signature, live part count and cost, schedule, and the marketing
// review notice with the time the API expects the review by.
import { useMutation, useQuery } from '@tanstack/react-query';
import {
  Alert,
  Button,
  Card,
  DatePicker,
  Descriptions,
  Form,
  Input,
  Progress,
  Radio,
  Select,
  Space,
  Table,
  Typography,
} from 'antd';
import type { Dayjs } from 'dayjs';
import { useMemo, useState } from 'react';
import { ApiError, get, post } from '../../api.ts';
import { type Finding, Findings } from '../../components/Findings.tsx';
import { ErrorState, errorText } from '../../components/states.tsx';
import { useI18n } from '../../i18n/i18n.tsx';
import { formatDateTime } from '../../i18n/lang.ts';
import { countParts, parseRecipients } from '../../parts.ts';

interface Signature {
  id: string;
  name: string;
  status: string;
  is_default: boolean;
}
interface Template {
  id: string;
  name: string;
  type: string;
  content: string;
  status: string;
  variables: { name: string }[];
}
interface AudienceFile {
  id: string;
  file_name: string;
  format: string;
  variables: string[];
  rows_read: number;
  recipients: number;
  invalid: number;
  duplicates: number;
  errors: { row: number; value: string; reason: string; first_row?: number }[];
}
interface Review {
  status: string;
  expected_by: string;
}
interface BatchResult {
  id: string;
  accepted: number;
  rejected: number;
  review: Review | null;
  results?: { index: number; to: string; accepted: boolean; error?: { code: string; message: string } }[];
}
type Outcome = { text: string; review: Review | null; refused: NonNullable<BatchResult['results']> };
const MAX_RECIPIENTS = 10_000;

/** An upload's error with the API's details: a file with no valid row lists its refused rows there. */
class UploadError extends ApiError {
  constructor(
    status: number,
    code: string,
    message: string,
    readonly details: unknown,
  ) {
    super(status, code, message);
  }
}

/**
 * A multipart upload that reports its progress (fetch cannot): the session cookie, the CSRF token
 * echoed, and the API's error shape turned into an ApiError, as api.ts does for other calls.
 */
function uploadWithProgress<T>(
  path: string,
  form: FormData,
  onProgress: (percent: number) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    const csrf = /(?:^|;\s*)hy_csrf=([^;]*)/.exec(document.cookie);
    xhr.setRequestHeader('x-csrf-token', csrf ? decodeURIComponent(csrf[1]!) : '');
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(Math.round((e.loaded / e.total) * 100));
    };
    xhr.onerror = () => reject(new ApiError(0, 'http.network', 'The upload did not reach Hongyan.'));
    xhr.onload = () => {
      let body: unknown;
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        // A small file may be sent whole before any progress event.
        onProgress(100);
        return resolve(body as T);
      }
      const error = (body as { error?: { code?: string; message?: string; details?: unknown } } | null)
        ?.error;
      reject(
        new UploadError(
          xhr.status,
          error?.code ?? `http.${xhr.status}`,
          error?.message ?? xhr.statusText,
          error?.details,
        ),
      );
    };
    xhr.send(form);
  });
}

interface ReviewForecast {
  review: boolean;
  expected_by: string | null;
  hours: { time_zone: string; open: string; close: string; intake_until: string };
}

/** To the minute, in the console's language: a forecast moves with the clock, its seconds do not matter. */
const toMinute = (at: string, lang: string) =>
  new Date(at).toLocaleString(lang, {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  });

/**
 * Before a marketing batch is sent: whether this account's marketing batches are reviewed, by when
 * one sent now would be, and the desk's hours, as the API computes them from the review calendar.
 */
function ReviewNotice() {
  const { t, lang } = useI18n();
  const q = useQuery({
    queryKey: ['review-forecast'],
    queryFn: () => get<ReviewForecast>('/v1/batches/review-forecast'),
    refetchInterval: 60_000,
  });
  const style = { marginBottom: 16 };
  if (q.error) return <ErrorState error={q.error} retry={() => void q.refetch()} />;
  if (!q.data) return <Alert type="info" showIcon style={style} message={t('send.marketingNotice')} />;
  const f = q.data;
  if (!f.review || !f.expected_by)
    return (
      <Alert type="info" showIcon style={style} data-testid="review-forecast" message={t('send.noReview')} />
    );
  return (
    <Alert
      type="info"
      showIcon
      style={style}
      data-testid="review-forecast"
      message={t('send.reviewForecast', {
        at: toMinute(f.expected_by, lang),
        open: f.hours.open,
        close: f.hours.close,
        intake: f.hours.intake_until,
        zone: f.hours.time_zone,
      })}
    />
  );
}

/** Pick a CSV or XLSX, upload it with a progress bar, and show what it holds and what it refused. */
function FileImport({
  file,
  onFile,
}: {
  file: AudienceFile | null;
  onFile: (f: AudienceFile | null) => void;
}) {
  const { t, tr } = useI18n();
  const [percent, setPercent] = useState<number | null>(null);
  const importFile = useMutation({
    mutationFn: (chosen: File) => {
      const form = new FormData();
      form.append('file', chosen);
      setPercent(0);
      return uploadWithProgress<AudienceFile>('/v1/campaigns/audience-files', form, setPercent);
    },
    onMutate: () => onFile(null),
    onSuccess: (f) => onFile(f),
  });
  // A file without any valid row is not stored (422 campaigns.audience_empty): its rows come with the error.
  const emptyFile =
    importFile.error instanceof UploadError && importFile.error.code === 'campaigns.audience_empty'
      ? ((importFile.error.details as { errors?: AudienceFile['errors'] } | undefined)?.errors ?? [])
      : [];
  const refused = file?.errors ?? emptyFile;
  return (
    <>
      <Space wrap>
        <input
          type="file"
          data-testid="recipients-file"
          accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
          onChange={(e) => {
            const chosen = e.target.files?.[0];
            if (chosen) importFile.mutate(chosen);
            e.target.value = '';
          }}
        />
        <Typography.Text type="secondary">{t('send.fileHelp')}</Typography.Text>
      </Space>
      {percent !== null && (importFile.isPending || importFile.isSuccess) && (
        <div data-testid="file-progress">
          <Progress
            percent={percent}
            status={importFile.isPending ? 'active' : 'success'}
            format={(p) => (importFile.isPending && p === 100 ? t('send.fileReading') : `${p}%`)}
          />
        </div>
      )}
      {importFile.error && (
        <div style={{ marginTop: 8 }}>
          <ErrorState error={importFile.error} />
        </div>
      )}
      {file && (
        <>
          <Descriptions size="small" column={{ xs: 1, sm: 2, md: 5 }} style={{ marginTop: 8 }}>
            <Descriptions.Item label={t('field.file_name')}>{file.file_name}</Descriptions.Item>
            <Descriptions.Item label={t('field.rows_read')}>{file.rows_read}</Descriptions.Item>
            <Descriptions.Item label={t('field.recipients')}>
              <span data-testid="file-recipients">{file.recipients}</span>
            </Descriptions.Item>
            <Descriptions.Item label={t('field.invalid')}>{file.invalid}</Descriptions.Item>
            <Descriptions.Item label={t('field.duplicates')}>{file.duplicates}</Descriptions.Item>
            <Descriptions.Item label={t('send.fileVariables')} span={5}>
              {file.variables.length ? file.variables.join(', ') : '—'}
            </Descriptions.Item>
          </Descriptions>
          {file.recipients > MAX_RECIPIENTS && (
            <Alert
              type="error"
              showIcon
              style={{ marginBottom: 8 }}
              message={t('send.fileTooMany', { n: file.recipients, max: MAX_RECIPIENTS })}
            />
          )}
        </>
      )}
      {refused.length > 0 && (
        <>
          <Typography.Text strong>{t('send.fileRefused')}</Typography.Text>
          <Table
            data-testid="file-refused"
            size="small"
            rowKey="row"
            pagination={{ pageSize: 10, hideOnSinglePage: true }}
            dataSource={refused}
            columns={[
              { key: 'row', dataIndex: 'row', title: t('send.fileRow') },
              { key: 'value', dataIndex: 'value', title: t('send.fileValue') },
              {
                key: 'reason',
                dataIndex: 'reason',
                title: t('field.reason'),
                render: (reason: string, r) =>
                  reason === 'duplicate'
                    ? t('send.fileDuplicateOf', { row: r.first_row ?? '?' })
                    : `${tr(`send.reason.${reason}`)} (${reason})`,
              },
            ]}
          />
          {file && file.invalid + file.duplicates > refused.length && (
            <Typography.Text type="secondary">
              {t('send.fileMoreRefused', { n: file.invalid + file.duplicates })}
            </Typography.Text>
          )}
          {file && (
            <div>
              <Button size="small" href={`/v1/campaigns/audience-files/${file.id}/errors`} download>
                {t('send.fileErrors')}
              </Button>
            </div>
          )}
        </>
      )}
    </>
  );
}

export default function Send() {
  const { t, tr } = useI18n();
  const [mode, setMode] = useState<'text' | 'template'>('text');
  const [source, setSource] = useState<'paste' | 'file'>('paste');
  const [file, setFile] = useState<AudienceFile | null>(null);
  const [numbers, setNumbers] = useState('');
  const [content, setContent] = useState('');
  const [type, setType] = useState('notification');
  const [sign, setSign] = useState<string | undefined>();
  const [templateId, setTemplateId] = useState<string | undefined>();
  const [params, setParams] = useState<Record<string, string>>({});
  const [sendAt, setSendAt] = useState<Dayjs | null>(null);
  const signatures = useQuery({
    queryKey: ['signatures'],
    queryFn: () => get<{ data: Signature[] }>('/v1/signatures'),
  });
  const templates = useQuery({
    queryKey: ['templates'],
    queryFn: () => get<{ data: Template[] }>('/v1/templates'),
  });
  const approvedSigns = (signatures.data?.data ?? []).filter((s) => s.status === 'approved');
  const approvedTemplates = (templates.data?.data ?? []).filter((s) => s.status === 'approved');
  const template = approvedTemplates.find((x) => x.id === templateId);
  const signName = sign ?? approvedSigns.find((s) => s.is_default)?.name ?? approvedSigns[0]?.name;
  const recipients = useMemo(() => parseRecipients(numbers), [numbers]);
  const recipientCount = source === 'file' ? (file?.recipients ?? 0) : recipients.length;
  // In a file, a column named as a variable gives each recipient its own value.
  const fileVariables = new Set(source === 'file' ? (file?.variables ?? []) : []);
  const effectiveType = mode === 'template' ? (template?.type ?? 'notification') : type;

  const body =
    mode === 'template' && template
      ? template.content.replace(/\{(\w+)\}/g, (m, n: string) => params[n] || m)
      : content;
  const preview = signName && !/^【/.test(body) ? `【${signName}】${body}` : body;
  const parts = countParts(preview);

  const check = useMutation({
    mutationFn: () =>
      post<{ blocked: boolean; findings: Finding[] }>('/v1/compliance/check', {
        content: preview,
        type: effectiveType,
      }),
  });
  const send = useMutation({
    mutationFn: async () => {
      const common = {
        ...(mode === 'template' ? { template_id: templateId } : { content, type }),
        ...(signName ? { sign_name: signName } : {}),
        ...(sendAt ? { send_at: sendAt.toISOString() } : {}),
      };
      const withParams = mode === 'template' ? { params } : {};
      const batch = async (body: Record<string, unknown>): Promise<Outcome> => {
        const b = await post<BatchResult>('/v1/batches', body);
        return {
          text: t('send.sentBatch', { id: b.id, accepted: b.accepted, rejected: b.rejected }),
          review: b.review,
          refused: (b.results ?? []).filter((r) => !r.accepted),
        };
      };
      if (source === 'file') return batch({ ...common, ...withParams, audience_file_id: file!.id });
      if (recipients.length === 1) {
        const m = await post<{ id: string; status: string }>('/v1/messages', {
          to: recipients[0],
          ...common,
          ...withParams,
        });
        return {
          text: t('send.sentOne', { id: m.id, status: tr(`status.${m.status}`) }),
          review: null,
          refused: [],
        } satisfies Outcome;
      }
      return batch({ ...common, ...withParams, recipients: recipients.map((to) => ({ to })) });
    },
  });

  // Only batches wait for the marketing review; one message on its own does not.
  const asBatch = source === 'file' || recipients.length !== 1;
  const tooMany = recipientCount > MAX_RECIPIENTS;
  const canSend = recipientCount > 0 && !tooMany && (mode === 'text' ? content.trim() !== '' : !!template);
  return (
    <>
      <Typography.Title level={3}>{t('nav.send')}</Typography.Title>
      <Card>
        <Form layout="vertical" onFinish={() => send.mutate()}>
          <Form.Item label={t('send.source')}>
            <Radio.Group value={source} onChange={(e) => setSource(e.target.value as 'paste' | 'file')}>
              <Radio.Button value="paste">{t('send.sourcePaste')}</Radio.Button>
              <Radio.Button value="file">{t('send.sourceFile')}</Radio.Button>
            </Radio.Group>
          </Form.Item>
          {source === 'paste' ? (
            <Form.Item
              label={t('send.recipients')}
              help={t('send.recipientsHelp', { n: recipients.length, max: MAX_RECIPIENTS })}
            >
              <Input.TextArea
                data-testid="recipients"
                rows={4}
                value={numbers}
                onChange={(e) => setNumbers(e.target.value)}
                placeholder="+8613800138000"
                status={tooMany ? 'error' : undefined}
              />
            </Form.Item>
          ) : (
            <Form.Item label={t('send.file')}>
              <FileImport file={file} onFile={setFile} />
            </Form.Item>
          )}
          <Form.Item label={t('send.mode')}>
            <Radio.Group value={mode} onChange={(e) => setMode(e.target.value as 'text' | 'template')}>
              <Radio.Button value="text">{t('send.freeText')}</Radio.Button>
              <Radio.Button value="template">{t('send.template')}</Radio.Button>
            </Radio.Group>
          </Form.Item>
          {mode === 'text' ? (
            <>
              <Form.Item label={t('field.type')}>
                <Select
                  value={type}
                  onChange={setType}
                  options={['verification', 'notification', 'marketing'].map((v) => ({
                    value: v,
                    label: tr(`type.${v}`),
                  }))}
                />
              </Form.Item>
              <Form.Item label={t('field.content')}>
                <Input.TextArea
                  data-testid="content"
                  rows={4}
                  value={content}
                  onChange={(e) => setContent(e.target.value)}
                />
              </Form.Item>
            </>
          ) : (
            <>
              {templates.error && (
                <ErrorState error={templates.error} retry={() => void templates.refetch()} />
              )}
              {templates.isSuccess && approvedTemplates.length === 0 && (
                <Alert type="info" showIcon style={{ marginBottom: 16 }} message={t('send.noTemplate')} />
              )}
              <Form.Item label={t('send.template')}>
                <div data-testid="template-select">
                  <Select
                    value={templateId}
                    onChange={(v: string) => {
                      setTemplateId(v);
                      setParams({});
                    }}
                    loading={templates.isPending}
                    placeholder={t('send.pickTemplate')}
                    options={approvedTemplates.map((x) => ({
                      value: x.id,
                      label: `${x.name} — ${x.content}`,
                    }))}
                  />
                </div>
              </Form.Item>
              {template?.variables.map((v) => (
                <Form.Item
                  key={v.name}
                  label={v.name}
                  help={fileVariables.has(v.name) ? t('send.fromFile') : undefined}
                >
                  <Input
                    data-testid={`param-${v.name}`}
                    value={params[v.name] ?? ''}
                    onChange={(e) => setParams((p) => ({ ...p, [v.name]: e.target.value }))}
                  />
                </Form.Item>
              ))}
            </>
          )}
          {signatures.error && (
            <ErrorState error={signatures.error} retry={() => void signatures.refetch()} />
          )}
          <Form.Item label={t('field.signature')}>
            <Select
              value={signName}
              onChange={setSign}
              loading={signatures.isPending}
              options={approvedSigns.map((s) => ({ value: s.name, label: `【${s.name}】` }))}
            />
          </Form.Item>
          <Form.Item label={t('send.schedule')} help={t('send.scheduleHelp')}>
            <DatePicker showTime value={sendAt} onChange={setSendAt} />
          </Form.Item>
          <Descriptions size="small" column={{ xs: 1, md: 3 }} bordered style={{ marginBottom: 16 }}>
            <Descriptions.Item label={t('send.preview')} span={3}>
              <span data-testid="preview">{preview || '—'}</span>
            </Descriptions.Item>
            <Descriptions.Item label={t('send.parts')}>
              <span data-testid="parts">{parts.parts}</span> ({parts.encoding.toUpperCase()}, {parts.length})
            </Descriptions.Item>
            <Descriptions.Item label={t('send.recipientCount')}>
              <span data-testid="recipient-count">{recipientCount}</span>
            </Descriptions.Item>
            <Descriptions.Item label={t('send.cost')}>
              <span data-testid="cost">{parts.parts * recipientCount}</span> {t('unit.parts')}
            </Descriptions.Item>
          </Descriptions>
          {effectiveType === 'marketing' && asBatch && <ReviewNotice />}
          {check.data && <Findings findings={check.data.findings} blocked={check.data.blocked} />}
          {check.error && (
            <Alert type="error" showIcon style={{ marginBottom: 16 }} message={errorText(check.error)} />
          )}
          {send.data && (
            <Alert
              type="success"
              showIcon
              style={{ marginBottom: 16 }}
              message={send.data.text}
              data-testid="send-result"
            />
          )}
          {send.data?.review && (
            <Alert
              type="warning"
              showIcon
              style={{ marginBottom: 16 }}
              data-testid="review-notice"
              message={t('send.underReview', { at: formatDateTime(send.data.review.expected_by) })}
            />
          )}
          {send.data && send.data.refused.length > 0 && (
            <Table
              data-testid="batch-refused"
              size="small"
              style={{ marginBottom: 16 }}
              rowKey="index"
              pagination={{ pageSize: 10, hideOnSinglePage: true }}
              dataSource={send.data.refused}
              columns={[
                { key: 'to', dataIndex: 'to', title: t('field.to') },
                {
                  key: 'error',
                  dataIndex: 'error',
                  title: t('field.reason'),
                  render: (e?: { code: string; message: string }) => (e ? `${e.code}: ${e.message}` : '—'),
                },
              ]}
            />
          )}
          {send.error && (
            <Alert type="error" showIcon style={{ marginBottom: 16 }} message={errorText(send.error)} />
          )}
          <Space wrap>
            <Button onClick={() => check.mutate()} disabled={!preview} loading={check.isPending}>
              {t('send.check')}
            </Button>
            <Button
              type="primary"
              htmlType="submit"
              disabled={!canSend}
              loading={send.isPending}
              data-testid="send-button"
            >
              {sendAt ? t('send.schedule') : t('send.submit')}
            </Button>
          </Space>
        </Form>
      </Card>
    </>
  );
}
