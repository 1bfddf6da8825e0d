// Routes, their channel groups and the ported-number overrides, in PostgreSQL; and the snapshot
// the dispatcher routes with (loadRouting), re-read at every channel sync.
import type { Kysely } from 'kysely';
import { inTransaction } from '../../db/queryable.ts';
import type { Database } from '../../db/schema.ts';
import type { Channel } from '../channels/channels.repository.ts';
import { channelNotFound } from '../channels/channels.errors.ts';
import { channelKey } from '../channels/channels.models.ts';
import type { DomesticCarrier } from './cn-segments.ts';
import { invalidOverride, invalidRoute, overrideNotFound, routeNotFound } from './routing.errors.ts';
import type {
  RecipientCarrier,
  RoutedMessageType,
  RouteRule,
  RoutingChannel,
  RoutingTable,
} from './routing.models.ts';
import { type RouteInput, validateOverride, validateRoute } from './route-input.models.ts';

/** The routing view of a channel row. */
export function routingChannelOf(c: Channel): RoutingChannel {
  return {
    id: c.id,
    name: c.name,
    enabled: c.enabled,
    carriers: c.carriers,
    messageTypes: c.message_types,
    weight: c.weight,
  };
}

export interface RouteView {
  id: number;
  position: number;
  tenant_id: number | null;
  message_type: string | null;
  carrier: string | null;
  country_prefix: string | null;
  signature: string | null;
  description: string;
  channels: { channel_id: number; channel: string; tier: number; weight: number }[];
  created_at: string;
}

function checkRoute(input: RouteInput): void {
  const problems = validateRoute(input);
  if (problems.length > 0) throw invalidRoute({ message: problems.join('; '), details: problems });
}

/** A route's filters and description as columns: what is left out matches anything. */
function routeColumns(input: RouteInput) {
  return {
    tenant_id: input.tenantId ?? null,
    message_type: input.messageType ?? null,
    carrier: input.carrier ?? null,
    country_prefix: input.countryPrefix ?? null,
    signature: input.signature ?? null,
    description: input.description ?? '',
  };
}

/** The channel group's members by channel id; a channel named that does not exist is refused. */
async function resolveMembers(trx: Kysely<Database>, input: RouteInput) {
  const members = [];
  for (const m of input.channels) {
    const key = channelKey(m.channel);
    const channel = await trx
      .selectFrom('channels')
      .select('id')
      .where(key.column, '=', key.value)
      .executeTakeFirst();
    if (!channel) throw channelNotFound({ message: `No such channel: ${m.channel}.` });
    members.push({ channel_id: channel.id, tier: m.tier ?? 1, weight: m.weight ?? 1 });
  }
  if (new Set(members.map((m) => m.channel_id)).size !== members.length)
    throw invalidRoute({ message: 'channels: a channel named twice' });
  return members;
}

/** Runs a write that names a tenant: a tenant that does not exist is refused as invalid. */
async function tenantMustExist<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if ((error as { code?: string }).code === '23503')
      throw invalidRoute({ message: 'tenant: no such tenant', cause: error });
    throw error;
  }
}

