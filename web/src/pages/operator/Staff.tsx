import { PageTitle } from '../../components/Section.tsx';
import { ListTable } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';

export default function Staff() {
  const { t } = useI18n();
  return (
    <>
      <PageTitle>{t('nav.staff')}</PageTitle>
      <ListTable queryKey={['op-staff']} path="/v1/operator/staff" />
    </>
  );
}
