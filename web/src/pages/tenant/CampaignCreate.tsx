// A new campaign: audience from groups, segments and pasted numbers; free text or an approved
// template with its variables; signature; schedule now, at a time or recurring; throttle. The
// preview (POST /v1/campaigns/preview) shows samples, parts, recipients after exclusions and the
// cost against the balance before anything is written. An optional A/B test (CampaignAbSection)
// sends variants to a test share first and the winner to the rest.
import { useMutation, useQuery } from '@tanstack/react-query';
import {
  Alert,
  Button,
  Card,
  Checkbox,
  DatePicker,
  Descriptions,
  Form,
  Input,
  InputNumber,
  List,
  Radio,
  Select,
  Space,
  TimePicker,
  Typography,
} from 'antd';
import type { Dayjs } from 'dayjs';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { get, post } from '../../api.ts';
import { PageTitle } from '../../components/Section.tsx';
import { errorText } from '../../components/states.tsx';
import { useI18n } from '../../i18n/i18n.tsx';
import { parseRecipients } from '../../parts.ts';
import {
  abBody,
  type AbDraft,
  abIssues,
  CampaignAbSection,
  hasIssues,
  initialAb,
  variantVariables,
} from './CampaignAbSection.tsx';
import { useGroups, useSegments } from './Contacts.tsx';

