// Opt-out by reply: a reply whose whole text is an opt-out keyword (TD, 退订, STOP…, after trim,
// case and width folding) puts its sender on the opt-out list of the tenant it was attributed to;
// an opt-in keyword takes it off. Runs in the transaction that stores the replies
// (replies/inbound-store.ts), so a stored reply and its effect cannot part.
//
// The signature it answered is the one of the most recent message that tenant sent the number; it
// is recorded on the opt-out, which covers the whole tenant. A number that opts out of
// REPEATED_OPT_OUT.tenants tenants within REPEATED_OPT_OUT.days goes on the platform blacklist
// (seed 000: numbers that opt out repeatedly).
import type pg from 'pg';
import { MAX_KEYWORD_LENGTH, normalizeKeyword, REPEATED_OPT_OUT } from './protection.models.ts';

type Queryable = Pick<pg.PoolClient, 'query'>;

export interface StoredReply {
  tenantId: number | null;
  sender: string;
  content: string;
  receivedAt: Date;
}

/** Answers how many replies changed an opt-out. */
export async function applyOptOutReplies(db: Queryable, replies: readonly StoredReply[]): Promise<number> {
  const candidates = replies
    .filter((r) => r.tenantId !== null && r.content.length <= MAX_KEYWORD_LENGTH * 2)
    .map((r) => ({ ...r, tenantId: r.tenantId!, keyword: normalizeKeyword(r.content) }))
    .filter((r) => r.keyword.length > 0 && r.keyword.length <= MAX_KEYWORD_LENGTH);
  if (candidates.length === 0) return 0;
  const found = await db.query<{ keyword: string; action: 'out' | 'in' }>(
    'select keyword, action from opt_keywords where keyword = any($1::text[])',
    [[...new Set(candidates.map((c) => c.keyword))]],
  );
  if (found.rows.length === 0) return 0;
  const actions = new Map(found.rows.map((r) => [r.keyword, r.action]));
  let changed = 0;
  // In arrival order: TD then START in one batch leaves the number subscribed.
  for (const reply of candidates) {
    const action = actions.get(reply.keyword);
    if (action === 'out') changed += await optOut(db, reply);
    else if (action === 'in') changed += await optIn(db, reply);
  }
  return changed;
}

async function optOut(db: Queryable, r: StoredReply & { tenantId: number }): Promise<number> {
  const signature = await db.query<{ signature_id: string | null }>(
    `select signature_id from messages where recipient = $1 and tenant_id = $2 order by id desc limit 1`,
    [r.sender, r.tenantId],
  );
  const signatureId = signature.rows[0]?.signature_id ?? null;
  const inserted = await db.query(
    `insert into opt_outs (tenant_id, phone, signature_id, source, created_at) values ($1, $2, $3, 'reply', $4)
     on conflict (tenant_id, phone) do nothing`,
    [r.tenantId, r.sender, signatureId, r.receivedAt],
  );
  await db.query(
    `insert into opt_out_events (tenant_id, phone, action, signature_id, at) values ($1, $2, 'out', $3, $4)`,
    [r.tenantId, r.sender, signatureId, r.receivedAt],
  );
  await db.query(
    `insert into platform_blacklist (phone, reason, note, created_at)
     select $1, 'repeated_opt_out', 'opted out of ' || count(distinct tenant_id) || ' tenants', $2
       from opt_out_events where phone = $1 and action = 'out' and at > $2::timestamptz - make_interval(days => $3)
     having count(distinct tenant_id) >= $4
     on conflict (phone) do nothing`,
    [r.sender, r.receivedAt, REPEATED_OPT_OUT.days, REPEATED_OPT_OUT.tenants],
  );
  return inserted.rowCount ?? 0;
}

async function optIn(db: Queryable, r: StoredReply & { tenantId: number }): Promise<number> {
  const deleted = await db.query('delete from opt_outs where tenant_id = $1 and phone = $2', [
    r.tenantId,
    r.sender,
  ]);
  if ((deleted.rowCount ?? 0) === 0) return 0;
  await db.query(`insert into opt_out_events (tenant_id, phone, action, at) values ($1, $2, 'in', $3)`, [
    r.tenantId,
    r.sender,
    r.receivedAt,
  ]);
  return 1;
}
