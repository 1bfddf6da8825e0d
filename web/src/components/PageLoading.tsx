// Apart from the other states so that the entry chunk (every page's Suspense fallback) needs Spin only.
import { Spin } from 'antd';

export function PageLoading() {
  return (
    <div style={{ padding: 48, textAlign: 'center' }} role="status">
      <Spin />
    </div>
  );
}
