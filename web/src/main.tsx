// The console's entry: providers and the route table. Every page is its own chunk (React.lazy),
// so the login page loads only what it shows.
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { ConfigProvider } from 'antd';
import type { Locale } from 'antd/es/locale/index.js';
import enUSModule from 'antd/es/locale/en_US.js';
import zhCNModule from 'antd/es/locale/zh_CN.js';
import { lazy, StrictMode, Suspense } from 'react';
import { createRoot } from 'react-dom/client';
import { createBrowserRouter, Navigate, RouterProvider } from 'react-router';
import { ApiError } from './api.ts';
import { PageLoading } from './components/PageLoading.tsx';
import { I18nProvider, useI18n } from './i18n/i18n.tsx';

// antd ships these as CommonJS-typed files: the type checker sees the module, Vite the default.
const interop = (m: unknown) => ((m as { default?: Locale }).default ?? m) as Locale;
const zhCN = interop(zhCNModule);
const enUS = interop(enUSModule);

const page = (load: () => Promise<{ default: React.ComponentType }>) => {
  const Component = lazy(load);
  return (
    <Suspense fallback={<PageLoading />}>
      <Component />
    </Suspense>
  );
};

const router = createBrowserRouter([
  { path: '/login', element: page(() => import('./pages/Login.tsx')) },
  {
    path: '/',
    element: page(() => import('./components/ConsoleLayout.tsx')),
    children: [
      { index: true, element: page(() => import('./pages/tenant/Home.tsx')) },
      { path: 'send', element: page(() => import('./pages/tenant/Send.tsx')) },
      { path: 'records', element: page(() => import('./pages/tenant/Records.tsx')) },
      { path: 'replies', element: page(() => import('./pages/tenant/Replies.tsx')) },
      { path: 'opt-outs', element: page(() => import('./pages/tenant/OptOuts.tsx')) },
      { path: 'verifications', element: page(() => import('./pages/tenant/Verifications.tsx')) },
      { path: 'contacts', element: page(() => import('./pages/tenant/Contacts.tsx')) },
      { path: 'imports', element: page(() => import('./pages/tenant/Imports.tsx')) },
      { path: 'campaigns', element: page(() => import('./pages/tenant/Campaigns.tsx')) },
      { path: 'campaigns/new', element: page(() => import('./pages/tenant/CampaignCreate.tsx')) },
      { path: 'campaigns/:id', element: page(() => import('./pages/tenant/CampaignReport.tsx')) },
      { path: 'signatures', element: page(() => import('./pages/tenant/Signatures.tsx')) },
      { path: 'templates', element: page(() => import('./pages/tenant/Templates.tsx')) },
      { path: 'billing', element: page(() => import('./pages/tenant/Billing.tsx')) },
      { path: 'developers', element: page(() => import('./pages/tenant/Developers.tsx')) },
      { path: 'members', element: page(() => import('./pages/tenant/Members.tsx')) },
      { path: 'audit', element: page(() => import('./pages/tenant/Audit.tsx')) },
      { path: 'security', element: page(() => import('./pages/tenant/Security.tsx')) },
      { path: 'operator', element: <Navigate to="/operator/reviews" replace /> },
      { path: 'operator/reviews', element: page(() => import('./pages/operator/Reviews.tsx')) },
      { path: 'operator/tenants', element: page(() => import('./pages/operator/Tenants.tsx')) },
      { path: 'operator/channels', element: page(() => import('./pages/operator/Channels.tsx')) },
      { path: 'operator/routes', element: page(() => import('./pages/operator/Routes.tsx')) },
      { path: 'operator/rules', element: page(() => import('./pages/operator/Rules.tsx')) },
      { path: 'operator/statistics', element: page(() => import('./pages/operator/Statistics.tsx')) },
      { path: 'operator/audit', element: page(() => import('./pages/operator/OperatorAudit.tsx')) },
      { path: 'operator/staff', element: page(() => import('./pages/operator/Staff.tsx')) },
      { path: 'operator/security', element: page(() => import('./pages/tenant/Security.tsx')) },
      { path: '*', element: <Navigate to="/" replace /> },
    ],
  },
]);

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // An expired session or a missing permission will not change by asking again.
      retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
      refetchOnWindowFocus: false,
    },
  },
});

function Root() {
  const { lang } = useI18n();
  return (
    <ConfigProvider locale={lang === 'zh-CN' ? zhCN : enUS} theme={{ token: { colorPrimary: '#c0392b' } }}>
      <RouterProvider router={router} />
    </ConfigProvider>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <I18nProvider>
        <Root />
      </I18nProvider>
    </QueryClientProvider>
  </StrictMode>,
);
