// Rule sets: whether each blocks or warns and whether it is on, its words (listed, added,
// removed, imported from a file and exported), and a test box that shows the verdict the rules in
// force give a text.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Form, Input, Modal, Popconfirm, Select, Space, Switch, Table, Upload } from 'antd';
import { useState } from 'react';
import { get, patch, post, uploadRaw } from '../../api.ts';
import { type Finding, Findings } from '../../components/Findings.tsx';
import { PageTitle, Section } from '../../components/Section.tsx';
import { EmptyState, ErrorState, errorText, PageLoading } from '../../components/states.tsx';
import { ListTable, type Row } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';

interface RuleSet {
  id: string;
  name: string;
  word_count: number;
  words: string[];
}

/** At most this many words a request (the API's limit); a longer list goes through import. */
const MAX_ADD = 1000;

function Words({ setId }: { setId: string }) {
  const { t } = useI18n();
  const client = useQueryClient();
  const path = `/v1/operator/compliance/rule-sets/${setId}`;
  const set = useQuery({ queryKey: ['rule-set', setId], queryFn: () => get<RuleSet>(path) });
  const [filter, setFilter] = useState('');
  const [text, setText] = useState('');
  const [mode, setMode] = useState<'add' | 'replace'>('add');
  const [done, setDone] = useState<string | null>(null);
  const refresh = async (message: string) => {
    setDone(message);
    await client.invalidateQueries({ queryKey: ['rule-set', setId] });
    await client.invalidateQueries({ queryKey: ['rule-sets'] });
  };
  const typed = text
    .split('\n')
    .map((w) => w.trim())
    .filter((w) => w !== '');
  const add = useMutation({
    mutationFn: () => post<{ added: number }>(`${path}/words`, { words: typed }),
    onSuccess: async (r) => {
      setText('');
      await refresh(t('rules.added', { n: r.added }));
    },
  });
  const remove = useMutation({
    mutationFn: (word: string) => post<{ removed: number }>(`${path}/words/remove`, { words: [word] }),
    onSuccess: (r) => refresh(t('rules.removed', { n: r.removed })),
  });
  const importFile = useMutation({
    mutationFn: (file: File) =>
      uploadRaw<{ words: number; added: number; removed: number }>(
        `${path}/import?mode=${mode}`,
        // Typed by its name: the API reads text/csv's first column, text/plain a word a line.
        new Blob([file], { type: /\.csv$/i.test(file.name) ? 'text/csv' : 'text/plain' }),
      ),
    onSuccess: (r) => refresh(t('rules.imported', { words: r.words, added: r.added, removed: r.removed })),
  });
  if (set.isPending) return <PageLoading />;
  if (set.error) return <ErrorState error={set.error} retry={() => void set.refetch()} />;
  const needle = filter.trim().toLowerCase();
  const words = set.data.words.filter((w) => needle === '' || w.toLowerCase().includes(needle));
  const error = add.error ?? remove.error ?? importFile.error;
  return (
    <Space direction="vertical" style={{ width: '100%' }}>
      <Space wrap>
        <a href={`${path}/export`} download={`${setId}.txt`} data-testid="words-export">
          <Button>{t('action.export')}</Button>
        </a>
        <Select
          value={mode}
          onChange={setMode}
          style={{ width: 220 }}
          data-testid="import-mode"
          options={[
            { value: 'add', label: t('rules.importAdd') },
            { value: 'replace', label: t('rules.importReplace') },
          ]}
        />
        <span data-testid="words-import">
          <Upload
            accept=".txt,.csv,text/plain,text/csv"
            showUploadList={false}
            beforeUpload={(file) => {
              importFile.mutate(file);
              return false;
            }}
          >
            <Button loading={importFile.isPending}>{t('rules.import')}</Button>
          </Upload>
        </span>
      </Space>
      <Input.TextArea
        rows={3}
        placeholder={t('rules.addPlaceholder')}
        value={text}
        onChange={(e) => setText(e.target.value)}
        data-testid="words-add"
      />
      <Button
        type="primary"
        disabled={typed.length === 0 || typed.length > MAX_ADD}
        loading={add.isPending}
        onClick={() => add.mutate()}
        data-testid="words-add-submit"
      >
        {typed.length > MAX_ADD ? t('rules.tooMany', { max: MAX_ADD }) : t('rules.add', { n: typed.length })}
      </Button>
      {error && <Alert type="error" showIcon message={errorText(error)} />}
      {done && !error && <Alert type="success" showIcon message={done} data-testid="words-done" />}
      <Input.Search
        allowClear
        placeholder={t('rules.search')}
        value={filter}
        onChange={(e) => setFilter(e.target.value)}
        data-testid="words-search"
      />
      <Table<{ word: string }>
        size="small"
        rowKey="word"
        dataSource={words.map((word) => ({ word }))}
        locale={{ emptyText: <EmptyState /> }}
        pagination={{ pageSize: 20, hideOnSinglePage: true, showSizeChanger: false }}
        columns={[
          { key: 'word', title: t('rules.word'), dataIndex: 'word' },
          {
            key: 'actions',
            width: 100,
            render: (_v, r) => (
              <Popconfirm
                title={t('rules.removeConfirm', { word: r.word })}
                okText={t('action.remove')}
                cancelText={t('action.cancel')}
                onConfirm={() => remove.mutate(r.word)}
              >
                <Button size="small" type="link" danger data-testid={`word-remove-${r.word}`}>
                  {t('action.remove')}
                </Button>
              </Popconfirm>
            ),
          },
        ]}
      />
    </Space>
  );
}

