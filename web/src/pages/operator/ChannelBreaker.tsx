// One channel's circuit breaker: its live state (from the routing health), the thresholds an
// operator may change (GET/PATCH /v1/operator/channels/:id/breaker; workers apply a change at
// their next channel sync, no restart) and how the rate is judged (fixed in this version). The
// server checks ranges and the hysteresis; what it refuses is shown with its code.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Descriptions, Form, InputNumber, Select, Space, Typography } from 'antd';
import { get, patch } from '../../api.ts';
import { ErrorState, errorText, PageLoading } from '../../components/states.tsx';
import { formatValue, type Row, StatusTag } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';

export interface Breaker {
  channel_id: number;
  channel: string;
  degrade_below: number;
  recover_above: number;
  probe_share: number;
  channel_specific_codes: string[];
  window: number;
  min_receipts: number;
  probe_window: number;
  submit_errors_above: number;
  quick_receipts: number[];
  quick_confidence: number;
}

type Settings = Pick<Breaker, 'degrade_below' | 'recover_above' | 'probe_share' | 'channel_specific_codes'>;

const percent = (v: unknown) => (typeof v === 'number' ? `${(v * 100).toFixed(1)} %` : '—');

/** The channel's breaker state as the health route reports it (the same query as the page's table). */
function BreakerState({ channelId }: { channelId: number }) {
  const { t } = useI18n();
  const health = useQuery({
    queryKey: ['op-health', undefined],
    queryFn: () => get<{ data: Row[] }>('/v1/operator/routing/health'),
    refetchInterval: 5000,
  });
  if (health.isPending) return <PageLoading />;
  if (health.error) return <ErrorState error={health.error} retry={() => void health.refetch()} />;
  const row = health.data.data.find((r) => r.channel_id === channelId);
  if (!row) return <Typography.Text type="secondary">{t('breaker.noHealth')}</Typography.Text>;
  return (
    <Space wrap data-testid="breaker-state">
      <StatusTag value={row.breaker} />
      {typeof row.breaker_since === 'string' && (
        <Typography.Text type="secondary">
          {t('breaker.since', { at: String(formatValue(row.breaker_since)) })}
        </Typography.Text>
      )}
      <Typography.Text>
        {t('field.delivery_rate')}: {percent(row.delivery_rate)}
      </Typography.Text>
    </Space>
  );
}

export function ChannelBreaker({ channelId, onDone }: { channelId: number; onDone: () => void }) {
  const { t } = useI18n();
  const client = useQueryClient();
  const path = `/v1/operator/channels/${channelId}/breaker`;
  const breaker = useQuery({ queryKey: ['op-breaker', channelId], queryFn: () => get<Breaker>(path) });
  const save = useMutation({
    mutationFn: (v: Settings) => patch<Breaker>(path, v),
    onSuccess: (next) => {
      client.setQueryData(['op-breaker', channelId], next);
      return client.invalidateQueries({ queryKey: ['op-channels'] });
    },
  });
  if (breaker.isPending) return <PageLoading />;
  if (breaker.error) return <ErrorState error={breaker.error} retry={() => void breaker.refetch()} />;
  const b = breaker.data;
  const share = (name: keyof Settings, max: number, testId: string) => (
    <Form.Item
      name={name}
      label={t(`breaker.${name}`)}
      extra={t(`breaker.${name}.help`)}
      rules={[{ required: true, message: t('form.required') }]}
    >
      <InputNumber min={0} max={max} step={0.005} precision={3} data-testid={testId} style={{ width: 160 }} />
    </Form.Item>
  );
  return (
    <>
      <Typography.Title level={5}>{t('breaker.state')}</Typography.Title>
      <BreakerState channelId={channelId} />
      <Typography.Title level={5} style={{ marginTop: 16 }}>
        {t('breaker.thresholds')}
      </Typography.Title>
      <Form<Settings>
        layout="vertical"
        initialValues={{
          degrade_below: b.degrade_below,
          recover_above: b.recover_above,
          probe_share: b.probe_share,
          channel_specific_codes: b.channel_specific_codes,
        }}
        onValuesChange={() => save.reset()}
        onFinish={(v) => save.mutate({ ...v, channel_specific_codes: v.channel_specific_codes ?? [] })}
      >
        {share('degrade_below', 1, 'breaker-degrade')}
        {share('recover_above', 1, 'breaker-recover')}
        {share('probe_share', 0.5, 'breaker-probe')}
        <Form.Item
          name="channel_specific_codes"
          label={t('breaker.channel_specific_codes')}
          extra={t('breaker.channel_specific_codes.help')}
        >
          <Select
            mode="tags"
            open={false}
            suffixIcon={null}
            tokenSeparators={[',', ' ', '\n']}
            placeholder="smpp.ESME_RSUBMITFAIL"
            data-testid="breaker-codes"
          />
        </Form.Item>
        {save.error && (
          <Alert
            type="error"
            showIcon
            data-testid="breaker-error"
            message={errorText(save.error)}
            style={{ marginBottom: 12 }}
          />
        )}
        {save.isSuccess && (
          <Alert
            type="success"
            showIcon
            data-testid="breaker-saved"
            message={t('breaker.saved')}
            style={{ marginBottom: 12 }}
          />
        )}
        <Space>
          <Button type="primary" htmlType="submit" loading={save.isPending} data-testid="breaker-save">
            {t('action.save')}
          </Button>
          <Button onClick={onDone}>{t('action.close')}</Button>
        </Space>
      </Form>
      <Typography.Title level={5} style={{ marginTop: 16 }}>
        {t('breaker.fixed')}
      </Typography.Title>
      <Descriptions size="small" column={1} bordered>
        <Descriptions.Item label={t('breaker.window')}>{b.window}</Descriptions.Item>
        <Descriptions.Item label={t('breaker.min_receipts')}>{b.min_receipts}</Descriptions.Item>
        <Descriptions.Item label={t('breaker.probe_window')}>{b.probe_window}</Descriptions.Item>
        <Descriptions.Item label={t('breaker.submit_errors_above')}>
          {percent(b.submit_errors_above)}
        </Descriptions.Item>
        <Descriptions.Item label={t('breaker.quick')}>
          {t('breaker.quickValue', {
            counts: b.quick_receipts.join(' / '),
            confidence: percent(b.quick_confidence),
          })}
        </Descriptions.Item>
      </Descriptions>
    </>
  );
}
