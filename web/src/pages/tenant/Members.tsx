import { PageTitle } from '../../components/Section.tsx';
import { ListTable } from '../../components/tables.tsx';
import { useI18n } from '../../i18n/i18n.tsx';

export default function Members() {
  const { t, tr } = useI18n();
  return (
    <>
      <PageTitle>{t('nav.members')}</PageTitle>
      <ListTable
        queryKey={['members']}
        path="/v1/members"
        columns={[
          { key: 'email' },
          { key: 'role', render: (v) => tr(`role.${String(v)}`) },
          { key: 'two_factor' },
          { key: 'created_at' },
        ]}
      />
    </>
  );
}
