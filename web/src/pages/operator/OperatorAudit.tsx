import { PageTitle } from '../../components/Section.tsx';
import { CursorTable } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';

export default function OperatorAudit() {
  const { t } = useI18n();
  return (
    <>
      <PageTitle>{t('nav.audit')}</PageTitle>
      <CursorTable queryKey={['op-audit']} path="/v1/operator/audit" mode="before_id" />
    </>
  );
}
