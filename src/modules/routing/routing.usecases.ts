// Route table and ported-number changes as an operator makes them, from the API or the CLI: the
// change and its audit row (who, from where, before and after) in one transaction.
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { inTransaction, queryableOf } from '../../db/queryable.ts';
import { audit } from '../accounts/audit.ts';
import type { ChangedBy } from '../channels/channels.usecases.ts';
import type { RouteInput } from './route-input.models.ts';
import { createRoutingRepository, type RouteView } from './routing.repository.ts';

const routeAudited = ({ created_at: _c, ...route }: RouteView) => route;

export async function addRoute({
  db,
  input,
  by,
}: {
  db: Kysely<Database>;
  input: RouteInput;
  by: ChangedBy;
}): Promise<RouteView> {
  return inTransaction(db, async (trx) => {
    const route = await createRoutingRepository(trx).addRoute(input);
    await audit(queryableOf(trx), {
      actor: by.actor,
      action: 'route.created',
      target: `route:${route.id}`,
      after: routeAudited(route),
      ip: by.ip ?? null,
    });
    return route;
  });
}

/** Replaces a route's filters, description and channel group (its position kept if not given). */
export async function changeRoute({
  db,
  id,
  input,
  by,
}: {
  db: Kysely<Database>;
  id: number;
  input: RouteInput;
  by: ChangedBy;
}): Promise<RouteView> {
  return inTransaction(db, async (trx) => {
    const { before, after } = await createRoutingRepository(trx).replaceRoute(id, input);
    await audit(queryableOf(trx), {
      actor: by.actor,
      action: 'route.changed',
      target: `route:${id}`,
      before: routeAudited(before),
      after: routeAudited(after),
      ip: by.ip ?? null,
    });
    return after;
  });
}

export async function removeRoute({
  db,
  id,
  by,
}: {
  db: Kysely<Database>;
  id: number;
  by: ChangedBy;
}): Promise<RouteView> {
  return inTransaction(db, async (trx) => {
    const route = await createRoutingRepository(trx).removeRoute(id);
    await audit(queryableOf(trx), {
      actor: by.actor,
      action: 'route.removed',
      target: `route:${route.id}`,
      before: routeAudited(route),
      ip: by.ip ?? null,
    });
    return route;
  });
}

/** A ported number's carrier (携号转网): set or changed. */
export async function setNumberCarrier({
  db,
  override,
  by,
}: {
  db: Kysely<Database>;
  override: { number: string; carrier: string; note?: string };
  by: ChangedBy;
}) {
  return inTransaction(db, async (trx) => {
    const number = override.number.replace(/\s/g, '');
    const before = await trx
      .selectFrom('number_carriers')
      .select(['carrier', 'note'])
      .where('number', '=', number)
      .forUpdate()
      .executeTakeFirst();
    const row = await createRoutingRepository(trx).setOverride(override);
    await audit(queryableOf(trx), {
      actor: by.actor,
      action: 'route.number_ported',
      target: `number:${row.number}`,
      before: before ?? undefined,
      after: { carrier: row.carrier, note: row.note },
      ip: by.ip ?? null,
    });
    return row;
  });
}

export async function removeNumberCarrier({
  db,
  number,
  by,
}: {
  db: Kysely<Database>;
  number: string;
  by: ChangedBy;
}) {
  return inTransaction(db, async (trx) => {
    const row = await createRoutingRepository(trx).removeOverride(number);
    await audit(queryableOf(trx), {
      actor: by.actor,
      action: 'route.number_unported',
      target: `number:${row.number}`,
      before: { carrier: row.carrier, note: row.note },
      ip: by.ip ?? null,
    });
    return row;
  });
}
