// The platform's compliance settings (GET/PATCH /v1/operator/compliance/settings): the length of a
// signature name, and the review desks' calendar (time zone, holidays) and hours (working days,
// opening, intake, closing, target). The whole form is sent; the server checks it as a whole
// (compliance.invalid_settings, with the reason) and audits the change.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  AutoComplete,
  Button,
  Card,
  Checkbox,
  Flex,
  Form,
  Input,
  InputNumber,
  Select,
  Switch,
  Typography,
} from 'antd';
import { get, patch } from '../../api.ts';
import { ErrorState, errorText, PageLoading } from '../../components/states.tsx';
import { useI18n } from '../../i18n/i18n.tsx';

const KINDS = ['signature', 'template', 'marketing', 'qualification'] as const;
const WEEKDAYS = [1, 2, 3, 4, 5, 6, 7] as const;
const TIME = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const PATH = '/v1/operator/compliance/settings';

interface Desk {
  days: number[];
  open: string;
  close: string;
  intake_until: string;
  target_minutes: number;
  closed_on_holidays: boolean;
  holiday_target_minutes: number | null;
}
export interface ComplianceSettingsValue {
  signature_name: { min: number; max: number };
  review: { time_zone: string; holidays: string[]; workdays: string[] } & Record<
    (typeof KINDS)[number],
    Desk
  >;
}

/** The zones this browser knows (IANA names); the server checks the one given against its own. */
function timeZones(): { value: string }[] {
  try {
    return Intl.supportedValuesOf('timeZone').map((value) => ({ value }));
  } catch {
    return [];
  }
}

function DeskFields({ kind }: { kind: (typeof KINDS)[number] }) {
  const { t, tr } = useI18n();
  const time = (field: 'open' | 'intake_until' | 'close') => (
    <Form.Item
      name={['review', kind, field]}
      label={t(`compliance.${field}`)}
      extra={field === 'intake_until' ? t('compliance.intakeHelp') : undefined}
      rules={[
        { required: true, message: t('form.required') },
        { pattern: TIME, message: t('compliance.timeFormat') },
      ]}
      style={{ maxWidth: 220 }}
    >
      <Input placeholder="09:00" maxLength={5} data-testid={`desk-${kind}-${field}`} style={{ width: 100 }} />
    </Form.Item>
  );
  return (
    <Card size="small" title={t(`compliance.desk.${kind}`)} style={{ marginBottom: 16 }}>
      <Typography.Paragraph type="secondary">{t('compliance.deskHelp')}</Typography.Paragraph>
      <Form.Item
        name={['review', kind, 'days']}
        label={t('compliance.days')}
        rules={[{ required: true, message: t('form.required') }]}
      >
        <Checkbox.Group
          data-testid={`desk-${kind}-days`}
          options={WEEKDAYS.map((d) => ({ value: d, label: tr(`weekday.${d}`) }))}
        />
      </Form.Item>
      <Flex wrap gap={16}>
        {time('open')}
        {time('intake_until')}
        {time('close')}
        <Form.Item
          name={['review', kind, 'target_minutes']}
          label={t('compliance.target_minutes')}
          rules={[{ required: true, message: t('form.required') }]}
        >
          <InputNumber min={1} max={100_000} precision={0} data-testid={`desk-${kind}-target`} />
        </Form.Item>
        <Form.Item
          name={['review', kind, 'closed_on_holidays']}
          label={t('compliance.closed_on_holidays')}
          valuePropName="checked"
        >
          <Switch data-testid={`desk-${kind}-holidays`} />
        </Form.Item>
        <Form.Item
          name={['review', kind, 'holiday_target_minutes']}
          label={t('compliance.holiday_target_minutes')}
          extra={t('compliance.holidayTargetHelp')}
          style={{ maxWidth: 320 }}
        >
          <InputNumber min={1} max={100_000} precision={0} data-testid={`desk-${kind}-holiday-target`} />
        </Form.Item>
      </Flex>
    </Card>
  );
}

