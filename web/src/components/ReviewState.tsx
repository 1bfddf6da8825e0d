// A review state with its reason (rejected) or when a decision is due (pending).
import { Typography } from 'antd';
import { useI18n } from '../i18n/i18n.tsx';
import { formatValue, type Row, StatusTag } from './tables.tsx';

export function ReviewState({ row }: { row: Row }) {
  const { t } = useI18n();
  return (
    <>
      <StatusTag value={row.status} />
      {row.status === 'rejected' && row.reason ? (
        <Typography.Text type="danger">{String(row.reason)}</Typography.Text>
      ) : null}
      {row.status === 'pending' && row.decision_expected_by ? (
        <Typography.Text type="secondary">
          {t('review.expectedBy', { at: String(formatValue(row.decision_expected_by)) })}
        </Typography.Text>
      ) : null}
    </>
  );
}
