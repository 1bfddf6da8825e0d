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

export interface LinkTarget {
  id: number;
  tenantId: number;
  target: string;
  disabled: boolean;
}

export async function findLinkByCode(db: Queryable, code: string): Promise<LinkTarget | null> {
  const { rows } = await db.query<{ id: string; tenant_id: string; target: string; disabled: boolean }>(
    prepared(
      'short-link-by-code',
      'select id, tenant_id, target, disabled_at is not null as disabled from short_links where code = $1',
      [code],
    ),
  );
  const row = rows[0];
  if (row === undefined) return null;
  return { id: Number(row.id), tenantId: Number(row.tenant_id), target: row.target, disabled: row.disabled };
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
            disabled_reason = case when $2 then $4 else null end
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
