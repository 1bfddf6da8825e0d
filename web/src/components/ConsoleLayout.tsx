// The frame around every page after login: the menu of the account's kind (tenant member or
// operator staff), language switch, logout. A missing or expired session goes to /login.
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Button, Layout, Menu, Space, Typography } from 'antd';
import { useEffect } from 'react';
import { Outlet, useLocation, useNavigate, useOutletContext } from 'react-router';
import { ApiError, get, post } from '../api.ts';
import { type MessageKey, useI18n } from '../i18n/i18n.tsx';
import { LanguageSwitch } from './LanguageSwitch.tsx';
import { ErrorState, PageLoading } from './states.tsx';

export interface Me {
  kind: 'member' | 'staff';
  id: number | string;
  login: string;
  role: string;
  tenant_id: number | string | null;
  stage: string;
}

const TENANT_MENU: [string, MessageKey][] = [
  ['/', 'nav.home'],
  ['/send', 'nav.send'],
  ['/records', 'nav.records'],
  ['/replies', 'nav.replies'],
  ['/verifications', 'nav.verifications'],
  ['/contacts', 'nav.contacts'],
  ['/imports', 'nav.imports'],
  ['/campaigns', 'nav.campaigns'],
  ['/signatures', 'nav.signatures'],
  ['/templates', 'nav.templates'],
  ['/billing', 'nav.billing'],
  ['/developers', 'nav.developers'],
  ['/members', 'nav.members'],
  ['/audit', 'nav.audit'],
];
const OPERATOR_MENU: [string, MessageKey][] = [
  ['/operator/reviews', 'nav.reviews'],
  ['/operator/tenants', 'nav.tenants'],
  ['/operator/channels', 'nav.channels'],
  ['/operator/routes', 'nav.routes'],
  ['/operator/rules', 'nav.rules'],
  ['/operator/audit', 'nav.audit'],
  ['/operator/staff', 'nav.staff'],
];

export function useMe(): Me {
  return useOutletContext<Me>();
}

export default function ConsoleLayout() {
  const { t } = useI18n();
  const navigate = useNavigate();
  const location = useLocation();
  const queryClient = useQueryClient();
  const me = useQuery({ queryKey: ['me'], queryFn: () => get<Me>('/v1/auth/me') });
  const unauthenticated = me.error instanceof ApiError && me.error.status === 401;

  useEffect(() => {
    if (unauthenticated) navigate('/login', { replace: true });
  }, [unauthenticated, navigate]);
  const isOperator = me.data?.kind === 'staff';
  const onOperatorPath = location.pathname.startsWith('/operator');
  useEffect(() => {
    if (me.data && isOperator !== onOperatorPath)
      navigate(isOperator ? '/operator/reviews' : '/', { replace: true });
  }, [me.data, isOperator, onOperatorPath, navigate]);

  if (me.isPending || unauthenticated) return <PageLoading />;
  if (me.error) return <ErrorState error={me.error} retry={() => void me.refetch()} />;
  const menu = isOperator ? OPERATOR_MENU : TENANT_MENU;

  async function logout() {
    await post('/v1/auth/logout').catch(() => undefined);
    queryClient.clear();
    navigate('/login', { replace: true });
  }

  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Layout.Sider breakpoint="lg" collapsedWidth={0} theme="light" width={200}>
        <div style={{ padding: 16 }}>
          <Typography.Title level={4} style={{ margin: 0 }}>
            {isOperator ? t('app.operatorName') : t('app.name')}
          </Typography.Title>
        </div>
        <Menu
          mode="inline"
          selectedKeys={[
            menu.find(([p]) => p !== '/' && location.pathname.startsWith(`${p}/`))?.[0] ?? location.pathname,
          ]}
          items={menu.map(([path, key]) => ({ key: path, label: t(key) }))}
          onClick={({ key }) => navigate(key)}
        />
      </Layout.Sider>
      <Layout>
        <Layout.Header
          style={{
            background: '#fff',
            height: 'auto',
            minHeight: 64,
            lineHeight: 'normal',
            // Room on the left for the menu's trigger on a phone, where the menu folds away.
            padding: '12px 16px 12px 56px',
            display: 'flex',
            alignItems: 'center',
            justifyContent: 'flex-end',
          }}
        >
          <Space wrap style={{ justifyContent: 'flex-end' }}>
            <LanguageSwitch />
            <Typography.Text data-testid="account">{me.data.login}</Typography.Text>
            <Button onClick={() => void logout()}>{t('action.logout')}</Button>
          </Space>
        </Layout.Header>
        <Layout.Content style={{ padding: 16, minWidth: 0 }}>
          <Outlet context={me.data} />
        </Layout.Content>
      </Layout>
    </Layout>
  );
}
