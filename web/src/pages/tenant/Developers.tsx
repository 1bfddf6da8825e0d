// Developers: signed API credentials (the secret shown once, rotation, revocation), SMPP accounts,
// webhook endpoints (Webhooks.tsx), and webhook deliveries with replay; a link to the API documentation.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Checkbox, Form, Input, Typography } from 'antd';
import { post } from '../../api.ts';
import { PageTitle, Section } from '../../components/Section.tsx';
import { errorText } from '../../components/states.tsx';
import { CursorTable } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';
import { CredentialList, SmppAccounts } from './DeveloperAccess.tsx';
import { WebhookEndpoints } from './Webhooks.tsx';

const SCOPES = ['send', 'read', 'templates', 'billing', 'webhooks'];

export default function Developers() {
  const { t } = useI18n();
  const client = useQueryClient();
  const create = useMutation({
    mutationFn: (v: { name: string; scopes: string[] }) =>
      post<{ credential: { id: string; app_key?: string }; app_secret: string }>('/v1/credentials', v),
    onSuccess: () => client.invalidateQueries({ queryKey: ['credentials'] }),
  });
  const replay = useMutation({
    mutationFn: (id: unknown) => post(`/v1/webhooks/deliveries/${String(id)}/replay`),
    onSuccess: () => client.invalidateQueries({ queryKey: ['deliveries'] }),
  });
  return (
    <>
      <PageTitle>{t('nav.developers')}</PageTitle>
      <Typography.Paragraph>
        <a href="/docs" target="_blank" rel="noreferrer">
          {t('developers.docs')}
        </a>
      </Typography.Paragraph>
      <Section title={t('developers.credentials')}>
        <Form
          layout="inline"
          initialValues={{ scopes: ['send', 'read'] }}
          onFinish={(v: { name: string; scopes: string[] }) => create.mutate(v)}
          style={{ rowGap: 8, marginBottom: 12 }}
        >
          <Form.Item
            name="name"
            label={t('field.name')}
            rules={[{ required: true, message: t('form.required') }]}
          >
            <Input maxLength={100} />
          </Form.Item>
          <Form.Item name="scopes" label={t('field.scopes')}>
            <Checkbox.Group options={SCOPES} />
          </Form.Item>
          <Button type="primary" htmlType="submit" loading={create.isPending}>
            {t('action.create')}
          </Button>
        </Form>
        {create.data && (
          <Alert
            type="warning"
            showIcon
            style={{ marginBottom: 12 }}
            message={t('developers.secretOnce')}
            description={
              <Typography.Text copyable code>
                {create.data.app_secret}
              </Typography.Text>
            }
          />
        )}
        {create.error && (
          <Alert type="error" showIcon message={errorText(create.error)} style={{ marginBottom: 12 }} />
        )}
        <CredentialList />
      </Section>
      <SmppAccounts />
      <Section title={t('developers.webhooks')}>
        <WebhookEndpoints />
      </Section>
      <Section title={t('developers.deliveries')}>
        {replay.error && (
          <Alert type="error" showIcon message={errorText(replay.error)} style={{ marginBottom: 12 }} />
        )}
        <CursorTable queryKey={['deliveries']} path="/v1/webhooks/deliveries" />
        <Typography.Paragraph type="secondary" style={{ marginTop: 8 }}>
          {t('developers.replayHint')}
        </Typography.Paragraph>
        <Form layout="inline" onFinish={(v: { id: string }) => replay.mutate(v.id.trim())}>
          <Form.Item
            name="id"
            label={t('field.id')}
            rules={[{ required: true, message: t('form.required') }]}
          >
            <Input />
          </Form.Item>
          <Button htmlType="submit" loading={replay.isPending}>
            {t('developers.replay')}
          </Button>
        </Form>
        {replay.isSuccess && (
          <Alert type="success" showIcon message={t('developers.replayed')} style={{ marginTop: 12 }} />
        )}
      </Section>
    </>
  );
}
