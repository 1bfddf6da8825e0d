// Statements of campaigns, their runs and run recipients. Every tenant-facing read names the
// tenant. Batches are made through messages.repository (insertBatchRow), never here.
import type pg from 'pg';
import type { AbSettings, AudienceRecipient, Schedule } from './campaigns.models.ts';

type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

export interface CampaignContent {
  content?: string;
  template_id?: string;
  sign_name?: string;
  type?: 'notification' | 'marketing' | 'verification';
  params?: Record<string, string>;
}
export interface CampaignAudience {
  numbers: number;
  columns: string[];
  /** An uploaded audience file whose recipients the campaign copied (after the pasted ones). */
  file?: { id: string; file_name: string; recipients: number; variables: string[] };
  group_ids: number[];
  segment_ids: number[];
}
export type CampaignState = 'draft' | 'active' | 'paused' | 'completed' | 'canceled';

export interface CampaignRow {
  id: number;
  tenant_id: number;
  name: string;
  state: CampaignState;
  audience: CampaignAudience;
  content: CampaignContent;
  schedule: Schedule;
  throttle_per_minute: number | null;
  shorten_links: boolean;
  ab: AbSettings | null;
  next_run_at: Date | null;
  runs_started: number;
  created_at: Date;
  updated_at: Date;
}

const CAMPAIGN_COLUMNS = `id::int, tenant_id::int, name, state, audience, content, schedule, throttle_per_minute,
  shorten_links, ab, next_run_at, runs_started, created_at, updated_at`;

export async function insertCampaign(
  db: Queryable,
  c: Omit<CampaignRow, 'id' | 'runs_started' | 'updated_at'>,
): Promise<CampaignRow> {
  const { rows } = await db.query<CampaignRow>(
    `insert into campaigns (tenant_id, name, state, audience, content, schedule, throttle_per_minute, shorten_links,
       ab, next_run_at, created_at, updated_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) returning ${CAMPAIGN_COLUMNS}`,
    [
      c.tenant_id,
      c.name,
      c.state,
      JSON.stringify(c.audience),
      JSON.stringify(c.content),
      JSON.stringify(c.schedule),
      c.throttle_per_minute,
      c.shorten_links,
      c.ab === null ? null : JSON.stringify(c.ab),
      c.next_run_at,
      c.created_at,
    ],
  );
  return rows[0]!;
}

export async function insertCampaignRecipients(
  db: Queryable,
  campaignId: number,
  recipients: readonly AudienceRecipient[],
) {
  // In slices: an uploaded file brings up to 200,000 recipients.
  for (let from = 0; from < recipients.length; from += 20_000) {
    const slice = recipients.slice(from, from + 20_000);
    await db.query(
      `insert into campaign_recipients (campaign_id, idx, phone, fields)
       select $1, $2 + i - 1, p, f from unnest($3::text[], $4::jsonb[]) with ordinality as u(p, f, i)`,
      [campaignId, from, slice.map((r) => r.phone), slice.map((r) => JSON.stringify(r.fields))],
    );
  }
}

export async function getCampaign(
  db: Queryable,
  { tenantId, id, lock = false }: { tenantId?: number; id: number; lock?: boolean },
): Promise<CampaignRow | null> {
  const { rows } = await db.query<CampaignRow>(
    `select ${CAMPAIGN_COLUMNS} from campaigns where id = $1 and ($2::bigint is null or tenant_id = $2)
     ${lock ? 'for update' : ''}`,
    [id, tenantId ?? null],
  );
  return rows[0] ?? null;
}

export async function listCampaigns(
  db: Queryable,
  tenantId: number,
  { limit, before }: { limit: number; before: number | null },
) {
  const { rows } = await db.query<CampaignRow>(
    `select ${CAMPAIGN_COLUMNS} from campaigns where tenant_id = $1 and ($2::bigint is null or id < $2)
      order by id desc limit $3`,
    [tenantId, before, limit],
  );
  return rows;
}

