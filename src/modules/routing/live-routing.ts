// The routing snapshot a worker dispatches with: the route table, every channel (enabled or not,
// so that a rule naming a disabled channel says so) and the ported numbers, refreshed at each
// channel sync; and one spreading state for the worker's life, so that weights hold across claims.
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { Channel } from '../channels/channels.repository.ts';
import type { ClaimedMessage } from '../dispatch/dispatch.sql.ts';
import type { DomesticCarrier } from './cn-segments.ts';
import {
  type ChannelHealth,
  chooseChannel,
  newSpreadState,
  type RoutedMessageType,
  type RouteDecision,
  type RoutingChannel,
  type RoutingTable,
} from './routing.models.ts';
import { createRoutingRepository, routingChannelOf } from './routing.repository.ts';

/** A claimed message's type from its priority (messages.models priorityOf: 0, 1, 2). */
export function typeOfPriority(priority: number): RoutedMessageType {
  return priority <= 0 ? 'verification' : priority === 1 ? 'notification' : 'marketing';
}

export function createLiveRouting({ db }: { db: Kysely<Database> }) {
  const repository = createRoutingRepository(db);
  const spread = newSpreadState();
  let table: RoutingTable = { rules: [] };
  let channels = new Map<number, RoutingChannel>();
  let overrides = new Map<string, DomesticCarrier>();
  let overridesVersion = '';

  return {
    /** Re-reads the rules (small) and, when they changed, the ported numbers. */
    async refresh(everyChannel: Channel[]): Promise<void> {
      const [rules, version] = await Promise.all([repository.loadRules(), repository.overridesVersion()]);
      if (version !== overridesVersion) {
        overrides = await repository.loadOverrides();
        overridesVersion = version;
      }
      channels = new Map(everyChannel.map((c) => [c.id, routingChannelOf(c)]));
      table = { rules, overrides };
    },
    route: (m: ClaimedMessage, health: ReadonlyMap<number, ChannelHealth>): RouteDecision =>
      chooseChannel(
        {
          tenantId: m.tenantId,
          type: typeOfPriority(m.priority),
          recipient: m.recipient,
          content: m.content,
        },
        table,
        channels,
        health,
        spread,
      ),
  };
}
