import { PageTitle } from '../../components/Section.tsx';
import { ListTable } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';

export default function Routes() {
  const { t } = useI18n();
  return (
    <>
      <PageTitle>{t('nav.routes')}</PageTitle>
      <ListTable queryKey={['op-routes']} path="/v1/operator/routes" />
    </>
  );
}
