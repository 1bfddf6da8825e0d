// `hongyan route add|list|remove|test|port|unport|ports`: the route table, the decision for one
// number, and the carrier overrides of ported numbers (携号转网).
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { createChannelsRepository } from '../channels/channels.repository.ts';
import type { KeyRingSource } from '../../shared/secrets.ts';
import { normalizePhone } from '../messages/phone.models.ts';
import { HEALTH_HELP, HealthUsageError, runHealthCommand } from './health/health.cli.ts';
import { parseChannelGroup } from './route-input.models.ts';
import {
  type ChannelHealth,
  chooseChannel,
  describeDecision,
  MESSAGE_TYPES,
  type RoutedMessageType,
} from './routing.models.ts';
import { createRoutingRepository, type RouteView, routingChannelOf } from './routing.repository.ts';
import { addRoute, removeNumberCarrier, removeRoute, setNumberCarrier } from './routing.usecases.ts';

type Values = Record<string, string | boolean | undefined>;

/** Who the audit log names for a change made with the CLI. */
const CLI_ACTOR = { actor: 'operator-cli' };

export class RouteUsageError extends Error {}

export const ROUTE_HELP = `hongyan route — the route table (tried in order; the first matching rule decides)

  hongyan route list
  hongyan route add --channels GROUP [--tenant ID] [--type T] [--network N] [--country DIGITS]
        [--signature TEXT] [--position N] [--description TEXT]
      GROUP: tiers in order of preference separated by ">", channels of a tier by ",", each
      NAME[:WEIGHT]. "a:3,b:1>backup": a and b share the traffic 3:1; backup carries only when
      neither is bound. Filters left out match anything. --network: cmcc, cucc, ctcc, cbn,
      satellite, unknown or intl. --country: digits after the "+" (86, 852, 44).
      --signature: the text between 【 and 】. Without --position the rule goes last.
  hongyan route remove ID
  hongyan route test --to NUMBER [--type T] [--tenant ID] [--content TEXT] [--json]
      the decision for one message and why: the rule that matched, the channels skipped
  hongyan route port --number +86… --network N [--note TEXT]   a ported number's carrier now
  hongyan route unport --number +86…
  hongyan route ports [--limit N]
${HEALTH_HELP}

With no route at all, every enabled channel carries every message it covers, spread by the
channels' weights (hongyan channel set NAME --weight N).`;

const str = (values: Values, name: string) =>
  typeof values[name] === 'string' ? (values[name] as string) : undefined;

