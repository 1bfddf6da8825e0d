// Statements of short links and their clicks. Links are written in the transaction that admits
// their messages (campaign runs); clicks in batches by the recorder.
import type pg from 'pg';
import { prepared } from '../../db/prepared.ts';
import type { DeviceClass } from './shortlinks.models.ts';

type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

export interface NewShortLink {
  code: string;
  tenantId: number;
  campaignId: number | null;
  runId: number | null;
  messageId: number | null;
  contactId: number | null;
  phone: string | null;
  target: string;
}

export async function insertShortLinks(db: Queryable, links: readonly NewShortLink[], now: Date) {
  if (links.length === 0) return;
  await db.query(
    `insert into short_links (code, tenant_id, campaign_id, run_id, message_id, contact_id, phone, target, created_at)
     select * , $9::timestamptz from unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[],
       $6::bigint[], $7::text[], $8::text[])`,
    [
      links.map((l) => l.code),
      links.map((l) => l.tenantId),
      links.map((l) => l.campaignId),
      links.map((l) => l.runId),
      links.map((l) => l.messageId),
      links.map((l) => l.contactId),
      links.map((l) => l.phone),
      links.map((l) => l.target),
      now,
    ],
  );
}

/** What the redirect needs of a link, and what its click is attributed to. */
export interface LinkTarget {
  id: number;
  tenantId: number;
  campaignId: number | null;
  messageId: number | null;
  contactId: number | null;
  target: string;
  disabled: boolean;
}

interface LinkTargetRow {
  id: string;
  code: string;
  tenant_id: string;
  campaign_id: string | null;
  message_id: string | null;
  contact_id: string | null;
  target: string;
  disabled: boolean;
}

const TARGET_COLUMNS = `id, code, tenant_id, campaign_id, message_id, contact_id, target, disabled_at is not null as disabled`;

const id = (v: string | null) => (v === null ? null : Number(v));

function targetOf(row: LinkTargetRow): LinkTarget {
  return {
    id: Number(row.id),
    tenantId: Number(row.tenant_id),
    campaignId: id(row.campaign_id),
    messageId: id(row.message_id),
    contactId: id(row.contact_id),
    target: row.target,
    disabled: row.disabled,
  };
}

export async function findLinkByCode(db: Queryable, code: string): Promise<LinkTarget | null> {
  return (await findLinksByCodes(db, [code])).get(code) ?? null;
}

/** The links of these codes (one statement for the misses that arrived together). */
export async function findLinksByCodes(
  db: Queryable,
  codes: readonly string[],
): Promise<Map<string, LinkTarget>> {
  const { rows } = await db.query<LinkTargetRow>(
    prepared(
      'short-links-by-codes',
      `select ${TARGET_COLUMNS} from short_links where code = any($1::text[])`,
      [codes],
    ),
  );
  return new Map(rows.map((r) => [r.code, targetOf(r)]));
}

/** Links created after `afterId`, oldest first: how each node's cache learns of new links. */
export async function readLinksAfter(db: Queryable, afterId: number, limit: number) {
  const { rows } = await db.query<LinkTargetRow>(
    prepared(
      'short-links-after',
      `select ${TARGET_COLUMNS} from short_links where id > $1 order by id limit $2`,
      [afterId, limit],
    ),
  );
  return rows.map((r) => ({ code: r.code, link: targetOf(r) }));
}

export async function latestLinkId(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ id: string | null }>('select max(id)::text as id from short_links');
  return Number(rows[0]?.id ?? 0);
}

/**
 * Links an operator disabled or enabled at or after `since` (the database's clock), and the
 * database's clock now, to ask from next time. `since` null: only the clock.
 */
export async function readLinksChangedSince(db: Queryable, since: Date | null) {
  const { rows } = await db.query<(LinkTargetRow | { [K in keyof LinkTargetRow]: null }) & { db_now: Date }>(
    prepared(
      'short-links-changed-since',
      `select l.*, n.db_now from (select now() as db_now) n
         left join lateral (select ${TARGET_COLUMNS} from short_links where changed_at >= $1) l on true`,
      [since],
    ),
  );
  const changed: { code: string; link: LinkTarget }[] = [];
  for (const r of rows) if (r.id !== null) changed.push({ code: r.code, link: targetOf(r) });
  return { changed, dbNow: rows[0]!.db_now };
}

export interface Click {
  linkId: number;
  tenantId: number;
  at: Date;
  userAgent: string | null;
  device: DeviceClass;
}

export async function insertClicks(db: Queryable, clicks: readonly Click[]) {
  if (clicks.length === 0) return;
  await db.query(
    `insert into short_link_clicks (link_id, tenant_id, at, user_agent, device)
     select * from unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::text[], $5::text[])`,
    [
      clicks.map((c) => c.linkId),
      clicks.map((c) => c.tenantId),
      clicks.map((c) => c.at),
      clicks.map((c) => c.userAgent),
      clicks.map((c) => c.device),
    ],
  );
}

export async function setLinkDisabled(
  db: Queryable,
  { code, disabled, reason, now }: { code: string; disabled: boolean; reason: string | null; now: Date },
) {
  const { rows } = await db.query<LinkRow>(
    `update short_links set disabled_at = case when $2 then $3::timestamptz else null end,
            disabled_reason = case when $2 then $4 else null end, changed_at = now()
      where code = $1 returning ${LINK_COLUMNS}`,
    [code, disabled, now, reason],
  );
  return rows[0] ?? null;
}

const LINK_COLUMNS = `code, tenant_id::text, campaign_id::text, message_id::text, target, disabled_at, disabled_reason,
  created_at, (select count(*)::int from short_link_clicks c where c.link_id = short_links.id) as clicks`;

export interface LinkRow {
  code: string;
  tenant_id: string;
  campaign_id: string | null;
  message_id: string | null;
  target: string;
  disabled_at: Date | null;
  disabled_reason: string | null;
  created_at: Date;
  clicks: number;
}

export async function getLinkRow(db: Queryable, code: string) {
  const { rows } = await db.query<LinkRow>(`select ${LINK_COLUMNS} from short_links where code = $1`, [code]);
  return rows[0] ?? null;
}
