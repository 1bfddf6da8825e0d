// Developers: signed API credentials (the secret shown once, rotation, revocation), SMPP accounts,
// webhook endpoints (Webhooks.tsx), and webhook deliveries with replay; a link to the API documentation.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Checkbox, Form, Input, Typography } from 'antd';
import { post } from '../../api.ts';
import { PageTitle, Section } from '../../components/Section.tsx';
import { errorText } from '../../components/states.tsx';
import { useI18n } from '../../i18n/i18n.tsx';
import { CredentialList, parseAllow, SmppAccounts } from './DeveloperAccess.tsx';
import { WebhookDeliveries, WebhookEndpoints } from './Webhooks.tsx';

const SCOPES = ['send', 'read', 'templates', 'billing', 'webhooks'];

interface CredentialDraft {
  name: string;
  scopes: string[];
  /** Addresses or CIDRs, separated by commas or spaces; empty: any address. */
  allow?: string;
}

export default function Developers() {
  const { t } = useI18n();
  const client = useQueryClient();
  const create = useMutation({
    mutationFn: (v: CredentialDraft) =>
      post<{ credential: { id: string; app_key?: string }; app_secret: string }>('/v1/credentials', {
        name: v.name,
        scopes: v.scopes,
        allow: parseAllow(v.allow),
      }),
    onSuccess: () => client.invalidateQueries({ queryKey: ['credentials'] }),
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
          onFinish={(v: CredentialDraft) => create.mutate(v)}
          style={{ rowGap: 8, marginBottom: 12 }}
        >
          <Form.Item
            name="name"
            label={t('field.name')}
            rules={[{ required: true, message: t('form.required') }]}
          >
            <Input maxLength={100} data-testid="credential-name" />
          </Form.Item>
          <Form.Item name="scopes" label={t('field.scopes')}>
            <Checkbox.Group options={SCOPES} />
          </Form.Item>
          <Form.Item name="allow" label={t('field.allow')} tooltip={t('developers.allowHelp')}>
            <Input
              placeholder="203.0.113.0/24, 2001:db8::/32"
              style={{ width: 260 }}
              data-testid="credential-allow"
            />
          </Form.Item>
          <Button type="primary" htmlType="submit" loading={create.isPending} data-testid="credential-create">
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
              <Typography.Text copyable code data-testid="credential-secret">
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
        <Typography.Paragraph type="secondary">{t('developers.replayHint')}</Typography.Paragraph>
        <WebhookDeliveries />
      </Section>
    </>
  );
}
