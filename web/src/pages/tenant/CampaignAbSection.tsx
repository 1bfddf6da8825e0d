// The optional A/B test of a new campaign: 2 to 5 variants (a name, and the text, template,
// signature or send time that differs from the campaign's), the test share, the metric that picks
// the winner and when. Checked here as the API checks it (campaigns.schemas.ts and abProblem in
// campaigns.models.ts), each problem shown with the code the API would answer; what only the API
// can know (a template or signature withdrawn meanwhile) comes back as the create's error.
// A variant with its own template shows that template's variables as fields. The API has no
// params per variant: every composer of the campaign (the main content and each variant) fills its
// variables from the campaign's `params`, then each recipient's own fields (campaign-runs.ts,
// composersOf and compose), so the fields edit the campaign's one params map, and a variable
// named in two templates has one value (said under the field).
import { Button, Card, Checkbox, Form, Input, InputNumber, Radio, Select, Space, Typography } from 'antd';
import type { MessageKey } from '../../i18n/i18n.tsx';
import { useI18n } from '../../i18n/i18n.tsx';

export type Override = 'none' | 'content' | 'template';
export interface VariantDraft {
  name: string;
  override: Override;
  content: string;
  templateId?: string;
  sign?: string;
  delay: number | null;
}
export type AbMetric = 'delivery_rate' | 'click_rate' | 'opt_out_rate';
export interface AbDraft {
  variants: VariantDraft[];
  /** Percent of the audience in the test (the API's test_share × 100). */
  sharePct: number | null;
  metric: AbMetric;
  decideAfter: number | null;
  auto: boolean;
  seed: number | null;
}

export const MIN_VARIANTS = 2;
export const MAX_VARIANTS = 5;
const METRICS: AbMetric[] = ['delivery_rate', 'click_rate', 'opt_out_rate'];
const NAME = /^[A-Za-z0-9_-]{1,32}$/;
const RESERVED = ['main', 'rest'];

const newVariant = (name: string): VariantDraft => ({ name, override: 'content', content: '', delay: null });

export function initialAb(): AbDraft {
  return {
    variants: [newVariant('A'), newVariant('B')],
    sharePct: 20,
    metric: 'click_rate',
    decideAfter: 240,
    auto: true,
    seed: null,
  };
}

/** A problem: the code the API answers for it and the words that say it. */
export interface AbIssue {
  code: 'request.invalid' | 'campaigns.invalid_ab';
  key: MessageKey;
}
export interface AbIssues {
  form: AbIssue[];
  variants: Partial<Record<'name' | 'content' | 'delay', AbIssue>>[];
  share?: AbIssue;
  decideAfter?: AbIssue;
  seed?: AbIssue;
}

const bad = (code: AbIssue['code'], key: MessageKey): AbIssue => ({ code, key });
const wholeIn = (v: number | null, min: number, max: number) =>
  v !== null && Number.isInteger(v) && v >= min && v <= max;

/** What the API would refuse in these settings (the schema's bounds first, then abProblem). */
export function abIssues(ab: AbDraft, recurring: boolean): AbIssues {
  const issues: AbIssues = { form: [], variants: [] };
  if (ab.variants.length < MIN_VARIANTS)
    issues.form.push(bad('request.invalid', 'campaigns.abErr.minVariants'));
  if (ab.variants.length > MAX_VARIANTS)
    issues.form.push(bad('request.invalid', 'campaigns.abErr.maxVariants'));
  if (recurring) issues.form.push(bad('campaigns.invalid_ab', 'campaigns.abErr.recurring'));
  const names = ab.variants.map((v) => v.name);
  issues.variants = ab.variants.map((v, i) => {
    const out: AbIssues['variants'][number] = {};
    if (!NAME.test(v.name)) out.name = bad('request.invalid', 'campaigns.abErr.name');
    else if (RESERVED.includes(v.name)) out.name = bad('campaigns.invalid_ab', 'campaigns.abErr.reserved');
    else if (names.indexOf(v.name) !== i) out.name = bad('campaigns.invalid_ab', 'campaigns.abErr.duplicate');
    if (v.override === 'content' && v.content.trim() === '')
      out.content = bad('request.invalid', 'campaigns.abErr.content');
    if (v.override === 'template' && v.templateId === undefined)
      out.content = bad('request.invalid', 'campaigns.abErr.template');
    if (v.delay !== null && !wholeIn(v.delay, 0, 10_080))
      out.delay = bad('request.invalid', 'campaigns.abErr.delay');
    return out;
  });
  if (ab.sharePct === null || !(ab.sharePct > 0 && ab.sharePct <= 100))
    issues.share = bad('request.invalid', 'campaigns.abErr.share');
  if (!wholeIn(ab.decideAfter, 0, 43_200))
    issues.decideAfter = bad('request.invalid', 'campaigns.abErr.decide');
  if (ab.seed !== null && !wholeIn(ab.seed, 0, 2_147_483_647))
    issues.seed = bad('request.invalid', 'campaigns.abErr.seed');
  return issues;
}

