import { Card, Typography } from 'antd';
import type { ReactNode } from 'react';

export function PageTitle({ children }: { children: ReactNode }) {
  return <Typography.Title level={3}>{children}</Typography.Title>;
}

export function Section({
  title,
  extra,
  children,
}: {
  title: ReactNode;
  extra?: ReactNode;
  children: ReactNode;
}) {
  return (
    <Card title={title} extra={extra} style={{ marginBottom: 16 }}>
      {children}
    </Card>
  );
}
