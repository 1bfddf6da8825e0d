// Channel changes as an operator makes them, from the API or the CLI: the change and its audit row
// (who, from where, the channel before and after, never its password) in one transaction, so a
// change the log does not show cannot happen.
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { inTransaction, queryableOf } from '../../db/queryable.ts';
import type { KeyRingSource } from '../../shared/secrets.ts';
import { audit } from '../accounts/audit.ts';
import { channelNotFound } from './channels.errors.ts';
import { type ChannelInput, type ChannelPatch, channelKey } from './channels.models.ts';
import { type Channel, createChannelsRepository, toChannelView } from './channels.repository.ts';

/** Who changes it: 'staff:1' and the request's address from the API, 'operator-cli' from the CLI. */
export interface ChangedBy {
  actor: string;
  ip?: string | null;
}

const target = (c: Channel) => `channel:${c.id}`;

/** The audited view: the public view, and whether the password was changed (never its value). */
function audited(c: Channel, passwordChanged = false) {
  const { created_at: _c, updated_at: _u, ...view } = toChannelView(c);
  return passwordChanged ? { ...view, password_changed: true } : view;
}

export async function addChannel({
  db,
  keyRing,
  input,
  by,
}: {
  db: Kysely<Database>;
  keyRing?: KeyRingSource;
  input: ChannelInput;
  by: ChangedBy;
}): Promise<Channel> {
  return inTransaction(db, async (trx) => {
    const channel = await createChannelsRepository(trx, keyRing).addChannel(input);
    await audit(queryableOf(trx), {
      actor: by.actor,
      action: 'channel.created',
      target: target(channel),
      after: audited(channel, Boolean(input.password)),
      ip: by.ip ?? null,
    });
    return channel;
  });
}

/**
 * Changes what the patch names. Enabling or disabling is its own action in the log
 * (channel.enabled, channel.disabled); anything else is channel.changed.
 */
export async function changeChannel({
  db,
  keyRing,
  nameOrId,
  patch,
  by,
}: {
  db: Kysely<Database>;
  keyRing?: KeyRingSource;
  nameOrId: string;
  patch: ChannelPatch;
  by: ChangedBy;
}): Promise<Channel> {
  return inTransaction(db, async (trx) => {
    const channels = createChannelsRepository(trx, keyRing);
    const id = await lockChannel(trx, nameOrId);
    const before = await channels.getChannel(String(id));
    const after = await channels.updateChannel(String(id), patch);
    const action =
      before.enabled === after.enabled
        ? 'channel.changed'
        : after.enabled
          ? 'channel.enabled'
          : 'channel.disabled';
    await audit(queryableOf(trx), {
      actor: by.actor,
      action,
      target: target(after),
      before: audited(before),
      after: audited(after, patch.password !== undefined),
      ip: by.ip ?? null,
    });
    return after;
  });
}

export async function removeChannel({
  db,
  keyRing,
  nameOrId,
  by,
}: {
  db: Kysely<Database>;
  keyRing?: KeyRingSource;
  nameOrId: string;
  by: ChangedBy;
}): Promise<Channel> {
  return inTransaction(db, async (trx) => {
    const removed = await createChannelsRepository(trx, keyRing).removeChannel(nameOrId);
    await audit(queryableOf(trx), {
      actor: by.actor,
      action: 'channel.removed',
      target: target(removed),
      before: audited(removed),
      ip: by.ip ?? null,
    });
    return removed;
  });
}

/** Locks the channel's row for the rest of the transaction (two changes at once: one waits). */
export async function lockChannel(trx: Kysely<Database>, nameOrId: string): Promise<number> {
  const key = channelKey(nameOrId);
  const row = await trx
    .selectFrom('channels')
    .select('id')
    .where(key.column, '=', key.value)
    .forUpdate()
    .executeTakeFirst();
  if (!row) throw channelNotFound();
  return row.id;
}