export function hasIssues(issues: AbIssues): boolean {
  return (
    issues.form.length > 0 ||
    issues.variants.some((v) => Object.keys(v).length > 0) ||
    issues.share !== undefined ||
    issues.decideAfter !== undefined ||
    issues.seed !== undefined
  );
}

/** The `ab` of the API's body: only what was set, so the campaign reads back what was entered. */
export function abBody(ab: AbDraft) {
  return {
    variants: ab.variants.map((v) => ({
      name: v.name,
      ...(v.override === 'content' ? { content: v.content } : {}),
      ...(v.override === 'template' && v.templateId !== undefined ? { template_id: v.templateId } : {}),
      ...(v.sign ? { sign_name: v.sign } : {}),
      ...(v.delay !== null ? { delay_minutes: v.delay } : {}),
    })),
    // Percent to a fraction without binary noise (12.5 → 0.125, 20 → 0.2).
    test_share: Math.round((ab.sharePct ?? 0) * 10_000) / 1_000_000,
    decide_after_minutes: ab.decideAfter,
    metric: ab.metric,
    auto: ab.auto,
    ...(ab.seed !== null ? { seed: ab.seed } : {}),
  };
}

export interface TemplateChoice {
  id: string;
  name: string;
  content: string;
  variables: { name: string }[];
}

/** The variables of each variant's own template (none for a variant without one). */
export function variantVariables(ab: AbDraft, templates: TemplateChoice[]): string[][] {
  return ab.variants.map((v) =>
    v.override === 'template'
      ? (templates.find((x) => x.id === v.templateId)?.variables ?? []).map((x) => x.name)
      : [],
  );
}

interface Props {
  value: AbDraft;
  onChange: (next: AbDraft) => void;
  issues: AbIssues;
  templates: TemplateChoice[];
  signatures: string[];
  /** The campaign's params: what every template of the campaign fills its variables from. */
  params: Record<string, string>;
  onParamChange: (name: string, value: string) => void;
  /** The variables of the main content's template (empty for free text). */
  mainVariables: string[];
}