/** A list of local dates (YYYY-MM-DD) typed or pasted as tags: the holidays, the weekend days worked. */
function DateTagsField({ field, placeholder }: { field: 'holidays' | 'workdays'; placeholder: string }) {
  const { t } = useI18n();
  return (
    <Form.Item
      name={['review', field]}
      label={t(`compliance.${field}`)}
      extra={t(`compliance.${field}Help`)}
      rules={[
        {
          validator: (_r, v: string[] | undefined) => {
            const bad = (v ?? []).find((d) => !DATE.test(d));
            return bad === undefined
              ? Promise.resolve()
              : Promise.reject(new Error(t('compliance.badDate', { value: bad })));
          },
        },
      ]}
    >
      <Select
        mode="tags"
        open={false}
        suffixIcon={null}
        tokenSeparators={[',', ' ', '\n', '，']}
        placeholder={placeholder}
        data-testid={field}
      />
    </Form.Item>
  );
}

export function ComplianceSettings() {
  const { t } = useI18n();
  const client = useQueryClient();
  const [form] = Form.useForm<ComplianceSettingsValue>();
  const settings = useQuery({
    queryKey: ['op-compliance-settings'],
    queryFn: () => get<ComplianceSettingsValue>(PATH),
  });
  const save = useMutation({
    mutationFn: (v: ComplianceSettingsValue) => patch<ComplianceSettingsValue>(PATH, v),
    onSuccess: async (next) => {
      client.setQueryData(['op-compliance-settings'], next);
      form.setFieldsValue(next);
      // Due times and overdue flags of the queues follow the new hours.
      await client.invalidateQueries({ queryKey: ['queue'] });
    },
  });
  if (settings.isPending) return <PageLoading />;
  if (settings.error) return <ErrorState error={settings.error} retry={() => void settings.refetch()} />;
  return (
    <Form<ComplianceSettingsValue>
      form={form}
      layout="vertical"
      initialValues={settings.data}
      onValuesChange={() => save.reset()}
      onFinish={(v) => save.mutate(v)}
      style={{ maxWidth: 880 }}
    >
      <Typography.Paragraph type="secondary">{t('compliance.help')}</Typography.Paragraph>
      <Card size="small" title={t('compliance.signatureName')} style={{ marginBottom: 16 }}>
        <Flex wrap gap={16}>
          <Form.Item
            name={['signature_name', 'min']}
            label={t('compliance.min')}
            rules={[{ required: true, message: t('form.required') }]}
          >
            <InputNumber min={1} max={64} precision={0} data-testid="signature-name-min" />
          </Form.Item>
          <Form.Item
            name={['signature_name', 'max']}
            label={t('compliance.max')}
            rules={[{ required: true, message: t('form.required') }]}
          >
            <InputNumber min={1} max={64} precision={0} data-testid="signature-name-max" />
          </Form.Item>
        </Flex>
      </Card>
      <Card size="small" title={t('compliance.calendar')} style={{ marginBottom: 16 }}>
        <Form.Item
          name={['review', 'time_zone']}
          label={t('compliance.timeZone')}
          rules={[{ required: true, whitespace: true, message: t('form.required') }]}
        >
          <AutoComplete
            options={timeZones()}
            filterOption={(input, option) =>
              option?.value.toLowerCase().includes(input.toLowerCase()) ?? false
            }
            style={{ maxWidth: 320 }}
          >
            <Input maxLength={64} data-testid="time-zone" />
          </AutoComplete>
        </Form.Item>
        <DateTagsField field="holidays" placeholder="2026-10-01" />
        <DateTagsField field="workdays" placeholder="2026-10-10" />
      </Card>
      {KINDS.map((kind) => (
        <DeskFields key={kind} kind={kind} />
      ))}
      {save.error && (
        <Alert
          type="error"
          showIcon
          data-testid="settings-error"
          message={errorText(save.error)}
          style={{ marginBottom: 12 }}
        />
      )}
      {save.isSuccess && (
        <Alert
          type="success"
          showIcon
          data-testid="settings-saved"
          message={t('state.saved')}
          style={{ marginBottom: 12 }}
        />
      )}
      <Button type="primary" htmlType="submit" loading={save.isPending} data-testid="settings-save">
        {t('action.save')}
      </Button>
    </Form>
  );
}
