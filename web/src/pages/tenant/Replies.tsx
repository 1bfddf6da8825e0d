import { PageTitle } from '../../components/Section.tsx';
import { CursorTable } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';

export default function Replies() {
  const { t } = useI18n();
  return (
    <>
      <PageTitle>{t('nav.replies')}</PageTitle>
      <CursorTable
        queryKey={['replies']}
        path="/v1/replies"
        columns={[{ key: 'from' }, { key: 'to' }, { key: 'content' }, { key: 'received_at' }]}
      />
    </>
  );
}
