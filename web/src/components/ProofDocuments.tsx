// A signature's proof documents (a business licence, a trademark certificate): each a link that
// downloads it. For the tenant, while the signature is not approved, a wrong one can be deleted
// and more added (PDF, JPEG or PNG: the API types them by content and answers its code when it
// refuses one); the operator reviewing it only reads them.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Button, Popconfirm, Space, Typography, Upload } from 'antd';
import { del, errorText, uploadRaw } from '../api.ts';
import { useI18n } from '../i18n/i18n.tsx';
import type { Row } from './tables.tsx';

interface Doc {
  id: string;
  content_type: string;
  size_bytes: number;
}

const TYPE_LABEL: Record<string, string> = {
  'application/pdf': 'PDF',
  'image/jpeg': 'JPEG',
  'image/png': 'PNG',
};

function label(doc: Doc): string {
  const kb = Math.max(1, Math.round(doc.size_bytes / 1024));
  return `${TYPE_LABEL[doc.content_type] ?? doc.content_type} · ${kb} KB`;
}

export function ProofDocuments({
  row,
  base,
  editable,
  queryKey,
}: {
  row: Row;
  /** The signature's documents route: the tenant's, or the operator's review route. */
  base: string;
  editable: boolean;
  queryKey: readonly unknown[];
}) {
  const { t } = useI18n();
  const client = useQueryClient();
  const docs = Array.isArray(row.documents) ? (row.documents as Doc[]) : [];
  const refresh = () => client.invalidateQueries({ queryKey: [...queryKey] });
  const add = useMutation({ mutationFn: (file: File) => uploadRaw(base, file), onSuccess: refresh });
  const remove = useMutation({ mutationFn: (id: string) => del(`${base}/${id}`), onSuccess: refresh });
  const error = add.error ?? remove.error;
  return (
    <Space direction="vertical" size={2}>
      {docs.length === 0 && !editable ? <Typography.Text type="secondary">—</Typography.Text> : null}
      {docs.map((doc) => (
        <Space key={doc.id} size={4}>
          <a href={`${base}/${doc.id}`} target="_blank" rel="noreferrer" data-testid={`document-${doc.id}`}>
            {label(doc)}
          </a>
          {editable ? (
            <Popconfirm
              title={t('documents.deleteConfirm')}
              okText={t('action.remove')}
              cancelText={t('action.cancel')}
              onConfirm={() => remove.mutate(doc.id)}
            >
              <Button size="small" type="link" danger data-testid={`document-delete-${doc.id}`}>
                {t('action.remove')}
              </Button>
            </Popconfirm>
          ) : null}
        </Space>
      ))}
      {editable ? (
        <span data-testid={`document-upload-${String(row.id)}`}>
          <Upload
            accept="application/pdf,image/jpeg,image/png"
            showUploadList={false}
            beforeUpload={(file) => {
              add.mutate(file);
              return false;
            }}
          >
            <Button size="small" loading={add.isPending}>
              {t('documents.add')}
            </Button>
          </Upload>
        </span>
      ) : null}
      {error ? (
        <Typography.Text type="danger" data-testid="document-error">
          {errorText(error)}
        </Typography.Text>
      ) : null}
    </Space>
  );
}
