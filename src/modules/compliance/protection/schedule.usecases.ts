// A scheduled send's new time (seed 002: "定时记录距离发送时间大于等于1小时可修改定时时间"): changed
// only while the current time is at least an hour away, for a message still held, or a batch
// whose held messages then move together. A marketing message's new time goes through the
// tenant's quiet hours like a new send (held to the window's opening, or refused).
import type pg from 'pg';
import { withTransaction } from '../../../db/pool.ts';
import { batchNotFound, invalidSendAt, messageNotFound } from '../../messages/messages.errors.ts';
import { scheduleOf } from '../../messages/messages.models.ts';
import { notReschedulable, quietHours, rescheduleTooLate } from './protection.errors.ts';
import type { QuietHours } from './protection.models.ts';
import { readSettings } from './protection.sql.ts';
import { nextOpening, zonesOf } from './quiet-hours.models.ts';

type Pool = Pick<pg.Pool, 'connect'>;
type Queryable = Pick<pg.PoolClient, 'query'>;

/** How far away a scheduled send must still be for its time to change. */
export const RESCHEDULE_MIN_LEAD_MS = 3_600_000;

function newTime(sendAt: string, now: Date): Date {
  const schedule = scheduleOf(sendAt, now);
  if (!schedule.ok) throw invalidSendAt();
  return schedule.at ?? now;
}

function checkLead(current: Date | null, now: Date) {
  if (current === null) throw notReschedulable();
  if (current.getTime() - now.getTime() < RESCHEDULE_MIN_LEAD_MS)
    throw rescheduleTooLate({ details: { send_at: current.toISOString() } });
}

function quietTime(type: string, recipient: string, at: Date, quiet: QuietHours): Date {
  if (type !== 'marketing' || !quiet.enabled) return at;
  const opening = nextOpening(at, zonesOf(recipient), quiet);
  if (opening.getTime() !== at.getTime() && quiet.action === 'reject')
    throw quietHours({ details: { window: { start: quiet.start, end: quiet.end }, opens_at: opening } });
  return opening;
}

async function quietOf(db: Queryable, tenantId: number) {
  return (await readSettings(db, [tenantId])).get(tenantId)!.quiet_hours;
}

/** Answers the message's id once its send_at has moved. */
export async function rescheduleMessage({
  pool,
  tenantId,
  id,
  sendAt,
  now,
}: {
  pool: Pool;
  tenantId: number;
  id: number;
  sendAt: string;
  now: Date;
}): Promise<void> {
  const at = newTime(sendAt, now);
  await withTransaction(pool, async (db) => {
    const found = await db.query<{ status: string; send_at: Date | null; type: string; recipient: string }>(
      'select status, send_at, type, recipient from messages where id = $1 and tenant_id = $2 for update',
      [id, tenantId],
    );
    const m = found.rows[0];
    if (!m) throw messageNotFound();
    if (m.status !== 'held') throw notReschedulable({ details: { status: m.status } });
    checkLead(m.send_at, now);
    const due = quietTime(m.type, m.recipient, at, await quietOf(db, tenantId));
    await db.query('update messages set send_at = $2, updated_at = $3 where id = $1', [id, due, now]);
  });
}

/** Moves a scheduled batch and its held messages; answers how many messages moved. */
export async function rescheduleBatch({
  pool,
  tenantId,
  id,
  sendAt,
  now,
}: {
  pool: Pool;
  tenantId: number;
  id: number;
  sendAt: string;
  now: Date;
}): Promise<number> {
  const at = newTime(sendAt, now);
  return withTransaction(pool, async (db) => {
    const found = await db.query<{ send_at: Date | null; canceled_at: Date | null; type: string }>(
      'select send_at, canceled_at, type from batches where id = $1 and tenant_id = $2 for update',
      [id, tenantId],
    );
    const b = found.rows[0];
    if (!b) throw batchNotFound();
    if (b.canceled_at !== null) throw notReschedulable({ details: { status: 'canceled' } });
    checkLead(b.send_at, now);
    await db.query('update batches set send_at = $2 where id = $1', [id, at]);
    // Messages under marketing review have no send_at yet: approval gives them the batch's.
    const held = await db.query<{ id: string; recipient: string; type: string }>(
      `select id, recipient, type from messages where batch_id = $1 and status = 'held' and send_at is not null
        for update`,
      [id],
    );
    const quiet = await quietOf(db, tenantId);
    const times = held.rows.map((m) => quietTime(m.type, m.recipient, at, quiet));
    await db.query(
      `update messages m set send_at = u.s, updated_at = $3
         from unnest($1::bigint[], $2::timestamptz[]) as u(id, s) where m.id = u.id`,
      [held.rows.map((m) => m.id), times, now],
    );
    return held.rows.length;
  });
}
