// Test helpers of recipient protection: a tenant able to send (free text, an approved default
// signature 鸿雁), an operator admin's session, and a reply as the carrier delivers it.
import type { FastifyInstance } from 'fastify';
import type { Db } from '../../../db/pool.ts';
import { newTenant } from '../../../../test/helpers/app.ts';
import type { AppContext } from '../../../app/context.ts';
import { loginAs, newStaff, withSession } from '../../accounts/accounts.testkit.ts';
import { storeInboundMessages } from '../../replies/inbound-store.ts';

export async function sendingTenant(ctx: AppContext, db: Db, name: string, senderCode: string | null = null) {
  const tenant = await newTenant(ctx as never, name);
  await db.pool.query('update tenants set free_text = true, sender_code = $2 where id = $1', [
    tenant.tenantId,
    senderCode,
  ]);
  await db.pool.query(
    `insert into signatures (tenant_id, name, source, status, extension_code, is_default)
     values ($1, '鸿雁', 'company', 'approved', '01', true) on conflict do nothing`,
    [tenant.tenantId],
  );
  return tenant;
}

let staffSeq = 0;
export async function operatorAdmin(app: FastifyInstance, db: Db) {
  const staff = await newStaff(db, `prot-admin-${++staffSeq}`, 'admin');
  const { browser } = await loginAs(app, staff.username, staff.password);
  return withSession(browser!);
}

/** A channel replies can arrive on. */
export async function replyChannel(db: Db): Promise<{ id: number; sourceAddr: string }> {
  const c = await db.pool.query<{ id: string }>(
    `insert into channels (name, host, port, system_id, source_addr) values ('mo', '127.0.0.1', 2775, 'x', '106900')
     returning id`,
  );
  return { id: Number(c.rows[0]!.id), sourceAddr: '106900' };
}

/** The message to `recipient` counts as sent on the channel, so a reply without a code finds its tenant. */
export async function markSent(db: Db, messageId: string | number, channelId: number, at: Date) {
  await db.pool.query(`update messages set status = 'sent', channel_id = $2, sent_at = $3 where id = $1`, [
    messageId,
    channelId,
    at,
  ]);
}

/** A reply (MO) stored the way the receipt ingest stores it, in UCS-2 as handsets send Chinese. */
export async function reply(
  db: Db,
  { channelId, from, to, text, at }: { channelId: number; from: string; to: string; text: string; at: Date },
) {
  const body = Buffer.from(text, 'utf16le').swap16();
  await storeInboundMessages(db.pool, {
    messages: [{ channelId, sender: from, destination: to, dataCoding: 8, body, receivedAt: at }],
    now: at,
  });
}
