// Idempotency-Key: the same key and body give the same answer and no second message; the same key
// with another body is a 409. The key row, the messages and the stored answer are written in one
// transaction, and a concurrent request with the same key waits on the key row's unique index
// until the first one commits, then replays its answer.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { idempotencyConflict, invalidIdempotencyKey } from './messages.errors.ts';

export function requestHash(route: string, body: unknown): Buffer {
  return createHash('sha256').update(route).update('\0').update(JSON.stringify(body)).digest();
}

export function checkIdempotencyKey(key: string): void {
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) throw invalidIdempotencyKey();
}

export async function withIdempotency<T>({
  pool,
  tenantId,
  key,
  hash,
  statusCode,
  run,
}: {
  pool: pg.Pool;
  tenantId: number;
  key: string;
  hash: Buffer;
  statusCode: number;
  run: (client: pg.PoolClient) => Promise<T>;
}): Promise<{ statusCode: number; body: T; replayed: boolean }> {
  checkIdempotencyKey(key);
  const client = await pool.connect();
  try {
    await client.query('begin');
    const claimed = await client.query(
      `insert into idempotency_keys (tenant_id, key, request_hash) values ($1, $2, $3)
       on conflict (tenant_id, key) do nothing returning key`,
      [tenantId, key, hash],
    );
    if (claimed.rowCount === 0) {
      await client.query('rollback');
      const existing = await client.query<{ request_hash: Buffer; status_code: number; response: T }>(
        'select request_hash, status_code, response from idempotency_keys where tenant_id = $1 and key = $2',
        [tenantId, key],
      );
      const row = existing.rows[0];
      if (!row?.request_hash.equals(hash)) throw idempotencyConflict();
      return { statusCode: row.status_code, body: row.response, replayed: true };
    }
    const body = await run(client);
    await client.query(
      'update idempotency_keys set status_code = $3, response = $4 where tenant_id = $1 and key = $2',
      [tenantId, key, statusCode, JSON.stringify(body)],
    );
    await client.query('commit');
    return { statusCode, body, replayed: false };
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
