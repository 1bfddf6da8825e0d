// The webhook sender (worker role): claims due outbox rows, groups them per destination into
// POSTs of at most `batchMax` events (a message's events together, in outbox order),
// signs each, sends a few at a time, and records every POST's outcome with one statement. A failed
// POST fails every event in it: each is retried with backoff, and dead-lettered after 24 hours.
import type { Logger } from 'pino';
import type pg from 'pg';
import { openSealed, type KeyRingSource, seal } from '../../shared/secrets.ts';
import type { AddressPolicy } from './ssrf.models.ts';
import { isFinalStatusEvent, type StatusEvent, vendorReportBody } from './webhooks.formats.ts';
import {
  generateWebhookSecret,
  nextAttemptAt,
  type RetryPolicy,
  signatureHeader,
} from './webhooks.models.ts';
import { postWebhook, type SendLimits, type SendOutcome } from './webhooks.sender.ts';
import {
  type AttemptRecord,
  type ClaimedDelivery,
  claimDueDeliveries,
  recordAttempts,
} from './webhooks.sql.ts';

export interface DeliverySettings {
  batchMax: number;
  claimMax: number;
  concurrency: number;
  retry: RetryPolicy;
  limits: SendLimits;
  policy: AddressPolicy;
}

type Post = typeof postWebhook;

/**
 * Claims one sender works at once, each claim → POSTs → record in turn. With one, the outbox was
 * worked in series: under a backlog on a busy 2-core machine a claim of 2,000 took 0.3–2.4 s, its
 * POSTs (50 ms receiver) 0.2–1.7 s and their record 0.1–0.7 s, about 1,300 events/s, below the
 * two events per message of a 1,000 messages/s run (bench/webhooks.ts: the last event reached the
 * receiver 29 s after the last message of 60,000 was final). Two claims are disjoint (SKIP LOCKED)
 * and keep each message's order as two nodes do (a row waits while an earlier one of its message
 * is leased by the other claim).
 */
const CLAIMS_IN_FLIGHT = 2;