export async function updateCampaignState(
  db: Queryable,
  { id, state, nextRunAt, now }: { id: number; state: CampaignState; nextRunAt: Date | null; now: Date },
) {
  await db.query('update campaigns set state = $2, next_run_at = $3, updated_at = $4 where id = $1', [
    id,
    state,
    nextRunAt,
    now,
  ]);
}

export async function readPastedRecipients(db: Queryable, campaignId: number): Promise<AudienceRecipient[]> {
  const { rows } = await db.query<AudienceRecipient>(
    'select phone, fields from campaign_recipients where campaign_id = $1 order by idx',
    [campaignId],
  );
  return rows;
}

/** Campaign ids whose next run is due (any node may take them: the claim decides). */
export async function findDueCampaigns(db: Queryable, now: Date, limit: number): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    `select id::int from campaigns where state = 'active' and next_run_at <= $1 order by next_run_at limit $2`,
    [now, limit],
  );
  return rows.map((r) => r.id);
}

export interface RunRow {
  id: number;
  campaign_id: number;
  tenant_id: number;
  run_at: Date;
  state: 'expanding' | 'testing' | 'choosing' | 'done';
  audience: number;
  send_limit: number;
  cursor: number;
  phase_start_idx: number;
  phase_at: Date;
  accepted: number;
  rejected: number;
  duplicates: number;
  invalid: number;
  winner: string | null;
  decision: unknown;
  decide_at: Date | null;
  created_at: Date;
  finished_at: Date | null;
}
const RUN_COLUMNS = `id::int, campaign_id::int, tenant_id::int, run_at, state, audience, send_limit, cursor, phase_start_idx,
  phase_at, accepted, rejected, duplicates, invalid, winner, decision, decide_at, created_at, finished_at`;

/** The claim: null when another scheduler (or an earlier start) already made this run. */
export async function claimRunRow(
  db: Queryable,
  r: { campaignId: number; tenantId: number; runAt: Date; now: Date },
): Promise<number | null> {
  const { rows } = await db.query<{ id: number }>(
    `insert into campaign_runs (campaign_id, tenant_id, run_at, state, audience, send_limit, phase_at, created_at)
     values ($1, $2, $3, 'expanding', 0, 0, $4, $4)
     on conflict (campaign_id, run_at) do nothing returning id::int`,
    [r.campaignId, r.tenantId, r.runAt, r.now],
  );
  return rows[0]?.id ?? null;
}

export async function setRunAudience(
  db: Queryable,
  r: { runId: number; audience: number; sendLimit: number; duplicates: number; invalid: number },
) {
  await db.query(
    'update campaign_runs set audience = $2, send_limit = $3, duplicates = $4, invalid = $5 where id = $1',
    [r.runId, r.audience, r.sendLimit, r.duplicates, r.invalid],
  );
}

export async function insertRunRecipients(
  db: Queryable,
  runId: number,
  items: readonly {
    phone: string;
    fields: Record<string, string>;
    contactId: number | null;
    variant: string | null;
  }[],
) {
  // In slices: one statement's arrays stay a few MB even for a large audience.
  for (let from = 0; from < items.length; from += 20_000) {
    const slice = items.slice(from, from + 20_000);
    await db.query(
      `insert into campaign_run_recipients (run_id, idx, phone, fields, contact_id, variant)
       select $1, $2 + i - 1, p, f, c, v
         from unnest($3::text[], $4::jsonb[], $5::bigint[], $6::text[]) with ordinality as u(p, f, c, v, i)`,
      [
        runId,
        from,
        slice.map((s) => s.phone),
        slice.map((s) => JSON.stringify(s.fields)),
        slice.map((s) => s.contactId),
        slice.map((s) => s.variant),
      ],
    );
  }
}

export async function linkRunBatch(db: Queryable, runId: number, label: string, batchId: number) {
  await db.query('insert into campaign_run_batches (run_id, label, batch_id) values ($1, $2, $3)', [
    runId,
    label,
    batchId,
  ]);
}