export function createRoutingRepository(db: Kysely<Database>) {
  async function listRoutes(): Promise<RouteView[]> {
    const routes = await db.selectFrom('routes').selectAll().orderBy('position').orderBy('id').execute();
    const members = await db
      .selectFrom('route_channels as rc')
      .innerJoin('channels as c', 'c.id', 'rc.channel_id')
      .select(['rc.route_id', 'rc.channel_id', 'c.name', 'rc.tier', 'rc.weight'])
      .orderBy('rc.route_id')
      .orderBy('rc.tier')
      .orderBy('rc.channel_id')
      .execute();
    return routes.map((r) => ({
      id: r.id,
      position: r.position,
      tenant_id: r.tenant_id,
      message_type: r.message_type,
      carrier: r.carrier,
      country_prefix: r.country_prefix,
      signature: r.signature,
      description: r.description,
      channels: members
        .filter((m) => m.route_id === r.id)
        .map((m) => ({ channel_id: m.channel_id, channel: m.name, tier: m.tier, weight: m.weight })),
      created_at: r.created_at.toISOString(),
    }));
  }

  return {
    listRoutes,

    async getRoute(id: number): Promise<RouteView> {
      const route = (await listRoutes()).find((r) => r.id === id);
      if (!route) throw routeNotFound();
      return route;
    },

    /** Adds a route; without a position it goes last (10 after the last one). */
    async addRoute(input: RouteInput): Promise<RouteView> {
      checkRoute(input);
      const id = await inTransaction(db, async (trx) => {
        const members = await resolveMembers(trx, input);
        let position = input.position;
        if (position === undefined) {
          const last = await trx
            .selectFrom('routes')
            .select((eb) => eb.fn.max<number | null>('position').as('p'))
            .executeTakeFirstOrThrow();
          position = (last.p ?? 0) + 10;
        }
        return tenantMustExist(async () => {
          const row = await trx
            .insertInto('routes')
            .values({ position, ...routeColumns(input) })
            .returning('id')
            .executeTakeFirstOrThrow();
          await trx
            .insertInto('route_channels')
            .values(members.map((m) => ({ ...m, route_id: row.id })))
            .execute();
          return row.id;
        });
      });
      const route = (await listRoutes()).find((r) => r.id === id);
      return route!;
    },

    /**
     * Replaces a route's filters, description and channel group with `input` (what is left out
     * matches anything, as when adding); without a position it keeps its own. Answers the route
     * before and after.
     */
    async replaceRoute(id: number, input: RouteInput): Promise<{ before: RouteView; after: RouteView }> {
      checkRoute(input);
      const before = (await listRoutes()).find((r) => r.id === id);
      if (!before) throw routeNotFound();
      await inTransaction(db, async (trx) => {
        const members = await resolveMembers(trx, input);
        await tenantMustExist(async () => {
          const row = await trx
            .updateTable('routes')
            .set({ position: input.position ?? before.position, ...routeColumns(input) })
            .where('id', '=', id)
            .returning('id')
            .executeTakeFirst();
          if (!row) throw routeNotFound();
          await trx.deleteFrom('route_channels').where('route_id', '=', id).execute();
          await trx
            .insertInto('route_channels')
            .values(members.map((m) => ({ ...m, route_id: id })))
            .execute();
        });
      });
      const after = (await listRoutes()).find((r) => r.id === id);
      if (!after) throw routeNotFound();
      return { before, after };
    },

    async removeRoute(id: number): Promise<RouteView> {
      const route = (await listRoutes()).find((r) => r.id === id);
      if (!route) throw routeNotFound();
      await db.deleteFrom('routes').where('id', '=', id).execute();
      return route;
    },

    async setOverride({ number, carrier, note = '' }: { number: string; carrier: string; note?: string }) {
      const e164 = number.replace(/\s/g, '');
      const problems = validateOverride({ number: e164, carrier });
      if (problems.length > 0) throw invalidOverride({ message: problems.join('; '), details: problems });
      return db
        .insertInto('number_carriers')
        .values({ number: e164, carrier, note, updated_at: new Date() })
        .onConflict((oc) => oc.column('number').doUpdateSet({ carrier, note, updated_at: new Date() }))
        .returningAll()
        .executeTakeFirstOrThrow();
    },

    async removeOverride(number: string) {
      const row = await db
        .deleteFrom('number_carriers')
        .where('number', '=', number.replace(/\s/g, ''))
        .returningAll()
        .executeTakeFirst();
      if (!row) throw overrideNotFound();
      return row;
    },

    async listOverrides({ limit = 1000 }: { limit?: number } = {}) {
      return db.selectFrom('number_carriers').selectAll().orderBy('number').limit(limit).execute();
    },

    /** A fingerprint of the override table: the dispatcher re-reads it only when this changes. */
    async overridesVersion(): Promise<string> {
      const row = await db
        .selectFrom('number_carriers')
        .select((eb) => [eb.fn.countAll<string>().as('n'), eb.fn.max('updated_at').as('at')])
        .executeTakeFirstOrThrow();
      return `${row.n}:${row.at === null ? '' : new Date(row.at as Date).getTime()}`;
    },

    /** The route table as the pure rules take it (overrides loaded apart, see loadOverrides). */
    async loadRules(): Promise<RouteRule[]> {
      return (await listRoutes()).map((r) => ({
        id: r.id,
        position: r.position,
        tenantId: r.tenant_id,
        messageType: r.message_type as RoutedMessageType | null,
        carrier: r.carrier as RecipientCarrier | null,
        countryPrefix: r.country_prefix,
        signature: r.signature,
        channels: r.channels.map((m) => ({ channelId: m.channel_id, tier: m.tier, weight: m.weight })),
      }));
    },

    async loadOverrides(): Promise<Map<string, DomesticCarrier>> {
      const rows = await db.selectFrom('number_carriers').select(['number', 'carrier']).execute();
      return new Map(rows.map((r) => [r.number, r.carrier as DomesticCarrier]));
    },

    async loadTable(): Promise<RoutingTable> {
      const [rules, overrides] = await Promise.all([this.loadRules(), this.loadOverrides()]);
      return { rules, overrides };
    },
  };
}

export type RoutingRepository = ReturnType<typeof createRoutingRepository>;
