// Opt-outs: the numbers that asked to receive no more messages from this tenant (a reply such as
// "TD", or added here or through the API), paged on the server (GET /v1/compliance/opt-outs),
// searched by number; a number is added or taken off, and the whole list exported as CSV.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Form, Input, Popconfirm, Space, Table, Typography } from 'antd';
import { useState } from 'react';
import { allows, type TenantRole } from '../../../../src/modules/accounts/permissions.models.ts';
import { del, get, type Page, post, withQuery } from '../../api.ts';
import { useMe } from '../../components/ConsoleLayout.tsx';
import { PageTitle, Section } from '../../components/Section.tsx';
import { EmptyState, ErrorState, errorText } from '../../components/states.tsx';
import { formatValue } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';

const PATH = '/v1/compliance/opt-outs';
const PAGE = 20;

interface OptOut {
  phone: string;
  source: string | null;
  signature_id: string | null;
  created_at: string;
}

export default function OptOuts() {
  const { t, tr } = useI18n();
  const client = useQueryClient();
  const me = useMe();
  const member = { kind: 'member' as const, tenantId: Number(me.tenant_id), role: me.role as TenantRole };
  // Adding, removing and exporting are shown only to the roles the API lets do them.
  const canManage = allows(member, 'compliance.lists.manage');
  const canExport = allows(member, 'compliance.lists.export');
  const [search, setSearch] = useState('');
  const [phone, setPhone] = useState('');
  const [added, setAdded] = useState<string | null>(null);
  // The list pages by number: each page's `after` is kept, so Previous needs no offset.
  const [afters, setAfters] = useState<(string | null)[]>([null]);
  const after = afters.at(-1) ?? null;
  const list = useQuery({
    queryKey: ['opt-outs', search, after],
    queryFn: () => get<Page<OptOut>>(PATH, { phone: search || undefined, after, limit: PAGE }),
  });
  const refresh = () => client.invalidateQueries({ queryKey: ['opt-outs'] });
  const add = useMutation({
    mutationFn: (number: string) => post<{ phone: string }>(PATH, { phone: number }),
    onSuccess: (row) => {
      setAdded(row.phone);
      setPhone('');
      void refresh();
    },
  });
  const remove = useMutation({
    mutationFn: (number: string) => del(withQuery(PATH, { phone: number })),
    onSuccess: () => void refresh(),
  });
  const failed = add.error ?? remove.error;

  return (
    <>
      <PageTitle>{t('nav.optOuts')}</PageTitle>
      {canManage && (
        <Section title={t('optOuts.add')}>
          <Form
            layout="inline"
            onFinish={() => {
              setAdded(null);
              add.mutate(phone.trim());
            }}
          >
            <Form.Item label={t('field.phone')}>
              <Input
                value={phone}
                onChange={(e) => setPhone(e.target.value)}
                placeholder="+8613800138000"
                data-testid="opt-out-phone"
              />
            </Form.Item>
            <Button
              type="primary"
              htmlType="submit"
              disabled={phone.trim() === ''}
              loading={add.isPending}
              data-testid="opt-out-add"
            >
              {t('action.create')}
            </Button>
          </Form>
          {added && (
            <Alert
              type="success"
              showIcon
              style={{ marginTop: 12 }}
              message={t('optOuts.added', { phone: added })}
            />
          )}
          <Typography.Paragraph type="secondary" style={{ marginTop: 12, marginBottom: 0 }}>
            {t('optOuts.hint')}
          </Typography.Paragraph>
        </Section>
      )}
      <Section
        title={t('nav.optOuts')}
        extra={
          canExport && (
            <Button href={`${PATH}/export`} download>
              {t('action.export')} CSV
            </Button>
          )
        }
      >
        <Input.Search
          allowClear
          placeholder={t('optOuts.search')}
          enterButton={t('action.search')}
          onSearch={(v) => {
            setSearch(v.trim());
            setAfters([null]);
          }}
          style={{ maxWidth: 360, marginBottom: 12 }}
          data-testid="opt-out-search"
        />
        {failed && <Alert type="error" showIcon message={errorText(failed)} style={{ marginBottom: 12 }} />}
        {list.error ? (
          <ErrorState error={list.error} retry={() => void list.refetch()} />
        ) : (
          <>
            <Table<OptOut>
              size="small"
              scroll={{ x: true }}
              loading={list.isPending}
              rowKey="phone"
              dataSource={list.data?.data ?? []}
              locale={{ emptyText: <EmptyState /> }}
              pagination={false}
              data-testid="opt-outs"
              columns={[
                { key: 'phone', dataIndex: 'phone', title: t('field.phone') },
                {
                  key: 'source',
                  dataIndex: 'source',
                  title: t('field.source'),
                  render: (v: string | null) => (v ? tr(`optOuts.source.${v}`) : '—'),
                },
                {
                  key: 'signature_id',
                  dataIndex: 'signature_id',
                  title: t('field.signature_id'),
                  render: formatValue,
                },
                {
                  key: 'created_at',
                  dataIndex: 'created_at',
                  title: t('field.created_at'),
                  render: formatValue,
                },
                ...(canManage
                  ? [
                      {
                        key: 'actions',
                        render: (_v: unknown, row: OptOut) => (
                          <Popconfirm
                            title={t('optOuts.removeConfirm', { phone: row.phone })}
                            onConfirm={() => remove.mutate(row.phone)}
                          >
                            <Button
                              size="small"
                              danger
                              loading={remove.isPending && remove.variables === row.phone}
                            >
                              {t('action.remove')}
                            </Button>
                          </Popconfirm>
                        ),
                      },
                    ]
                  : []),
              ]}
            />
            <Space style={{ marginTop: 12 }}>
              <Button disabled={afters.length < 2} onClick={() => setAfters((a) => a.slice(0, -1))}>
                {t('action.previous')}
              </Button>
              <span>{t('table.page', { n: afters.length })}</span>
              <Button
                disabled={!list.data?.next_after}
                onClick={() => setAfters((a) => [...a, list.data?.next_after ?? null])}
              >
                {t('action.next')}
              </Button>
            </Space>
          </>
        )}
      </Section>
    </>
  );
}