export function createWebhookSender({
  pool,
  keyRing,
  now,
  settings,
  logger,
  post = postWebhook,
  formatCallback,
}: {
  pool: pg.Pool;
  keyRing: KeyRingSource;
  now: () => Date;
  settings: DeliverySettings;
  logger: Logger;
  post?: Post;
  /**
   * A vendor's own format for a message's callback_url (the Twilio-compatible API's
   * StatusCallback, src/modules/compat/twilio/twilio.callbacks.ts); null keeps Hongyan's.
   */
  formatCallback?: (
    group: ClaimedDelivery[],
  ) => Promise<{ body: string; headers: Record<string, string> } | null>;
}) {
  const opened = new Map<string, string>();
  const openSecret = (sealed: string) => {
    let plain = opened.get(sealed);
    if (plain === undefined) {
      plain = openSealed(keyRing, sealed);
      if (opened.size > 10_000) opened.clear();
      opened.set(sealed, plain);
    }
    return plain;
  };

  /** The tenant's callback secret, made at first use (the tenant rotates it to see it). */
  async function callbackSecret(tenantId: number): Promise<string> {
    await pool.query(
      `insert into webhook_callback_secrets (tenant_id, secret_sealed) values ($1, $2) on conflict do nothing`,
      [tenantId, seal(keyRing(), generateWebhookSecret())],
    );
    const { rows } = await pool.query<{ secret_sealed: string }>(
      'select secret_sealed from webhook_callback_secrets where tenant_id = $1',
      [tenantId],
    );
    return openSecret(rows[0]!.secret_sealed);
  }

  /**
   * POSTs of at most batchMax events, each for one destination. A message's events in this claim
   * all go in the same POST, in outbox order, so POSTs are independent of each other and can be
   * sent at once without a later event of a message overtaking an earlier one (the claim never
   * takes an event whose earlier one is still pending elsewhere).
   */
  function postsOf(claimed: ClaimedDelivery[]): ClaimedDelivery[][] {
    const byDestination = new Map<string, Map<string, ClaimedDelivery[]>>();
    for (const d of claimed) {
      const key = d.endpoint_id === null ? `${d.tenant_id} ${d.url}` : `e${d.endpoint_id}`;
      const buckets = byDestination.get(key) ?? new Map<string, ClaimedDelivery[]>();
      byDestination.set(key, buckets);
      const bucketKey = d.message_id === null ? `d${d.id}` : `m${d.message_id}`;
      const bucket = buckets.get(bucketKey) ?? [];
      bucket.push(d);
      buckets.set(bucketKey, bucket);
    }
    const posts: ClaimedDelivery[][] = [];
    for (const buckets of byDestination.values()) {
      let current: ClaimedDelivery[] = [];
      for (const bucket of buckets.values()) {
        if (current.length > 0 && current.length + bucket.length > settings.batchMax) {
          posts.push(current);
          current = [];
        }
        current.push(...bucket);
      }
      if (current.length > 0) posts.push(current);
    }
    return posts;
  }

  /**
   * A POST's records: for an endpoint in a vendor's format, its events that are no report in that
   * format (`sent`; other types only if the endpoint's format changed after they were written) are
   * recorded delivered without being sent, and the final statuses are POSTed as the vendor's array.
   */
  async function send(group: ClaimedDelivery[]): Promise<AttemptRecord[]> {
    const first = group[0]!;
    const format = first.format;
    if (format !== 'aliyun' && format !== 'tencent') return [await sendPost(group, null)];
    const reports = group.filter((d) => isFinalStatusEvent(d.payload));
    const skipped = group.filter((d) => !isFinalStatusEvent(d.payload));
    const records: AttemptRecord[] = [];
    if (skipped.length > 0)
      records.push(
        recordOf(skipped, {
          ok: true,
          statusCode: null,
          error: `not sent: no status report in the ${format} format`,
          durationMs: 0,
          refused: false,
        }),
      );
    if (reports.length > 0) records.push(await sendPost(reports, format));
    return records;
  }

  async function sendPost(
    group: ClaimedDelivery[],
    format: 'aliyun' | 'tencent' | null,
  ): Promise<AttemptRecord> {
    const first = group[0]!;
    let outcome: SendOutcome;
    try {
      const vendor = first.endpoint_id === null && formatCallback ? await formatCallback(group) : null;
      const secret =
        vendor !== null
          ? ''
          : first.secret_sealed === null
            ? await callbackSecret(first.tenant_id)
            : openSecret(first.secret_sealed);
      const body =
        vendor?.body ??
        (format === null
          ? JSON.stringify({ events: group.map((d) => d.payload) })
          : await vendorReportBody(
              pool,
              format,
              group.map((d) => d.payload as StatusEvent),
            ));
      const timestamp = Math.floor(now().getTime() / 1000);
      outcome = await post({
        url: first.url,
        body,
        headers: vendor?.headers ?? {
          'x-hy-signature': signatureHeader(secret, timestamp, body),
          'user-agent': 'Hongyan-Webhooks/1',
        },
        policy: settings.policy,
        limits: settings.limits,
      });
    } catch (error) {
      outcome = {
        ok: false,
        statusCode: null,
        error: (error as Error).message,
        durationMs: 0,
        refused: false,
      };
    }
    return recordOf(group, outcome);
  }

  function recordOf(group: ClaimedDelivery[], outcome: SendOutcome): AttemptRecord {
    const first = group[0]!;
    const at = now();
    return {
      tenantId: first.tenant_id,
      endpointId: first.endpoint_id,
      url: first.url,
      deliveryIds: group.map((d) => d.id),
      statusCode: outcome.statusCode,
      error: outcome.error,
      durationMs: outcome.durationMs,
      ok: outcome.ok,
      next: group.map((d) =>
        outcome.ok || outcome.refused
          ? null
          : nextAttemptAt({
              attempts: d.attempts + 1,
              createdAt: d.created_at,
              now: at,
              policy: settings.retry,
            }),
      ),
    };
  }

  /** Sends one claim's POSTs and records their outcomes. */
  async function sendClaimed(claimed: ClaimedDelivery[]): Promise<void> {
    const posts = postsOf(claimed);
    const records: AttemptRecord[] = [];
    let next = 0;
    const lane = async () => {
      while (next < posts.length) records.push(...(await send(posts[next++]!)));
    };
    await Promise.all(Array.from({ length: Math.min(settings.concurrency, posts.length) }, lane));
    await recordAttempts(pool, records, now());
    const failed = records.filter((r) => !r.ok);
    if (failed.length > 0)
      logger.warn(
        { posts: failed.length, first: { url: failed[0]!.url, error: failed[0]!.error } },
        'webhook POSTs failed; their events will be retried',
      );
  }

  const claim = () =>
    claimDueDeliveries(pool, {
      now: now(),
      limit: settings.claimMax,
      leaseMs: settings.limits.connectTimeoutMs + settings.limits.responseTimeoutMs + 30_000,
    });

  /** One claim and its POSTs; answers how many deliveries it claimed. */
  async function runOnce(): Promise<number> {
    const claimed = await claim();
    if (claimed.length > 0) await sendClaimed(claimed);
    return claimed.length;
  }

  return {
    runOnce,
    /**
     * Claims again while claims come back full (a backlog), then returns. Under a backlog the next
     * claim is made as soon as the previous one is leased, while its POSTs are in flight, up to
     * CLAIMS_IN_FLIGHT claims being sent at once; claims themselves run one after another, so a
     * shallow outbox is claimed and batched exactly as by one claim at a time.
     */
    async runUntilIdle(): Promise<void> {
      const inFlight = new Set<Promise<void>>();
      let failure: { error: unknown } | null = null;
      try {
        while (failure === null) {
          const claimed = await claim();
          if (claimed.length === 0) break;
          // Caught at once (no unhandled rejection while another claim is awaited), thrown below.
          const sending: Promise<void> = sendClaimed(claimed)
            .catch((error: unknown) => {
              failure ??= { error };
            })
            .finally(() => inFlight.delete(sending));
          inFlight.add(sending);
          if (claimed.length < settings.claimMax) break;
          while (inFlight.size >= CLAIMS_IN_FLIGHT) await Promise.race(inFlight);
        }
      } finally {
        await Promise.all(inFlight);
      }
      if (failure !== null) throw (failure as { error: unknown }).error;
    },
  };
}

export type WebhookSender = ReturnType<typeof createWebhookSender>;
