import { describe, expect, it } from 'vitest';
import { metricsReceiptArrived, metricsSubmitTimer, registry } from './metrics.registry.ts';
import { mayScrape } from './metrics.routes.ts';

async function value(name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await registry.getSingleMetric(name)!.get();
  return metric.values
    .filter((v) => (v as { metricName?: string }).metricName === `${name}_count`)
    .filter((v) => Object.entries(labels).every(([k, x]) => String(v.labels[k]) === x))
    .reduce((a, v) => a + v.value, 0);
}

/** Histogram values hold buckets, sum and count: the `_count` sample only. */
async function receiptCount(): Promise<number> {
  const metric = await registry.getSingleMetric('hongyan_receipt_latency_seconds')!.get();
  return (
    metric.values.find(
      (v) => (v as { metricName?: string }).metricName === 'hongyan_receipt_latency_seconds_count',
    )?.value ?? 0
  );
}

describe('metrics hooks', () => {
  it('a submit is timed by channel and outcome; its receipt is timed once, an unknown id not at all', async () => {
    const submits = await value('hongyan_submit_latency_seconds', { channel: 'unit', outcome: 'ok' });
    const receipts = await receiptCount();
    const outcome = { kind: 'ok' as const, messageId: 'abc123' };
    expect(metricsSubmitTimer(9001, 'unit')(outcome)).toBe(outcome);
    metricsSubmitTimer(9001, 'unit')({ kind: 'throttled' });
    expect(await value('hongyan_submit_latency_seconds', { channel: 'unit', outcome: 'ok' })).toBeGreaterThan(
      submits,
    );
    metricsReceiptArrived(9001, 'abc123');
    metricsReceiptArrived(9001, 'abc123');
    metricsReceiptArrived(9002, 'abc123');
    expect(await receiptCount()).toBe(receipts + 1);
  });

  it('scraping: a token in constant time, else loopback only', () => {
    expect(() => mayScrape({ ip: '127.0.0.1', headers: {} }, '')).not.toThrow();
    expect(() => mayScrape({ ip: '::1', headers: {} }, '')).not.toThrow();
    expect(() => mayScrape({ ip: '10.0.0.1', headers: {} }, '')).toThrow(/loopback/);
    expect(() =>
      mayScrape({ ip: '10.0.0.1', headers: { authorization: 'Bearer s3cret' } }, 's3cret'),
    ).not.toThrow();
    expect(() => mayScrape({ ip: '127.0.0.1', headers: {} }, 's3cret')).toThrow(/Bearer/);
    expect(() =>
      mayScrape({ ip: '127.0.0.1', headers: { authorization: 'Bearer s3cre' } }, 's3cret'),
    ).toThrow();
  });
});