function int(values: Values, name: string): number | undefined {
  const v = str(values, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new RouteUsageError(`--${name} must be a whole number`);
  return Number(v);
}

export function routeLine(r: RouteView): string {
  const filters = [
    r.tenant_id === null ? null : `tenant ${r.tenant_id}`,
    r.message_type,
    r.carrier,
    r.country_prefix === null ? null : `+${r.country_prefix}`,
    r.signature === null ? null : `【${r.signature}】`,
  ].filter((f) => f !== null);
  const tiers = new Map<number, string[]>();
  for (const c of r.channels) tiers.set(c.tier, [...(tiers.get(c.tier) ?? []), `${c.channel}:${c.weight}`]);
  const group = [...tiers.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([, names]) => names.join(','))
    .join(' > ');
  return `${r.id}\tposition ${r.position}\t${filters.length > 0 ? filters.join(' ') : 'any message'}\t→ ${group}${r.description ? `\t${r.description}` : ''}`;
}

/** Runs a route command; a usage mistake prints itself and exits 2, like the other commands. */
export async function runRouteCommand(args: Parameters<typeof routeCommand>[0]): Promise<number> {
  try {
    return await routeCommand(args);
  } catch (error) {
    if (!(error instanceof RouteUsageError)) throw error;
    console.error(error.message);
    return 2;
  }
}

async function routeCommand({
  sub,
  rest,
  values,
  kysely,
  keyRing,
  out,
}: {
  sub: string | undefined;
  rest: string[];
  values: Values;
  kysely: Kysely<Database>;
  keyRing: KeyRingSource;
  out: (value: unknown, human: string) => void;
}): Promise<number> {
  const routes = createRoutingRepository(kysely);
  switch (sub) {
    case 'list': {
      const list = await routes.listRoutes();
      out(
        list,
        list.map(routeLine).join('\n') || '(no routes: every enabled channel carries what it covers)',
      );
      return 0;
    }
    case 'add': {
      const group = str(values, 'channels');
      if (!group) throw new RouteUsageError('route add needs --channels; see hongyan route --help');
      const tenant = str(values, 'tenant');
      const input = {
        position: int(values, 'position'),
        tenantId: tenant === undefined ? null : Number(tenant),
        messageType: str(values, 'type') ?? null,
        carrier: str(values, 'network') ?? null,
        countryPrefix: str(values, 'country')?.replace(/^\+/, '') ?? null,
        signature: str(values, 'signature')?.replace(/^【|】$/g, '') ?? null,
        description: str(values, 'description'),
        channels: parseChannelGroup(group),
      };
      const route = await addRoute({ db: kysely, input, by: CLI_ACTOR });
      out(route, `route ${route.id} added\n${routeLine(route)}`);
      return 0;
    }
    case 'remove': {
      const id = rest[0];
      if (!id || !/^\d+$/.test(id)) throw new RouteUsageError('route remove needs a route id');
      const removed = await removeRoute({ db: kysely, id: Number(id), by: CLI_ACTOR });
      out(removed, `route ${removed.id} removed`);
      return 0;
    }
    case 'test': {
      const to = str(values, 'to');
      if (!to) throw new RouteUsageError('route test needs --to NUMBER');
      const phone = normalizePhone(to);
      if (!phone.ok) throw new RouteUsageError(`--to: not a number we can send to (${phone.reason})`);
      const type = str(values, 'type') ?? 'notification';
      if (!(MESSAGE_TYPES as readonly string[]).includes(type))
        throw new RouteUsageError(`--type must be one of ${MESSAGE_TYPES.join(', ')}`);
      const tenantId = int(values, 'tenant') ?? 0;
      const everyChannel = await createChannelsRepository(kysely, keyRing).listChannels();
      const channels = new Map(everyChannel.map((c) => [c.id, routingChannelOf(c)]));
      // The CLI cannot see the workers' binds: every enabled channel is taken as bound.
      const health = new Map<number, ChannelHealth>(everyChannel.map((c) => [c.id, { bound: c.enabled }]));
      const table = await routes.loadTable();
      const message = {
        tenantId,
        type: type as RoutedMessageType,
        recipient: phone.e164,
        content: str(values, 'content') ?? '',
      };
      const decision = chooseChannel(message, table, channels, health);
      const name = (id: number) => channels.get(id)?.name ?? null;
      const json = {
        to: phone.e164,
        type,
        tenant_id: tenantId,
        recipient: {
          country_code: decision.recipient.countryCode,
          carrier: decision.recipient.carrier,
          virtual_operator: decision.recipient.mvno,
          ported: decision.recipient.ported,
        },
        decision: decision.kind === 'channel' ? 'channel' : decision.kind === 'wait' ? 'wait' : 'rejected',
        ...(decision.kind === 'no_route' ? { error_code: 'routing.no_route' } : {}),
        channel:
          decision.kind === 'channel' ? { id: decision.channel.id, name: decision.channel.name } : null,
        tier: decision.kind === 'channel' ? decision.tier : null,
        rule: decision.kind === 'no_route' ? null : decision.rule === null ? 'default' : decision.rule.id,
        why: decision.kind === 'channel' ? null : decision.why,
        skipped: decision.skipped.map((s) => ({
          channel_id: s.channelId,
          channel: name(s.channelId),
          rule: s.ruleId,
          reason: s.reason,
          why: s.why,
        })),
        note: 'every enabled channel is taken as bound (the CLI does not see the workers’ binds)',
      };
      out(
        json,
        `${phone.e164} (${type}, tenant ${tenantId})\n${describeDecision(decision, channels)}\n(${json.note})`,
      );
      return 0;
    }
    case 'port': {
      const number = str(values, 'number');
      const carrier = str(values, 'network');
      if (!number || !carrier) throw new RouteUsageError('route port needs --number and --network');
      const row = await setNumberCarrier({
        db: kysely,
        override: { number, carrier, note: str(values, 'note') },
        by: CLI_ACTOR,
      });
      out(row, `${row.number} is served by ${row.carrier} (override)`);
      return 0;
    }
    case 'unport': {
      const number = str(values, 'number');
      if (!number) throw new RouteUsageError('route unport needs --number');
      const row = await removeNumberCarrier({ db: kysely, number, by: CLI_ACTOR });
      out(row, `${row.number}: override removed; its segment decides again`);
      return 0;
    }
    case 'ports': {
      const rows = await routes.listOverrides({ limit: int(values, 'limit') ?? 1000 });
      out(rows, rows.map((r) => `${r.number}\t${r.carrier}\t${r.note}`).join('\n') || '(no overrides)');
      return 0;
    }
    case 'health':
    case 'events':
    case 'breaker':
      try {
        return await runHealthCommand({ sub, rest, values, kysely, out, actor: CLI_ACTOR.actor });
      } catch (error) {
        if (error instanceof HealthUsageError) throw new RouteUsageError(error.message);
        throw error;
      }
    default:
      throw new RouteUsageError(`unknown command "route ${sub ?? ''}"; see hongyan route --help`);
  }
}
