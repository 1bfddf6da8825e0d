// What the API answers for campaigns and runs.
import type pg from 'pg';
import type { CampaignRow, RunRow } from './campaigns.sql.ts';

type Queryable = Pick<pg.Pool, 'query'>;

export function campaignView(c: CampaignRow) {
  return {
    id: String(c.id),
    name: c.name,
    state: c.state,
    audience: c.audience,
    content: c.content,
    schedule: c.schedule,
    throttle_per_minute: c.throttle_per_minute,
    shorten_links: c.shorten_links,
    ab: c.ab,
    next_run_at: c.next_run_at?.toISOString() ?? null,
    runs_started: c.runs_started,
    created_at: c.created_at.toISOString(),
    updated_at: c.updated_at.toISOString(),
  };
}

/** A run with its progress: expanded (admitted or refused so far), accepted, sent, delivered. */
export async function runViews(db: Queryable, runs: readonly RunRow[]) {
  if (runs.length === 0) return [];
  const { rows } = await db.query<{
    run_id: number;
    label: string;
    batch_id: string;
    sent: number;
    delivered: number;
    failed: number;
  }>(
    `select b.run_id::int, b.label, b.batch_id::text,
            (select count(*)::int from messages m where m.batch_id = b.batch_id and m.sent_at is not null) as sent,
            (select count(*)::int from messages m where m.batch_id = b.batch_id and m.status = 'delivered') as delivered,
            (select count(*)::int from messages m where m.batch_id = b.batch_id
               and m.status in ('undelivered', 'expired', 'rejected', 'failed')) as failed
       from campaign_run_batches b where b.run_id = any($1::bigint[]) order by b.run_id, b.label`,
    [runs.map((r) => r.id)],
  );
  return runs.map((r) => {
    const batches = rows.filter((b) => b.run_id === r.id);
    const sum = (f: 'sent' | 'delivered' | 'failed') => batches.reduce((s, b) => s + b[f], 0);
    return {
      id: String(r.id),
      run_at: r.run_at.toISOString(),
      state: r.state,
      progress: {
        audience: r.audience,
        duplicates: r.duplicates,
        expanded: r.cursor,
        accepted: r.accepted,
        rejected: r.rejected,
        sent: sum('sent'),
        delivered: sum('delivered'),
        failed: sum('failed'),
        percent: r.audience === 0 ? 100 : Math.floor((100 * r.cursor) / r.audience),
      },
      batches: batches.map((b) => ({ label: b.label, batch_id: b.batch_id })),
      winner: r.winner,
      decision: r.decision,
      decide_at: r.decide_at?.toISOString() ?? null,
      finished_at: r.finished_at?.toISOString() ?? null,
    };
  });
}
