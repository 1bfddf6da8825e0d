// Storing replies (MO).
import type pg from 'pg';
import type { Logger } from 'pino';

type Queryable = Pick<pg.PoolClient, 'query'>;

export interface InboundInput {
  channelId: number;
  sender: string;
  destination: string;
  content: string;
  receivedAt: Date;
}

/**
 * Stores replies (MO). The tenant is found by the extension code the reply was sent to (the
 * destination is the channel's source number followed by the tenant's code); failing that, by
 * the last tenant that messaged this handset on this channel.
 */
export async function storeInboundMessages(
  db: Queryable,
  {
    messages,
  }: { messages: InboundInput[]; now?: Date; windowHours?: number; logger?: Pick<Logger, 'warn' | 'error'> },
) {
  if (messages.length === 0) return 0;
  const result = await db.query(
    `insert into inbound_messages (tenant_id, channel_id, sender, destination, content, received_at)
     select coalesce(
              (select t.id from tenants t join channels c on c.id = u.channel_id
                where t.sender_code is not null and u.destination like c.source_addr || t.sender_code || '%'
                order by length(t.sender_code) desc limit 1),
              (select m.tenant_id from messages m
                where m.recipient = u.sender and m.channel_id = u.channel_id and m.status <> 'queued'
                order by m.id desc limit 1)),
            u.channel_id, u.sender, u.destination, u.content, u.received_at
       from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
         as u(channel_id, sender, destination, content, received_at)`,
    [
      messages.map((m) => m.channelId),
      messages.map((m) => m.sender),
      messages.map((m) => m.destination),
      messages.map((m) => m.content),
      messages.map((m) => m.receivedAt),
    ],
  );
  return result.rowCount ?? 0;
}