export async function runBatches(db: Queryable, runId: number): Promise<Map<string, number>> {
  const { rows } = await db.query<{ label: string; batch_id: number }>(
    'select label, batch_id::int from campaign_run_batches where run_id = $1',
    [runId],
  );
  return new Map(rows.map((r) => [r.label, r.batch_id]));
}

export async function getRun(db: Queryable, runId: number, { lock = false } = {}): Promise<RunRow | null> {
  const { rows } = await db.query<RunRow>(
    `select ${RUN_COLUMNS} from campaign_runs where id = $1 ${lock ? 'for update skip locked' : ''}`,
    [runId],
  );
  return rows[0] ?? null;
}

export async function listRuns(db: Queryable, campaignId: number): Promise<RunRow[]> {
  const { rows } = await db.query<RunRow>(
    `select ${RUN_COLUMNS} from campaign_runs where campaign_id = $1 order by run_at, id`,
    [campaignId],
  );
  return rows;
}

/** Runs with recipients still to admit, of campaigns that are not paused or canceled. */
export async function findExpandingRuns(db: Queryable, limit: number): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    `select r.id::int from campaign_runs r join campaigns c on c.id = r.campaign_id
      where r.state = 'expanding' and c.state in ('active', 'completed') order by r.id limit $1`,
    [limit],
  );
  return rows.map((r) => r.id);
}

export async function findTestsToDecide(db: Queryable, now: Date, limit: number): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    `select r.id::int from campaign_runs r join campaigns c on c.id = r.campaign_id
      where r.state = 'testing' and r.decide_at <= $1 and c.state in ('active', 'completed')
      order by r.decide_at limit $2`,
    [now, limit],
  );
  return rows.map((r) => r.id);
}

export interface PendingRecipient {
  idx: number;
  phone: string;
  fields: Record<string, string>;
  contact_id: number | null;
  variant: string | null;
}

export async function readRecipientsFrom(
  db: Queryable,
  { runId, from, to, limit }: { runId: number; from: number; to: number; limit: number },
): Promise<PendingRecipient[]> {
  const { rows } = await db.query<PendingRecipient>(
    `select idx, phone, fields, contact_id::int, variant from campaign_run_recipients
      where run_id = $1 and idx >= $2 and idx < $3 order by idx limit $4`,
    [runId, from, to, limit],
  );
  return rows;
}

export async function recordRecipientOutcomes(
  db: Queryable,
  runId: number,
  outcomes: readonly {
    idx: number;
    variant: string | null;
    messageId: number | null;
    errorCode: string | null;
  }[],
) {
  if (outcomes.length === 0) return;
  await db.query(
    `update campaign_run_recipients r set message_id = u.m, error_code = u.e, variant = coalesce(r.variant, u.v)
       from unnest($2::int[], $3::bigint[], $4::text[], $5::text[]) as u(i, m, e, v)
      where r.run_id = $1 and r.idx = u.i`,
    [
      runId,
      outcomes.map((o) => o.idx),
      outcomes.map((o) => o.messageId),
      outcomes.map((o) => o.errorCode),
      outcomes.map((o) => o.variant),
    ],
  );
}

export async function advanceRun(
  db: Queryable,
  r: {
    runId: number;
    cursor: number;
    accepted: number;
    rejected: number;
    state: RunRow['state'];
    decideAt: Date | null;
    finishedAt: Date | null;
  },
) {
  await db.query(
    `update campaign_runs set cursor = $2, accepted = accepted + $3, rejected = rejected + $4, state = $5,
            decide_at = coalesce($6, decide_at), finished_at = $7
      where id = $1`,
    [r.runId, r.cursor, r.accepted, r.rejected, r.state, r.decideAt, r.finishedAt],
  );
}

/** Adds a chunk's admitted and refused counts to a batch row. */
export async function addToBatchCounts(db: Queryable, batchId: number, accepted: number, rejected: number) {
  await db.query('update batches set accepted = accepted + $2, rejected = rejected + $3 where id = $1', [
    batchId,
    accepted,
    rejected,
  ]);
}

export async function setBatchTotal(db: Queryable, batchId: number, total: number) {
  await db.query('update batches set total = $2 where id = $1', [batchId, total]);
}
