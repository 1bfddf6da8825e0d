import type { Kysely, Selectable } from 'kysely';
import { inTransaction } from '../../db/queryable.ts';
import type { ChannelsTable, Database } from '../../db/schema.ts';
import { isSealed, type KeyRingSource, openSealed, seal } from '../../shared/secrets.ts';
import { channelNameTaken, channelNotFound, invalidChannel } from './channels.errors.ts';
import {
  type ChannelInput,
  type ChannelPatch,
  channelKey,
  ID_CONVENTIONS,
  type IdConvention,
  validateChannel,
  validateChannelPatch,
} from './channels.models.ts';

export type Channel = Selectable<ChannelsTable>;

/**
 * Channel passwords are stored sealed with the master key (src/shared/secrets.ts) and opened on
 * read; a row written before that (or by hand) is read as plain text until the start-up seals it.
 */
export function createChannelsRepository(db: Kysely<Database>, keyRing?: KeyRingSource) {
  const source: KeyRingSource = (neededKeyId) => {
    if (!keyRing) throw new Error('channel passwords need the master key; pass the key ring');
    return keyRing(neededKeyId);
  };
  const ring = () => source();
  const opened = (c: Channel): Channel =>
    isSealed(c.password) ? { ...c, password: openSealed(source, c.password) } : c;
  return {
    async addChannel(input: ChannelInput): Promise<Channel> {
      const problems = validateChannel(input);
      if (problems.length > 0) throw invalidChannel({ message: problems.join('; '), details: problems });
      try {
        return await inTransaction(db, async (trx) => {
          const count = await trx
            .selectFrom('channels')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow();
          const makeDefault = input.isDefault ?? Number(count.n) === 0;
          if (makeDefault)
            await trx
              .updateTable('channels')
              .set({ is_default: false })
              .where('is_default', '=', true)
              .execute();
          return trx
            .insertInto('channels')
            .values({
              name: input.name,
              host: input.host,
              port: input.port,
              system_id: input.systemId,
              password: input.password ? seal(ring(), input.password) : '',
              system_type: input.systemType ?? '',
              bind_mode: input.bindMode ?? 'transceiver',
              window_size: input.windowSize ?? 50,
              max_tps: input.maxTps ?? 1000,
              source_addr: input.sourceAddr ?? '106900',
              is_default: makeDefault,
              id_convention: input.idConvention ?? 'as-is',
              ...routingColumns(input),
              ...(input.enabled === undefined ? {} : { enabled: input.enabled }),
            })
            .returningAll()
            .executeTakeFirstOrThrow();
        });
      } catch (error) {
        if ((error as { code?: string }).code === '23505') throw channelNameTaken({ cause: error });
        throw error;
      }
    },
    /** Points the named channel at a new address and (dis)ables it, if anything differs. */
    async followSimulator({
      name,
      host,
      port,
      enabled,
      idConvention,
    }: {
      name: string;
      host?: string;
      port?: number;
      enabled: boolean;
      /** The ids of the simulator's profile (HONGYAN_SIMULATOR_PROFILE may change between starts). */
      idConvention?: IdConvention;
    }) {
      await db
        .updateTable('channels')
        .set({
          ...(host === undefined ? {} : { host }),
          ...(port === undefined ? {} : { port }),
          ...(idConvention === undefined ? {} : { id_convention: idConvention }),
          enabled,
          updated_at: new Date(),
        })
        .where('name', '=', name)
        .where((eb) =>
          eb.or([
            eb('enabled', '<>', enabled),
            ...(host === undefined ? [] : [eb('host', '<>', host)]),
            ...(port === undefined ? [] : [eb('port', '<>', port)]),
            ...(idConvention === undefined ? [] : [eb('id_convention', '<>', idConvention)]),
          ]),
        )
        .execute();
    },
    /**
     * Sets how the channel's carrier writes message ids, and forgets what `auto` learned (the
     * operator's word replaces it; `auto` set again learns afresh). The connector restarts.
     */
    async setIdConvention(nameOrId: string, idConvention: IdConvention): Promise<Channel> {
      if (!ID_CONVENTIONS.includes(idConvention))
        throw invalidChannel({ message: `id_convention: one of ${ID_CONVENTIONS.join(', ')}` });
      const key = channelKey(nameOrId);
      const row = await db
        .updateTable('channels')
        .set({
          id_convention: idConvention,
          id_convention_learned: null,
          id_convention_learned_at: null,
          updated_at: new Date(),
        })
        .where(key.column, '=', key.value)
        .returningAll()
        .executeTakeFirst();
      if (!row) throw channelNotFound();
      return row;
    },
    /**
     * Changes what the patch names. `updated_at` moves, so every worker rebinds the channel with
     * its new settings at its next channel sync (no restart), and routing sees them at once.
     */
    async updateChannel(nameOrId: string, patch: ChannelPatch): Promise<Channel> {
      const problems = validateChannelPatch(patch);
      if (problems.length > 0) throw invalidChannel({ message: problems.join('; '), details: problems });
      const key = channelKey(nameOrId);
      const row = await db
        .updateTable('channels')
        .set({
          ...(patch.host === undefined ? {} : { host: patch.host }),
          ...(patch.port === undefined ? {} : { port: patch.port }),
          ...(patch.systemId === undefined ? {} : { system_id: patch.systemId }),
          ...(patch.password === undefined
            ? {}
            : { password: patch.password ? seal(ring(), patch.password) : '' }),
          ...(patch.systemType === undefined ? {} : { system_type: patch.systemType }),
          ...(patch.bindMode === undefined ? {} : { bind_mode: patch.bindMode }),
          ...(patch.windowSize === undefined ? {} : { window_size: patch.windowSize }),
          ...(patch.maxTps === undefined ? {} : { max_tps: patch.maxTps }),
          ...(patch.sourceAddr === undefined ? {} : { source_addr: patch.sourceAddr }),
          ...(patch.idConvention === undefined
            ? {}
            : {
                id_convention: patch.idConvention,
                id_convention_learned: null,
                id_convention_learned_at: null,
              }),
          ...(patch.enabled === undefined ? {} : { enabled: patch.enabled }),
          ...routingColumns(patch),
          updated_at: new Date(),
        })
        .where(key.column, '=', key.value)
        .returningAll()
        .executeTakeFirst();
      if (!row) throw channelNotFound();
      return opened(row);
    },
    async getChannel(nameOrId: string): Promise<Channel> {
      const key = channelKey(nameOrId);
      const row = await db
        .selectFrom('channels')
        .selectAll()
        .where(key.column, '=', key.value)
        .executeTakeFirst();
      if (!row) throw channelNotFound();
      return opened(row);
    },
    async listChannels(): Promise<Channel[]> {
      return (await db.selectFrom('channels').selectAll().orderBy('id').execute()).map(opened);
    },
    async listEnabledChannels(): Promise<Channel[]> {
      const rows = await db
        .selectFrom('channels')
        .selectAll()
        .where('enabled', '=', true)
        .orderBy('id')
        .execute();
      return rows.map(opened);
    },
    /**
     * Seals every password still stored as plain text (those from before 0006, or written by
     * hand), and with `reseal` re-seals the others under the current key (`hongyan secrets
     * rotate`). Idempotent; returns how many rows it changed. Every start runs it: a migration
     * cannot, since the key is not in the database.
     */
    async sealPasswords({ reseal = false }: { reseal?: boolean } = {}): Promise<number> {
      const current = ring();
      const rows = await db.selectFrom('channels').select(['id', 'password']).execute();
      let changed = 0;
      for (const row of rows) {
        if (row.password === '') continue;
        const sealed = isSealed(row.password);
        if (sealed && (!reseal || row.password.startsWith(`v1:${current.current}:`))) continue;
        const plain = sealed ? openSealed(source, row.password) : row.password;
        // Only the value read is replaced: a password changed meanwhile is left to the next run.
        const result = await db
          .updateTable('channels')
          .set({ password: seal(current, plain) })
          .where('id', '=', row.id)
          .where('password', '=', row.password)
          .executeTakeFirst();
        changed += Number(result.numUpdatedRows);
      }
      return changed;
    },
    async removeChannel(nameOrId: string): Promise<Channel> {
      const key = channelKey(nameOrId);
      const row = await db
        .deleteFrom('channels')
        .where(key.column, '=', key.value)
        .returningAll()
        .executeTakeFirst();
      if (!row) throw channelNotFound();
      return row;
    },
  };
}