export default function Rules() {
  const { t, tr } = useI18n();
  const client = useQueryClient();
  const [wordsOf, setWordsOf] = useState<Row | null>(null);
  const check = useMutation({
    mutationFn: (v: { content: string; type: string }) =>
      post<{ blocked: boolean; findings: Finding[] }>('/v1/operator/compliance/check', v),
  });
  const change = useMutation({
    mutationFn: ({ id, body }: { id: string; body: { severity?: string; enabled?: boolean } }) =>
      patch(`/v1/operator/compliance/rule-sets/${id}`, body),
    onSettled: () => client.invalidateQueries({ queryKey: ['rule-sets'] }),
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
            <Input.TextArea rows={3} data-testid="check-content" />
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
        {change.error && (
          <Alert type="error" showIcon message={errorText(change.error)} style={{ marginBottom: 12 }} />
        )}
        <ListTable
          queryKey={['rule-sets']}
          path="/v1/operator/compliance/rule-sets"
          select={(d) => (Array.isArray(d) ? d : ((d as { data?: Row[] }).data ?? []))}
          columns={[
            { key: 'id' },
            { key: 'name' },
            {
              key: 'severity',
              render: (v, r) => (
                <Select
                  size="small"
                  value={String(v)}
                  style={{ width: 110 }}
                  onChange={(severity) => change.mutate({ id: String(r.id), body: { severity } })}
                  options={['block', 'warn'].map((s) => ({ value: s, label: tr(`severity.${s}`) }))}
                />
              ),
            },
            {
              key: 'enabled',
              render: (v, r) => (
                <Switch
                  size="small"
                  checked={Boolean(v)}
                  onChange={(enabled) => change.mutate({ id: String(r.id), body: { enabled } })}
                />
              ),
            },
            {
              key: 'types',
              render: (v) => (Array.isArray(v) ? v.map((x) => tr(`type.${String(x)}`)).join(', ') : '—'),
            },
            { key: 'word_count' },
            { key: 'version' },
            { key: 'updated_at' },
          ]}
          actions={{
            key: 'actions',
            render: (_v, row) => (
              <Button size="small" data-testid={`words-${String(row.id)}`} onClick={() => setWordsOf(row)}>
                {t('rules.words')}
              </Button>
            ),
          }}
        />
      </Section>
      <Modal
        open={wordsOf !== null}
        title={wordsOf ? t('rules.wordsOf', { set: String(wordsOf.name) }) : ''}
        footer={null}
        destroyOnHidden
        width={720}
        onCancel={() => setWordsOf(null)}
      >
        {wordsOf && <Words setId={String(wordsOf.id)} />}
      </Modal>
    </>
  );
}
