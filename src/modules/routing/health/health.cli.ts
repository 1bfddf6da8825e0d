// `hongyan route health|events|breaker`: each channel's live figures, its switch events, and its
// circuit-breaker settings (thresholds, probe share, channel-specific carrier codes).
import type { Kysely } from 'kysely';
import { queryableOf } from '../../../db/queryable.ts';
import type { Database } from '../../../db/schema.ts';
import { type BreakerPatch, changeBreaker, readBreaker } from './breaker.usecases.ts';
import { type ChannelStats, channelStats } from './channel-stats.ts';
import { listChannelEvents } from './health.sql.ts';

type Values = Record<string, string | boolean | undefined>;

export class HealthUsageError extends Error {}

export const HEALTH_HELP = `  hongyan route health [--json]
      per channel: binds and the node holding each, submitted, throughput, delivered /
      undelivered / unknown, rolling delivery rate (overall and per carrier), breaker state,
      receipt latency p50/p95, cost
  hongyan route events [CHANNEL] [--limit N] [--json]
      switches with their reasons: degraded, recovered, all_degraded, bind_lost, bind_back,
      lease_taken, lease_released
  hongyan route breaker CHANNEL [--degrade-below R] [--recover-above R] [--probe-share R]
        [--specific-codes C1,C2]
      a channel's circuit breaker: degraded below R (default 0.90), back at R or more (0.95),
      the share of traffic probing it while degraded (0.02, at most 0.5); carrier codes (as in a
      message's error code, e.g. smpp.ESME_RSUBMITFAIL) that mean this channel cannot carry the
      message. With no option it prints the settings. Changes are audited (channel.breaker_changed)`;

const pct = (r: number | null) => (r === null ? '-' : `${(r * 100).toFixed(1)}%`);

export function statsLine(s: ChannelStats): string {
  const binds = s.binds.map((b) => `${b.slot + 1}:${b.nodeId}`).join(' ') || 'none';
  const carriers = s.byCarrier.map((c) => `${c.carrier} ${pct(c.deliveryRate)}`).join(', ');
  return [
    `${s.name} (id ${s.channelId})${s.enabled ? '' : ' disabled'}: ${s.breaker}${s.breakerSince ? ` since ${s.breakerSince}` : ''}`,
    `  binds ${s.binds.length}/${s.bindLimit} (${binds})`,
    `  submitted ${s.submitted} (${s.submittedLastMinute} in the last minute), delivered ${s.delivered}, undelivered ${s.undelivered}, unknown ${s.unknown}`,
    `  delivery rate ${pct(s.deliveryRate)}${carriers ? ` (${carriers})` : ''}, submits refused ${pct(s.submitErrorRate)}`,
    `  receipt latency p50 ${s.receiptLatencyP50Ms ?? '-'} ms, p95 ${s.receiptLatencyP95Ms ?? '-'} ms; cost ${s.cost} ${s.currency} for ${s.partsSent} parts`,
  ].join('\n');
}

/** One line of `hongyan channel list`: the channel's health at a glance. */
export function statsSummary(s: ChannelStats): string {
  const binds = s.binds.map((b) => b.nodeId).join(', ') || 'no node';
  return `health: ${s.breaker}, binds ${s.binds.length}/${s.bindLimit} (${binds}), submitted ${s.submitted} (${s.submittedLastMinute}/min), delivered ${s.delivered}, undelivered ${s.undelivered}, unknown ${s.unknown}, rate ${pct(s.deliveryRate)}, receipts p50/p95 ${s.receiptLatencyP50Ms ?? '-'}/${s.receiptLatencyP95Ms ?? '-'} ms, cost ${s.cost} ${s.currency}`;
}

/** A number as typed; its range is the use case's to check (routing.invalid_breaker). */
function rate(values: Values, name: string): number | undefined {
  const v = values[name];
  if (typeof v !== 'string') return undefined;
  if (!/^\d*\.?\d+$/.test(v)) throw new HealthUsageError(`--${name} must be a number such as 0.9`);
  return Number(v);
}

export async function runHealthCommand({
  sub,
  rest,
  values,
  kysely,
  out,
  actor = 'operator-cli',
}: {
  sub: 'health' | 'events' | 'breaker';
  rest: string[];
  values: Values;
  kysely: Kysely<Database>;
  /** Who the audit log names for a change. */
  actor?: string;
  out: (value: unknown, human: string) => void;
}): Promise<number> {
  const db = queryableOf(kysely);
  const channelNamed = async (name: string | undefined) => {
    if (!name) throw new HealthUsageError(`hongyan route ${sub} needs a channel name`);
    const row = await kysely.selectFrom('channels').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw new HealthUsageError(`no channel named "${name}"`);
    return row;
  };
  switch (sub) {
    case 'health': {
      const stats = await channelStats(db);
      out(stats, stats.map(statsLine).join('\n') || '(no channels)');
      return 0;
    }
    case 'events': {
      const channel = rest[0] === undefined ? null : await channelNamed(rest[0]);
      const limitText = typeof values.limit === 'string' ? values.limit : '100';
      if (!/^\d+$/.test(limitText)) throw new HealthUsageError('--limit must be a whole number');
      const rows = await listChannelEvents(db, {
        channelId: channel?.id ?? null,
        afterId: 0,
        limit: Math.min(Number(limitText), 10_000),
      });
      out(
        rows,
        rows
          .map((e) => `${e.createdAt}\tchannel ${e.channelId}\t${e.kind}\t${e.nodeId ?? ''}\t${e.reason}`)
          .join('\n') || '(no events)',
      );
      return 0;
    }
    case 'breaker': {
      const channel = await channelNamed(rest[0]);
      const codesText = values['specific-codes'];
      const patch: BreakerPatch = {
        degradeBelow: rate(values, 'degrade-below'),
        recoverAbove: rate(values, 'recover-above'),
        probeShare: rate(values, 'probe-share'),
        channelSpecificCodes: typeof codesText === 'string' ? codesText.split(',') : undefined,
      };
      // With no option it shows the settings; otherwise checked, audited, and read at the
      // workers' next channel sync.
      const view = Object.values(patch).every((v) => v === undefined)
        ? await readBreaker({ db: kysely, nameOrId: String(channel.id) })
        : await changeBreaker({ db: kysely, nameOrId: String(channel.id), patch, by: { actor } });
      out(
        view,
        `${view.channel}: degraded below ${pct(view.degrade_below)}, back at ${pct(view.recover_above)}, ` +
          `probes ${pct(view.probe_share)}, channel-specific codes: ${view.channel_specific_codes.join(', ') || 'none'}`,
      );
      return 0;
    }
  }
}
