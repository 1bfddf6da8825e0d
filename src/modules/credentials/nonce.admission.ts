// A signed single send spends its nonce in the transaction that admits its message (an admission
// step, messages/admission.ts), instead of in a statement and a round trip of its own before it:
// the nonce and the message are written together or not at all. A replayed request is refused
// there with `auth.nonce_replayed`, as the pre-handler would have refused it. The step runs first
// (order 10): a replay is refused before any step counts or reserves for it. Only the routes that
// ask for it (`config.deferNonce`) defer their nonce here; every other signed request spends it in
// the pre-handler (credentials.verify.ts).
import type pg from 'pg';
import type { AppError } from '../../shared/errors.ts';
import type { AdmissionStep } from '../messages/admission.ts';
import type { NewMessageRow } from '../messages/messages.repository.ts';
import { nonceReplayed } from './credentials.errors.ts';

type Queryable = Pick<pg.PoolClient, 'query'>;

/** Stores the nonces that are new; answers, aligned with `rows`, whether each was new. */
export async function rememberNoncesOn(
  db: Queryable,
  rows: readonly { appKey: string; nonce: string }[],
  at: Date,
): Promise<boolean[]> {
  const { rows: stored } = await db.query<{ app_key: string; nonce: string }>(
    `insert into api_nonces (app_key, nonce, seen_at)
     select k, n, $3::timestamptz from unnest($1::text[], $2::text[]) as u(k, n) order by k, n
     on conflict do nothing
     returning app_key, nonce`,
    [rows.map((r) => r.appKey), rows.map((r) => r.nonce), at],
  );
  const fresh = new Set(stored.map((r) => `${r.app_key}\n${r.nonce}`));
  return rows.map((r) => fresh.has(`${r.appKey}\n${r.nonce}`));
}

export function nonceAdmissionStep(): AdmissionStep {
  return {
    name: 'signed-request nonce',
    order: 10,
    async check(client, rows: readonly NewMessageRow[], context) {
      const verdicts: (AppError | null)[] = rows.map(() => null);
      // The same nonce twice in one group: the first is the request, the second its replay.
      const first = new Map<string, number>();
      rows.forEach((row, i) => {
        if (!row.nonce) return;
        const id = `${row.nonce.appKey}\n${row.nonce.nonce}`;
        if (first.has(id)) verdicts[i] = nonceReplayed();
        else first.set(id, i);
      });
      if (first.size === 0) return verdicts;
      // Inserted in key order, so two groups that share nonces (only a replay can) never deadlock.
      const indexes = [...first.values()];
      const fresh = await rememberNoncesOn(
        client,
        indexes.map((i) => rows[i]!.nonce!),
        context.now,
      );
      indexes.forEach((i, k) => {
        if (!fresh[k]) verdicts[i] = nonceReplayed();
      });
      return verdicts;
    },
  };
}