export type ChannelsRepository = ReturnType<typeof createChannelsRepository>;

function routingColumns(input: ChannelPatch) {
  return {
    ...(input.carriers === undefined ? {} : { carriers: [...new Set(input.carriers)] }),
    ...(input.messageTypes === undefined ? {} : { message_types: [...new Set(input.messageTypes)] }),
    ...(input.costPerPart === undefined ? {} : { cost_per_part: input.costPerPart }),
    ...(input.costCurrency === undefined ? {} : { cost_currency: input.costCurrency }),
    ...(input.weight === undefined ? {} : { weight: input.weight }),
    ...(input.binds === undefined ? {} : { binds: input.binds }),
    ...(input.acceptsExtension === undefined ? {} : { accepts_extension: input.acceptsExtension }),
  };
}

/** Public view of a channel: the password never leaves the database. */
export function toChannelView(c: Channel) {
  return {
    id: c.id,
    name: c.name,
    host: c.host,
    port: c.port,
    system_id: c.system_id,
    system_type: c.system_type,
    bind_mode: c.bind_mode,
    window: c.window_size,
    max_tps: c.max_tps,
    source_addr: c.source_addr,
    is_default: c.is_default,
    enabled: c.enabled,
    id_convention: c.id_convention,
    /** What `auto` learned, once it has; null otherwise. */
    id_convention_learned: c.id_convention_learned,
    carriers: c.carriers,
    message_types: c.message_types,
    /** Decimal string, exact (numeric(12,5)). */
    cost_per_part: c.cost_per_part,
    cost_currency: c.cost_currency,
    weight: c.weight,
    binds: c.binds,
    accepts_extension: c.accepts_extension,
    created_at: c.created_at.toISOString(),
    updated_at: c.updated_at.toISOString(),
  };
}
