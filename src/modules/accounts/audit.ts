// The append-only audit log: one helper writes, two queries read (operator: everything; tenant:
// its own rows). The table refuses UPDATE, DELETE and TRUNCATE (migration 0005).
import type pg from 'pg';

export type Queryable = Pick<pg.Pool, 'query'>;

/** How a member or staff account is named in the log: 'member:12', 'staff:1'. */
export function actorOf(subject: { kind: 'member' | 'staff'; id: number }): string {
  return `${subject.kind}:${subject.id}`;
}

export interface AuditEntry {
  /** 'member:12', 'staff:1', 'key:<key id>', or 'anonymous'. */
  actor: string;
  tenantId?: number | null;
  action: string;
  target?: string | null;
  before?: unknown;
  after?: unknown;
  ip?: string | null;
}

export async function audit(db: Queryable, entry: AuditEntry, at: Date = new Date()): Promise<void> {
  await db.query(
    `insert into audit_log (at, actor, tenant_id, action, target, before, after, ip)
     values ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      at,
      entry.actor,
      entry.tenantId ?? null,
      entry.action,
      entry.target ?? null,
      entry.before === undefined ? null : JSON.stringify(entry.before),
      entry.after === undefined ? null : JSON.stringify(entry.after),
      entry.ip ?? null,
    ],
  );
}

export interface AuditRow {
  id: number;
  at: Date;
  actor: string;
  tenant_id: number | null;
  action: string;
  target: string | null;
  before: unknown;
  after: unknown;
  ip: string | null;
}

/** Newest first, in pages: `beforeId` is the smallest id of the previous page. */
export async function listAudit(
  db: Queryable,
  { tenantId, beforeId, limit }: { tenantId: number | null; beforeId?: number; limit: number },
): Promise<AuditRow[]> {
  const { rows } = await db.query<AuditRow>(
    `select id, at, actor, tenant_id, action, target, before, after, ip from audit_log
      where ($1::bigint is null or tenant_id = $1) and ($2::bigint is null or id < $2)
      order by id desc limit $3`,
    [tenantId, beforeId ?? null, limit],
  );
  return rows;
}