export function CampaignAbSection({
  value,
  onChange,
  issues,
  templates,
  signatures,
  params,
  onParamChange,
  mainVariables,
}: Props) {
  const { t } = useI18n();
  const ownVariables = variantVariables(value, templates);
  /** A variable another template of the campaign also names: one value for both. */
  const shared = (i: number, name: string) =>
    mainVariables.includes(name) || ownVariables.some((names, k) => k !== i && names.includes(name));
  const say = (issue: AbIssue | undefined) => (issue ? `${t(issue.key)} (${issue.code})` : undefined);
  const status = (issue: AbIssue | undefined) => (issue ? ('error' as const) : undefined);
  const set = (patch: Partial<AbDraft>) => onChange({ ...value, ...patch });
  const setVariant = (i: number, patch: Partial<VariantDraft>) =>
    set({ variants: value.variants.map((v, k) => (k === i ? { ...v, ...patch } : v)) });
  const unusedName = () => {
    const taken = new Set(value.variants.map((v) => v.name));
    return 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'.split('').find((c) => !taken.has(c)) ?? '';
  };

  return (
    <Card size="small" style={{ marginBottom: 16 }} data-testid="ab-section">
      {value.variants.map((v, i) => {
        const vi = issues.variants[i] ?? {};
        return (
          <Card
            key={i}
            size="small"
            type="inner"
            style={{ marginBottom: 12 }}
            data-testid={`ab-variant-${i}`}
            title={`${t('campaigns.variant')} ${i + 1}`}
            extra={
              <Button
                size="small"
                danger
                onClick={() => set({ variants: value.variants.filter((_, k) => k !== i) })}
              >
                {t('campaigns.abRemoveVariant')}
              </Button>
            }
          >
            <Space wrap align="start">
              <Form.Item
                label={t('campaigns.abVariantName')}
                validateStatus={status(vi.name)}
                help={say(vi.name)}
                required
              >
                <Input
                  value={v.name}
                  maxLength={40}
                  style={{ width: 160 }}
                  onChange={(e) => setVariant(i, { name: e.target.value.trim() })}
                  data-testid={`ab-name-${i}`}
                />
              </Form.Item>
              <Form.Item label={t('campaigns.abOverride')}>
                <Radio.Group
                  value={v.override}
                  onChange={(e) => setVariant(i, { override: e.target.value as Override })}
                  data-testid={`ab-override-${i}`}
                >
                  <Radio.Button value="none">{t('campaigns.abOverride.none')}</Radio.Button>
                  <Radio.Button value="content">{t('campaigns.abOverride.content')}</Radio.Button>
                  <Radio.Button value="template">{t('campaigns.abOverride.template')}</Radio.Button>
                </Radio.Group>
              </Form.Item>
              <Form.Item label={t('field.signature')}>
                <Select
                  allowClear
                  value={v.sign}
                  onChange={(s?: string) => setVariant(i, { sign: s })}
                  placeholder={t('campaigns.abSameSignature')}
                  style={{ width: 180 }}
                  options={signatures.map((s) => ({ value: s, label: `【${s}】` }))}
                />
              </Form.Item>
              <Form.Item
                label={t('campaigns.abDelay')}
                validateStatus={status(vi.delay)}
                help={say(vi.delay)}
              >
                <InputNumber
                  value={v.delay}
                  precision={0}
                  onChange={(d) => setVariant(i, { delay: d })}
                  style={{ width: 140 }}
                  data-testid={`ab-delay-${i}`}
                />
              </Form.Item>
            </Space>
            {v.override === 'content' && (
              <Form.Item
                label={t('field.content')}
                validateStatus={status(vi.content)}
                help={say(vi.content) ?? t('campaigns.contentHelp')}
              >
                <Input.TextArea
                  rows={2}
                  maxLength={2000}
                  value={v.content}
                  onChange={(e) => setVariant(i, { content: e.target.value })}
                  data-testid={`ab-content-${i}`}
                />
              </Form.Item>
            )}
            {v.override === 'template' && (
              <Form.Item
                label={t('send.template')}
                validateStatus={status(vi.content)}
                help={say(vi.content)}
              >
                <Select
                  value={v.templateId}
                  onChange={(id: string) => setVariant(i, { templateId: id })}
                  placeholder={t('send.pickTemplate')}
                  options={templates.map((x) => ({ value: x.id, label: `${x.name} — ${x.content}` }))}
                  data-testid={`ab-template-${i}`}
                />
              </Form.Item>
            )}
            {(ownVariables[i] ?? []).length > 0 && (
              <Space wrap align="start" data-testid={`ab-params-${i}`}>
                {(ownVariables[i] ?? []).map((name) => (
                  <Form.Item
                    key={name}
                    label={name}
                    help={shared(i, name) ? t('campaigns.abParamShared') : t('campaigns.paramHelp')}
                  >
                    <Input
                      value={params[name] ?? ''}
                      maxLength={500}
                      style={{ width: 220 }}
                      onChange={(e) => onParamChange(name, e.target.value)}
                      data-testid={`ab-param-${i}-${name}`}
                    />
                  </Form.Item>
                ))}
              </Space>
            )}
          </Card>
        );
      })}
      {issues.form.map((issue) => (
        <Typography.Paragraph key={issue.key} type="danger" data-testid="ab-error">
          {say(issue)}
        </Typography.Paragraph>
      ))}
      <Button
        style={{ marginBottom: 16 }}
        disabled={value.variants.length >= MAX_VARIANTS}
        onClick={() => set({ variants: [...value.variants, newVariant(unusedName())] })}
        data-testid="ab-add-variant"
      >
        {t('campaigns.abAddVariant')}
      </Button>
      <Space wrap align="start">
        <Form.Item
          label={t('campaigns.abShare')}
          validateStatus={status(issues.share)}
          help={say(issues.share) ?? t('campaigns.abShareHelp')}
          required
        >
          <InputNumber
            value={value.sharePct}
            precision={2}
            addonAfter="%"
            onChange={(p) => set({ sharePct: p })}
            style={{ width: 140 }}
            data-testid="ab-share"
          />
        </Form.Item>
        <Form.Item label={t('campaigns.abMetric')} required>
          <Select
            value={value.metric}
            onChange={(m: AbMetric) => set({ metric: m })}
            style={{ width: 160 }}
            data-testid="ab-metric"
            options={METRICS.map((m) => ({ value: m, label: t(`field.${m}`) }))}
          />
        </Form.Item>
        <Form.Item
          label={t('campaigns.abDecideAfter')}
          validateStatus={status(issues.decideAfter)}
          help={say(issues.decideAfter)}
          required
        >
          <InputNumber
            value={value.decideAfter}
            precision={0}
            onChange={(d) => set({ decideAfter: d })}
            style={{ width: 160 }}
            data-testid="ab-decide"
          />
        </Form.Item>
        <Form.Item
          label={t('campaigns.abSeed')}
          validateStatus={status(issues.seed)}
          help={say(issues.seed) ?? t('campaigns.abSeedHelp')}
        >
          <InputNumber
            value={value.seed}
            precision={0}
            onChange={(s) => set({ seed: s })}
            style={{ width: 160 }}
            data-testid="ab-seed"
          />
        </Form.Item>
      </Space>
      <Form.Item style={{ marginBottom: 0 }}>
        <Checkbox
          checked={value.auto}
          onChange={(e) => set({ auto: e.target.checked })}
          data-testid="ab-auto"
        >
          {t('campaigns.abAuto')}
        </Checkbox>
      </Form.Item>
    </Card>
  );
}
