// The frame around every page after login: the menu of the account's kind (tenant member or
// operator staff), language switch, logout. A missing or expired session goes to /login.
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Button, Layout, Menu, Space, Typography } from 'antd';
import { useEffect } from 'react';
import { Outlet, useLocation, useNavigate, useOutletContext } from 'react-router';
import {
  allows,
  type Permission,
  type StaffRole,
  type TenantRole,
} from '../../../src/modules/accounts/permissions.models.ts';
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
  ['/opt-outs', 'nav.optOuts'],
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
  ['/security', 'nav.security'],
];
const OPERATOR_MENU: [string, MessageKey][] = [
  ['/operator/reviews', 'nav.reviews'],
  ['/operator/tenants', 'nav.tenants'],
  ['/operator/channels', 'nav.channels'],
  ['/operator/routes', 'nav.routes'],
  ['/operator/rules', 'nav.rules'],
  ['/operator/statistics', 'nav.statistics'],
  ['/operator/audit', 'nav.audit'],
  ['/operator/staff', 'nav.staff'],
  ['/operator/security', 'nav.security'],
];

/**
 * The permission each page needs, from the server's own permission table (docs/permissions.md):
 * the menu shows a member or staff only the pages their role can use, never one that answers 403.
 * A page not named here (home, the account's own pages) is for every role.
 */
const MENU_PERMISSION: Record<string, Permission> = {
  '/send': 'messages.send',
  '/records': 'messages.read',
  '/replies': 'replies.read',
  '/opt-outs': 'compliance.lists.read',
  '/verifications': 'messages.read',
  '/contacts': 'contacts.read',
  '/imports': 'contacts.manage',
  '/campaigns': 'messages.read',
  '/signatures': 'signatures.read',
  '/templates': 'templates.read',
  '/billing': 'billing.read',
  '/developers': 'credentials.manage',
  '/members': 'members.read',
  '/audit': 'audit.read',
  '/operator/reviews': 'operator.reviews.read',
  '/operator/tenants': 'operator.tenants.read',
  '/operator/channels': 'operator.channels.read',
  '/operator/routes': 'operator.channels.read',
  '/operator/rules': 'operator.compliance.read',
  '/operator/statistics': 'operator.tenants.read',
  '/operator/audit': 'operator.audit.read',
  '/operator/staff': 'operator.staff.manage',
};

/** Whether the signed-in account's role may use the page at `path`. */
export function mayOpen(me: Me, path: string): boolean {
  const permission = MENU_PERMISSION[path];
  if (!permission) return true;
  return me.kind === 'staff'
    ? allows({ kind: 'staff', role: me.role as StaffRole }, permission)
    : allows({ kind: 'member', tenantId: Number(me.tenant_id), role: me.role as TenantRole }, permission);
}

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
  const menu = (isOperator ? OPERATOR_MENU : TENANT_MENU).filter(
    ([path]) => !me.data || mayOpen(me.data, path),
  );
  // Staff land on the first page their role can use (the review queue for admins and reviewers);
  // a page the role cannot use (an old link, the login's default) leads there too, not to a 403.
  const home = isOperator ? (menu[0]?.[0] ?? '/operator/reviews') : '/';
  const mayBeHere = !me.data || mayOpen(me.data, location.pathname);
  useEffect(() => {
    if (me.data && (isOperator !== onOperatorPath || !mayBeHere)) navigate(home, { replace: true });
  }, [me.data, isOperator, onOperatorPath, mayBeHere, home, navigate]);
  // A session that must set up two-factor first reaches only the account's own routes: its
  // Security page, until two-factor is on.
  const security = isOperator ? '/operator/security' : '/security';
  const mustEnrol = me.data?.stage === 'enrol';
  useEffect(() => {
    if (mustEnrol && location.pathname !== security) navigate(security, { replace: true });
  }, [mustEnrol, location.pathname, security, navigate]);

  if (me.isPending || unauthenticated) return <PageLoading />;
  if (me.error) return <ErrorState error={me.error} retry={() => void me.refetch()} />;

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
