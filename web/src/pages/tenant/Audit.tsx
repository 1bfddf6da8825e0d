import { PageTitle } from '../../components/Section.tsx';
import { CursorTable } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';

export default function Audit() {
  const { t } = useI18n();
  return (
    <>
      <PageTitle>{t('nav.audit')}</PageTitle>
      <CursorTable queryKey={['audit']} path="/v1/audit" mode="before_id" />
    </>
  );
}