interface Signature {
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
interface Preview {
  samples: { to: string; text: string; parts: number; encoding: string }[];
  parts_per_message: { min: number; max: number };
  recipients: {
    pasted_invalid: number;
    audience: number;
    duplicates: number;
    unique: number;
    excluded: Record<string, number>;
    eligible: number;
  };
  cost: { parts: number; available: number; enough: boolean };
}
type ScheduleKind = 'now' | 'at' | 'recurring';
type RuleKind = 'daily' | 'weekly' | 'monthly';

function PreviewCard({ preview }: { preview: Preview }) {
  const { t } = useI18n();
  const r = preview.recipients;
  const excluded = Object.entries(r.excluded);
  return (
    <Card size="small" title={t('send.preview')} style={{ marginBottom: 16 }} data-testid="campaign-preview">
      <Descriptions size="small" column={{ xs: 1, sm: 2, md: 3 }} bordered>
        <Descriptions.Item label={t('campaigns.audience')}>{r.audience}</Descriptions.Item>
        <Descriptions.Item label={t('field.duplicates')}>{r.duplicates}</Descriptions.Item>
        <Descriptions.Item label={t('campaigns.pastedInvalid')}>{r.pasted_invalid}</Descriptions.Item>
        <Descriptions.Item label={t('campaigns.eligible')}>
          <span data-testid="preview-eligible">{r.eligible}</span>
        </Descriptions.Item>
        <Descriptions.Item label={t('send.parts')}>
          {preview.parts_per_message.min === preview.parts_per_message.max
            ? preview.parts_per_message.min
            : `${preview.parts_per_message.min}–${preview.parts_per_message.max}`}
        </Descriptions.Item>
        <Descriptions.Item label={t('send.cost')}>
          <Typography.Text type={preview.cost.enough ? undefined : 'danger'}>
            {t('campaigns.costVsBalance', { cost: preview.cost.parts, available: preview.cost.available })}
          </Typography.Text>
        </Descriptions.Item>
      </Descriptions>
      {excluded.length > 0 && (
        <Typography.Paragraph style={{ marginTop: 8 }}>
          {t('campaigns.excluded')}: {excluded.map(([code, n]) => `${code} ${n}`).join(', ')}
        </Typography.Paragraph>
      )}
      {!preview.cost.enough && (
        <Alert type="warning" showIcon message={t('campaigns.notEnough')} style={{ marginTop: 8 }} />
      )}
      <List
        size="small"
        header={t('field.samples')}
        dataSource={preview.samples}
        renderItem={(s) => (
          <List.Item>
            <Typography.Text code>{s.to}</Typography.Text> {s.text} ({s.parts})
          </List.Item>
        )}
      />
    </Card>
  );
}

export default function CampaignCreate() {
  const { t, tr } = useI18n();
  const navigate = useNavigate();
  const groups = useGroups();
  const segments = useSegments();
  const [name, setName] = useState('');
  const [groupIds, setGroupIds] = useState<string[]>([]);
  const [segmentIds, setSegmentIds] = useState<string[]>([]);
  const [numbers, setNumbers] = useState('');
  const [mode, setMode] = useState<'text' | 'template'>('text');
  const [content, setContent] = useState('');
  const [type, setType] = useState('notification');
  const [templateId, setTemplateId] = useState<string | undefined>();
  const [params, setParams] = useState<Record<string, string>>({});
  const [sign, setSign] = useState<string | undefined>();
  const [scheduleKind, setScheduleKind] = useState<ScheduleKind>('now');
  const [at, setAt] = useState<Dayjs | null>(null);
  const [ruleKind, setRuleKind] = useState<RuleKind>('daily');
  const [ruleTime, setRuleTime] = useState<Dayjs | null>(null);
  const [weekDays, setWeekDays] = useState<number[]>([1]);
  const [monthDay, setMonthDay] = useState<number>(1);
  const [throttle, setThrottle] = useState<number | null>(null);
  const [abOn, setAbOn] = useState(false);
  const [ab, setAb] = useState<AbDraft>(initialAb);
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
  const pasted = parseRecipients(numbers);
  const mainVariables = mode === 'template' ? (template?.variables ?? []).map((v) => v.name) : [];
  // Variants have no params of their own: their templates' variables are filled from the
  // campaign's params too (see CampaignAbSection), so the params sent are every template's.
  const paramNames = new Set([
    ...mainVariables,
    ...(abOn ? variantVariables(ab, approvedTemplates).flat() : []),
  ]);
  const sentParams = Object.fromEntries(
    Object.entries(params).filter(([name, value]) => paramNames.has(name) && value !== ''),
  );

  const schedule = () => {
    if (scheduleKind === 'now') return { kind: 'now' };
    if (scheduleKind === 'at') return { kind: 'at', at: at?.toISOString() };
    const time = (ruleTime ?? null)?.format('HH:mm') ?? '09:00';
    const rule =
      ruleKind === 'daily'
        ? { kind: 'daily', time }
        : ruleKind === 'weekly'
          ? { kind: 'weekly', time, days: weekDays }
          : { kind: 'monthly', time, day_of_month: monthDay };
    return { kind: 'recurring', rule };
  };
  const body = () => ({
    name: name.trim(),
    audience: {
      ...(groupIds.length ? { group_ids: groupIds.map(Number) } : {}),
      ...(segmentIds.length ? { segment_ids: segmentIds.map(Number) } : {}),
      ...(pasted.length ? { numbers: pasted.join('\n') } : {}),
    },
    ...(mode === 'template' ? { template_id: templateId } : { content, type }),
    ...(Object.keys(sentParams).length > 0 ? { params: sentParams } : {}),
    ...(signName ? { sign_name: signName } : {}),
    schedule: schedule(),
    ...(throttle ? { throttle_per_minute: throttle } : {}),
    ...(abOn ? { ab: abBody(ab) } : {}),
  });
  const preview = useMutation({ mutationFn: () => post<Preview>('/v1/campaigns/preview', body()) });
  const create = useMutation({
    mutationFn: () => post<{ id: string }>('/v1/campaigns', body()),
    onSuccess: (c) => navigate(`/campaigns/${c.id}`),
  });
  const issues = abIssues(ab, scheduleKind === 'recurring');
  const hasAudience = groupIds.length + segmentIds.length + pasted.length > 0;
  const ready =
    name.trim() !== '' &&
    hasAudience &&
    (mode === 'text' ? content.trim() !== '' : !!template) &&
    (scheduleKind !== 'at' || at !== null) &&
    (!abOn || !hasIssues(issues));

  return (
    <>
      <PageTitle>{t('campaigns.new')}</PageTitle>
      <Card style={{ marginBottom: 16 }}>
        <Form layout="vertical">
          <Form.Item label={t('field.name')} required>
            <Input
              value={name}
              maxLength={200}
              onChange={(e) => setName(e.target.value)}
              data-testid="campaign-name"
            />
          </Form.Item>
          <Typography.Title level={5}>{t('campaigns.audience')}</Typography.Title>
          <Space wrap align="start">
            <Form.Item label={t('contacts.groups')}>
              <Select
                mode="multiple"
                style={{ minWidth: 220 }}
                value={groupIds}
                onChange={setGroupIds}
                loading={groups.isPending}
                data-testid="campaign-groups"
                options={(groups.data ?? []).map((g) => ({
                  value: g.id,
                  label: `${g.name} (${g.members ?? 0})`,
                }))}
              />
            </Form.Item>
            <Form.Item label={t('contacts.segments')}>
              <Select
                mode="multiple"
                style={{ minWidth: 220 }}
                value={segmentIds}
                onChange={setSegmentIds}
                loading={segments.isPending}
                options={(segments.data ?? []).map((s) => ({ value: s.id, label: s.name }))}
              />
            </Form.Item>
          </Space>
          <Form.Item label={t('send.recipients')} help={t('campaigns.pastedHelp', { n: pasted.length })}>
            <Input.TextArea rows={3} value={numbers} onChange={(e) => setNumbers(e.target.value)} />
          </Form.Item>
          <Typography.Title level={5}>{t('send.mode')}</Typography.Title>
          <Form.Item>
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
                  style={{ width: 200 }}
                  options={['notification', 'marketing'].map((v) => ({ value: v, label: tr(`type.${v}`) }))}
                />
              </Form.Item>
              <Form.Item label={t('field.content')} help={t('campaigns.contentHelp')}>
                <Input.TextArea
                  rows={3}
                  maxLength={2000}
                  value={content}
                  onChange={(e) => setContent(e.target.value)}
                  data-testid="campaign-content"
                />
              </Form.Item>
            </>
          ) : (
            <>
              <Form.Item label={t('send.template')}>
                <Select
                  value={templateId}
                  onChange={(v) => {
                    setTemplateId(v);
                    // The old template's values go, except those a variant's template still names.
                    const kept = new Set(abOn ? variantVariables(ab, approvedTemplates).flat() : []);
                    setParams((p) =>
                      Object.fromEntries(Object.entries(p).filter(([name]) => kept.has(name))),
                    );
                  }}
                  placeholder={t('send.pickTemplate')}
                  options={approvedTemplates.map((x) => ({ value: x.id, label: `${x.name} — ${x.content}` }))}
                />
              </Form.Item>
              {template?.variables.map((v) => (
                <Form.Item key={v.name} label={v.name} help={t('campaigns.paramHelp')}>
                  <Input
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
              style={{ width: 200 }}
              data-testid="campaign-signature"
              options={approvedSigns.map((s) => ({ value: s.name, label: `【${s.name}】` }))}
            />
          </Form.Item>
          <Typography.Title level={5}>{t('send.schedule')}</Typography.Title>
          <Form.Item>
            <Radio.Group
              value={scheduleKind}
              onChange={(e) => setScheduleKind(e.target.value as ScheduleKind)}
            >
              <Radio.Button value="now">{t('campaigns.now')}</Radio.Button>
              <Radio.Button value="at">{t('campaigns.later')}</Radio.Button>
              <Radio.Button value="recurring">{t('campaigns.recurring')}</Radio.Button>
            </Radio.Group>
          </Form.Item>
          {scheduleKind === 'at' && (
            <Form.Item label={t('campaigns.at')}>
              <DatePicker showTime value={at} onChange={setAt} />
            </Form.Item>
          )}
          {scheduleKind === 'recurring' && (
            <Space wrap align="start">
              <Form.Item label={t('campaigns.repeat')}>
                <Select
                  value={ruleKind}
                  onChange={setRuleKind}
                  style={{ width: 140 }}
                  options={(['daily', 'weekly', 'monthly'] as const).map((v) => ({
                    value: v,
                    label: tr(`campaigns.${v}`),
                  }))}
                />
              </Form.Item>
              <Form.Item label={t('campaigns.time')} help={t('campaigns.timeZone')}>
                <TimePicker format="HH:mm" value={ruleTime} onChange={setRuleTime} />
              </Form.Item>
              {ruleKind === 'weekly' && (
                <Form.Item label={t('campaigns.weekDays')}>
                  <Checkbox.Group
                    value={weekDays}
                    onChange={(v) => setWeekDays(v)}
                    options={[1, 2, 3, 4, 5, 6, 7].map((d) => ({ value: d, label: tr(`weekday.${d}`) }))}
                  />
                </Form.Item>
              )}
              {ruleKind === 'monthly' && (
                <Form.Item label={t('campaigns.monthDay')}>
                  <InputNumber min={1} max={31} value={monthDay} onChange={(v) => setMonthDay(v ?? 1)} />
                </Form.Item>
              )}
            </Space>
          )}
          <Form.Item label={t('field.throttle_per_minute')} help={t('campaigns.throttleHelp')}>
            <InputNumber
              min={1}
              max={1_000_000}
              value={throttle}
              onChange={setThrottle}
              style={{ width: 200 }}
            />
          </Form.Item>
          <Form.Item help={t('campaigns.abEnableHelp')}>
            <Checkbox checked={abOn} onChange={(e) => setAbOn(e.target.checked)} data-testid="ab-enable">
              {t('campaigns.abEnable')}
            </Checkbox>
          </Form.Item>
          {abOn && (
            <CampaignAbSection
              value={ab}
              onChange={setAb}
              issues={issues}
              templates={approvedTemplates}
              signatures={approvedSigns.map((s) => s.name)}
              params={params}
              onParamChange={(name, value) => setParams((p) => ({ ...p, [name]: value }))}
              mainVariables={mainVariables}
            />
          )}
          {preview.error && (
            <Alert type="error" showIcon message={errorText(preview.error)} style={{ marginBottom: 12 }} />
          )}
          {create.error && (
            <Alert type="error" showIcon message={errorText(create.error)} style={{ marginBottom: 12 }} />
          )}
          {preview.data && <PreviewCard preview={preview.data} />}
          <Space>
            <Button
              disabled={!ready}
              loading={preview.isPending}
              onClick={() => preview.mutate()}
              data-testid="campaign-preview-button"
            >
              {t('send.preview')}
            </Button>
            <Button
              type="primary"
              disabled={!ready}
              loading={create.isPending}
              onClick={() => create.mutate()}
              data-testid="campaign-create"
            >
              {t('campaigns.create')}
            </Button>
          </Space>
        </Form>
      </Card>
    </>
  );
}
