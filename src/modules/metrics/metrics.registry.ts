// The process's Prometheus registry and the one-line hooks the hot paths call. Histograms and
// counters are observed in process (a few array increments, no I/O); gauges that describe the
// platform (messages, queues, channels, webhooks) are read from PostgreSQL at scrape time
// (metrics.collect.ts), so every node answers the same for them.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'hongyan_' });

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const RECEIPT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 86_400];

export const httpDuration = new Histogram({
  name: 'hongyan_http_request_duration_seconds',
  help: 'HTTP requests by route pattern (not URL), method and status code.',
  labelNames: ['method', 'route', 'status_code'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

export const submitLatency = new Histogram({
  name: 'hongyan_submit_latency_seconds',
  help: "One submit_sm's round trip to the carrier (until its submit_sm_resp, or its failure), by channel and outcome.",
  labelNames: ['channel', 'outcome'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

export const receiptLatency = new Histogram({
  name: 'hongyan_receipt_latency_seconds',
  help: "From a part's submit_sm_resp to its delivery receipt arriving, for parts this node submitted (receipts naming the id as the carrier answered it).",
  buckets: RECEIPT_BUCKETS,
  registers: [registry],
});

export const smppServerRefusals = new Counter({
  name: 'hongyan_smpp_server_refusals_total',
  help: 'Binds and requests the customer SMPP server refused, by command and command_status (hex, e.g. 0x0000000e a wrong password, 0x00000058 throttled).',
  labelNames: ['command', 'status'] as const,
  registers: [registry],
});

export const gauges = {
  messagesRecent: new Gauge({
    name: 'hongyan_messages_recent',
    help: 'Messages among the newest HONGYAN_METRICS_SCAN_MESSAGES, by state and type.',
    labelNames: ['state', 'type'] as const,
    registers: [registry],
  }),
  messagesOpen: new Gauge({
    name: 'hongyan_messages_open',
    help: 'Messages not final, by state (held, queued, sending, sent), each counted up to HONGYAN_METRICS_COUNT_CAP.',
    labelNames: ['state'] as const,
    registers: [registry],
  }),
  queueDepth: new Gauge({
    name: 'hongyan_queue_depth',
    help: 'Queued messages by lane (verification, notification, marketing), each counted up to HONGYAN_METRICS_COUNT_CAP.',
    labelNames: ['lane'] as const,
    registers: [registry],
  }),
  channelSubmittedPerMinute: new Gauge({
    name: 'hongyan_channel_submitted_last_minute',
    help: 'Messages a channel submitted in the last 60 seconds (throughput).',
    labelNames: ['channel'] as const,
    registers: [registry],
  }),
  channelSubmitted: new Gauge({
    name: 'hongyan_channel_submitted',
    help: "Messages a channel submitted among the platform's newest messages (the health scan).",
    labelNames: ['channel'] as const,
    registers: [registry],
  }),
  channelOutcomes: new Gauge({
    name: 'hongyan_channel_outcomes',
    help: "A channel's final outcomes (delivered, undelivered, unknown) among the platform's newest messages.",
    labelNames: ['channel', 'outcome'] as const,
    registers: [registry],
  }),
  channelDeliveryRate: new Gauge({
    name: 'hongyan_channel_delivery_rate',
    help: "Delivered ÷ final receipts over a channel's newest final messages (0..1; absent without receipts).",
    labelNames: ['channel'] as const,
    registers: [registry],
  }),
  channelReceiptP95: new Gauge({
    name: 'hongyan_channel_receipt_latency_p95_seconds',
    help: "95th percentile of sent → final receipt over a channel's newest messages.",
    labelNames: ['channel'] as const,
    registers: [registry],
  }),
  channelDegraded: new Gauge({
    name: 'hongyan_channel_degraded',
    help: "1 when a channel's breaker holds it degraded, else 0.",
    labelNames: ['channel'] as const,
    registers: [registry],
  }),
  webhookBacklog: new Gauge({
    name: 'hongyan_webhook_backlog',
    help: 'Webhook deliveries pending (not yet delivered or dead-lettered), counted up to HONGYAN_METRICS_COUNT_CAP.',
    registers: [registry],
  }),
  webhookOldestPending: new Gauge({
    name: 'hongyan_webhook_oldest_pending_seconds',
    help: 'Age of the oldest pending webhook delivery (0 when none).',
    registers: [registry],
  }),
};

// Carrier ids this node submitted, with when their submit_sm_resp came: a receipt naming one (as
// the carrier answered it) observes its latency. Kept here rather than at the recorded write, which
// a fast receipt often overtakes. Insertion order is age order: past the bound, the oldest go.
const SENT_MEMORY = 200_000;
const sentAt = new Map<string, number>();

function rememberSubmitted(channelId: number, carrierId: string, at: number): void {
  sentAt.set(`${channelId}:${carrierId}`, at);
  if (sentAt.size <= SENT_MEMORY) return;
  const oldest = sentAt.keys().next();
  if (!oldest.done) sentAt.delete(oldest.value);
}

/** Hook (receipt ingest): a final receipt arrived naming this carrier id. */
export function metricsReceiptArrived(channelId: number, carrierId: string): void {
  const key = `${channelId}:${carrierId}`;
  const at = sentAt.get(key);
  if (at === undefined) return;
  sentAt.delete(key);
  receiptLatency.observe((performance.now() - at) / 1000);
}

/**
 * Hook (dispatch): times one submit_sm. The returned function takes its outcome, observes it and
 * passes it on; an accepted part is remembered for its receipt.
 */
export function metricsSubmitTimer(
  channelId: number,
  channel: string,
): <T extends { kind: string; messageId?: string }>(outcome: T) => T {
  const start = performance.now();
  return (outcome) => {
    const end = performance.now();
    submitLatency.observe({ channel, outcome: outcome.kind }, (end - start) / 1000);
    if (outcome.kind === 'ok' && outcome.messageId !== undefined)
      rememberSubmitted(channelId, outcome.messageId, end);
    return outcome;
  };
}
