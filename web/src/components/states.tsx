// Loading, empty and error states every page uses.
import { Alert, Button, Empty } from 'antd';
import { errorText } from '../api.ts';
import { useI18n } from '../i18n/i18n.tsx';

export { PageLoading } from './PageLoading.tsx';

export function ErrorState({ error, retry }: { error: unknown; retry?: () => void }) {
  const { t } = useI18n();
  const detail = errorText(error);
  return (
    <Alert
      type="error"
      showIcon
      message={t('state.error')}
      description={detail}
      action={retry ? <Button onClick={retry}>{t('action.retry')}</Button> : undefined}
    />
  );
}

export function EmptyState() {
  const { t } = useI18n();
  return <Empty description={t('state.empty')} />;
}

export { errorText } from '../api.ts';
