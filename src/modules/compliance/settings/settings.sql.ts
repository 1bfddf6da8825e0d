// The platform's compliance settings row (migration 0031), read whole: a handful of bytes, read by
// the routes that need it (apply for a signature, the review queues, a marketing batch held for
// review), so that every node sees a change at once.
import type pg from 'pg';
import {
  type ComplianceSettings,
  DEFAULT_COMPLIANCE_SETTINGS,
  mergeComplianceSettings,
  type SettingsPatch,
} from './settings.models.ts';

type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

/** What the operator stored, and the whole settings (defaults where nothing is stored). */
export async function readStoredSettings(db: Queryable) {
  const result = await db.query<{ settings: SettingsPatch | null }>(
    'select settings from compliance_settings',
  );
  const stored = result.rows[0]?.settings ?? {};
  return { stored, settings: mergeComplianceSettings(DEFAULT_COMPLIANCE_SETTINGS, stored) };
}

export async function readComplianceSettings(db: Queryable): Promise<ComplianceSettings> {
  return (await readStoredSettings(db)).settings;
}

export async function writeComplianceSettings(db: Queryable, settings: ComplianceSettings, now: Date) {
  await db.query(
    `insert into compliance_settings (id, settings, updated_at) values (true, $1, $2)
     on conflict (id) do update set settings = excluded.settings, updated_at = excluded.updated_at`,
    [JSON.stringify(settings), now],
  );
}
