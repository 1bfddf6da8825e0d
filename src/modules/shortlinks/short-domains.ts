// A tenant's own short domain: the base its campaigns' short links are written with, set by the
// operator; the redirect answers on any host, so the domain only has to reach Hongyan.
import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

/** The base URL as stored (no trailing slash), or why it cannot be one. */
export function checkShortBase(raw: string): { ok: true; value: string } | { ok: false; reason: string } {
  const v = raw.trim().replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return { ok: false, reason: 'not an absolute URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { ok: false, reason: 'not http or https' };
  if (url.search !== '' || url.hash !== '') return { ok: false, reason: 'has a query or fragment' };
  if (url.username !== '' || url.password !== '') return { ok: false, reason: 'carries credentials' };
  return { ok: true, value: v };
}

export interface ShortDomainRow {
  tenant_id: string;
  base_url: string;
  set_by: string;
  set_at: Date;
}

export async function getTenantShortDomain(db: Queryable, tenantId: number): Promise<ShortDomainRow | null> {
  const { rows } = await db.query<ShortDomainRow>(
    'select tenant_id::text, base_url, set_by, set_at from tenant_short_domains where tenant_id = $1',
    [tenantId],
  );
  return rows[0] ?? null;
}

/** The base a tenant's new short links are written with: its own domain, else the platform's. */
export async function shortLinkBaseFor(db: Queryable, tenantId: number, platformBase: string) {
  return (await getTenantShortDomain(db, tenantId))?.base_url ?? platformBase;
}

export async function setTenantShortDomain(
  db: Queryable,
  r: { tenantId: number; baseUrl: string; setBy: string; now: Date },
): Promise<ShortDomainRow> {
  const { rows } = await db.query<ShortDomainRow>(
    `insert into tenant_short_domains (tenant_id, base_url, set_by, set_at) values ($1, $2, $3, $4)
     on conflict (tenant_id) do update set base_url = excluded.base_url, set_by = excluded.set_by,
       set_at = excluded.set_at
     returning tenant_id::text, base_url, set_by, set_at`,
    [r.tenantId, r.baseUrl, r.setBy, r.now],
  );
  return rows[0]!;
}

export async function clearTenantShortDomain(db: Queryable, tenantId: number): Promise<boolean> {
  const { rowCount } = await db.query('delete from tenant_short_domains where tenant_id = $1', [tenantId]);
  return (rowCount ?? 0) > 0;
}
