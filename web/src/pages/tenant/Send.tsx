// Send: one number or a pasted batch, free text or an approved template with its variables, a
// signature, live part count and cost, schedule, and the marketing review notice.
import { useMutation, useQuery } from '@tanstack/react-query';
import {
  Alert,
  Button,
  Card,
  DatePicker,
  Descriptions,
  Form,
  Input,
  Radio,
  Select,
  Space,
  Typography,
} from 'antd';
import type { Dayjs } from 'dayjs';
import { useMemo, useState } from 'react';
import { get, post } from '../../api.ts';
import { type Finding, Findings } from '../../components/Findings.tsx';
import { errorText } from '../../components/states.tsx';
import { useI18n } from '../../i18n/i18n.tsx';
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
const MAX_RECIPIENTS = 10_000;

export default function Send() {
  const { t, tr } = useI18n();
  const [mode, setMode] = useState<'text' | 'template'>('text');
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
      if (recipients.length === 1) {
        const m = await post<{ id: string; status: string }>('/v1/messages', {
          to: recipients[0],
          ...common,
          ...withParams,
        });
        return t('send.sentOne', { id: m.id, status: tr(`status.${m.status}`) });
      }
      const b = await post<{ id: string; accepted: number; rejected: number; review?: unknown }>(
        '/v1/batches',
        {
          ...common,
          recipients: recipients.map((to) => ({ to, ...withParams })),
        },
      );
      return t('send.sentBatch', { id: b.id, accepted: b.accepted, rejected: b.rejected });
    },
  });

  const tooMany = recipients.length > MAX_RECIPIENTS;
  const canSend = recipients.length > 0 && !tooMany && (mode === 'text' ? content.trim() !== '' : !!template);
  return (
    <>
      <Typography.Title level={3}>{t('nav.send')}</Typography.Title>
      <Card>
        <Form layout="vertical" onFinish={() => send.mutate()}>
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
                <Form.Item key={v.name} label={v.name}>
                  <Input
                    data-testid={`param-${v.name}`}
                    value={params[v.name] ?? ''}
                    onChange={(e) => setParams((p) => ({ ...p, [v.name]: e.target.value }))}
                  />
                </Form.Item>
              ))}
            </>
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
            <Descriptions.Item label={t('send.recipientCount')}>{recipients.length}</Descriptions.Item>
            <Descriptions.Item label={t('send.cost')}>
              <span data-testid="cost">{parts.parts * recipients.length}</span> {t('unit.parts')}
            </Descriptions.Item>
          </Descriptions>
          {effectiveType === 'marketing' && (
            <Alert type="info" showIcon style={{ marginBottom: 16 }} message={t('send.marketingNotice')} />
          )}
          {check.data && <Findings findings={check.data.findings} blocked={check.data.blocked} />}
          {check.error && (
            <Alert type="error" showIcon style={{ marginBottom: 16 }} message={errorText(check.error)} />
          )}
          {send.data && (
            <Alert
              type="success"
              showIcon
              style={{ marginBottom: 16 }}
              message={send.data}
              data-testid="send-result"
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
