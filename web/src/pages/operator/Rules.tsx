// Rule sets, and a test box that shows the verdict the rules in force give a text.
import { useMutation } from '@tanstack/react-query';
import { Alert, Button, Form, Input, Select } from 'antd';
import { post } from '../../api.ts';
import { type Finding, Findings } from '../../components/Findings.tsx';
import { PageTitle, Section } from '../../components/Section.tsx';
import { errorText } from '../../components/states.tsx';
import { ListTable, type Row } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';

export default function Rules() {
  const { t, tr } = useI18n();
  const check = useMutation({
    mutationFn: (v: { content: string; type: string }) =>
      post<{ blocked: boolean; findings: Finding[] }>('/v1/operator/compliance/check', v),
  });
  return (
    <>
      <PageTitle>{t('nav.rules')}</PageTitle>
      <Section title={t('rules.testBox')}>
        <Form
          layout="vertical"
          initialValues={{ type: 'marketing' }}
          onFinish={(v: { content: string; type: string }) => check.mutate(v)}
        >
          <Form.Item name="type" label={t('field.type')}>
            <Select
              options={['verification', 'notification', 'marketing'].map((v) => ({
                value: v,
                label: tr(`type.${v}`),
              }))}
            />
          </Form.Item>
          <Form.Item
            name="content"
            label={t('field.content')}
            rules={[{ required: true, message: t('form.required') }]}
          >
            <Input.TextArea rows={3} />
          </Form.Item>
          {check.data && <Findings findings={check.data.findings} blocked={check.data.blocked} />}
          {check.error && (
            <Alert type="error" showIcon message={errorText(check.error)} style={{ marginBottom: 12 }} />
          )}
          <Button type="primary" htmlType="submit" loading={check.isPending}>
            {t('send.check')}
          </Button>
        </Form>
      </Section>
      <Section title={t('rules.sets')}>
        <ListTable
          queryKey={['rule-sets']}
          path="/v1/operator/compliance/rule-sets"
          select={(d) => (Array.isArray(d) ? d : ((d as { data?: Row[] }).data ?? []))}
        />
      </Section>
    </>
  );
}
