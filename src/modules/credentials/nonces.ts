// Group commit for nonces: a signed request's nonce is one row, and at thousands of sends a second
// a statement each would cost PostgreSQL a commit per request. As in intake.ts, no timer: while a
// write is in flight, the next nonces gather and go out together in one statement. bench/signed.ts
// compares signed and bearer single sends.
import type { CredentialsRepository } from './credentials.repository.ts';

interface Pending {
  appKey: string;
  nonce: string;
  at: Date;
  resolve: (fresh: boolean) => void;
  reject: (error: unknown) => void;
}

export function createNonceRecorder({
  repository,
  maxBatch = 1000,
  maxInFlight = 1,
}: {
  repository: Pick<CredentialsRepository, 'rememberNonces'>;
  maxBatch?: number;
  maxInFlight?: number;
}) {
  const queue: Pending[] = [];
  let inFlight = 0;

  async function flush(items: Pending[]) {
    inFlight++;
    try {
      // The same nonce twice in one group: the first is stored, the second is a replay.
      const seen = new Set<string>();
      const unique: Pending[] = [];
      for (const p of items) {
        const id = `${p.appKey}\n${p.nonce}`;
        if (seen.has(id)) p.resolve(false);
        else {
          seen.add(id);
          unique.push(p);
        }
      }
      // One time for the group, the latest: seen_at only decides when the sweep may delete a
      // nonce, and a later time keeps it longer, never shorter, than its own request needs.
      const at = unique.reduce((latest, p) => (p.at > latest ? p.at : latest), unique[0]!.at);
      const fresh = await repository.rememberNonces(unique, at);
      unique.forEach((p, i) => p.resolve(fresh[i]!));
    } catch (error) {
      for (const p of items) p.reject(error);
    } finally {
      inFlight--;
      pump();
    }
  }

  function pump() {
    while (queue.length > 0 && inFlight < maxInFlight) void flush(queue.splice(0, maxBatch));
  }

  return {
    /** True when the nonce is new for this AppKey; false when it was seen (a replay). */
    remember(appKey: string, nonce: string, at: Date): Promise<boolean> {
      return new Promise((resolve, reject) => {
        queue.push({ appKey, nonce, at, resolve, reject });
        pump();
      });
    },
  };
}
