// TOTP seeds at rest: sealed with the master key ring (src/shared/secrets.ts) like API secrets and
// channel passwords, since a seed read from a backup or a replica would let anyone mint valid codes.
// Seeds stored before sealing existed are still read as they are, and sealed once at start.
import { isSealed, type KeyRing, type KeyRingSource, openSealed, seal } from '../../shared/secrets.ts';
import type { Queryable } from './audit.ts';

/** The base32 seed of a stored value, sealed or (stored before sealing) plain. */
export function openTotpSeed(keyRing: KeyRingSource, stored: string): string {
  return isSealed(stored) ? openSealed(keyRing, stored) : stored;
}

export function sealTotpSeed(keyRing: KeyRingSource, seed: string): string {
  return seal(keyRing(), seed);
}

const SEED_COLUMNS = ['totp_secret', 'totp_pending_secret'] as const;

/**
 * Seals every plain seed of members and staff (both the active and the pending one); with
 * `reseal`, also re-seals values sealed under an older key (`hongyan secrets rotate`). Returns how
 * many values changed. Only the value read is replaced, so a seed changed meanwhile is left alone.
 */
export async function sealTotpSeeds({
  db,
  keyRing,
  reseal = false,
}: {
  db: Queryable;
  keyRing: KeyRing;
  reseal?: boolean;
}): Promise<number> {
  let changed = 0;
  for (const table of ['members', 'operators'] as const) {
    for (const column of SEED_COLUMNS) {
      const { rows } = await db.query<{ id: string; value: string }>(
        `select id, ${column} as value from ${table} where ${column} is not null`,
      );
      const stale = rows.filter(
        (r) => !isSealed(r.value) || (reseal && !r.value.startsWith(`v1:${keyRing.current}:`)),
      );
      if (stale.length === 0) continue;
      const source = () => keyRing;
      const { rowCount } = await db.query(
        `update ${table} t set ${column} = u.sealed
           from unnest($1::bigint[], $2::text[], $3::text[]) as u(id, old, sealed)
          where t.id = u.id and t.${column} = u.old`,
        [
          stale.map((r) => r.id),
          stale.map((r) => r.value),
          stale.map((r) => seal(keyRing, openTotpSeed(source, r.value))),
        ],
      );
      changed += rowCount ?? 0;
    }
  }
  return changed;
}
