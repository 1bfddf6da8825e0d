import { PageTitle } from '../../components/Section.tsx';
import { ListTable } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';

export default function Tenants() {
  const { t } = useI18n();
  return (
    <>
      <PageTitle>{t('nav.tenants')}</PageTitle>
      <ListTable queryKey={['op-tenants']} path="/v1/operator/tenants" />
    </>
  );
}
