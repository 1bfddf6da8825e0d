// CPU cost of routing one claimed message (chooseChannel), the only work routing adds to the hot
// path: the claim, submit and receipt statements are unchanged. Compare with the pipeline's CPU per
// message (docs/architecture.md: ~340 µs of Hongyan CPU per message end to end, 2 cores).
//
// Usage: node --import tsx bench/routing.ts   (prints µs per decision for a few table shapes)
import {
  type ChannelHealth,
  chooseChannel,
  newSpreadState,
  type RouteRule,
  type RoutingChannel,
} from '../src/modules/routing/routing.models.ts';

const channel = (id: number): RoutingChannel => ({
  id,
  name: `c${id}`,
  enabled: true,
  carriers: ['cmcc', 'cucc', 'ctcc', 'cbn', 'intl'],
  messageTypes: ['verification', 'notification', 'marketing'],
  weight: id,
});

function measure(label: string, rules: RouteRule[], channelCount: number, n = 1_000_000) {
  const channels = new Map(Array.from({ length: channelCount }, (_, i) => [i + 1, channel(i + 1)]));
  const health = new Map<number, ChannelHealth>([...channels.keys()].map((id) => [id, { bound: true }]));
  const spread = newSpreadState();
  const prefixes = ['139', '186', '189', '170', '192', '135'];
  const overrides = new Map([['+8613900000007', 'ctcc' as const]]);
  const messages = Array.from({ length: 1024 }, (_, i) => ({
    tenantId: (i % 20) + 1,
    type: (['verification', 'notification', 'marketing'] as const)[i % 3]!,
    recipient: `+86${prefixes[i % prefixes.length]}${String(i).padStart(8, '0')}`,
    content: '【鸿雁】您的验证码是123456，5分钟内有效',
  }));
  let sink = 0;
  for (let i = 0; i < 100_000; i++)
    sink += chooseChannel(messages[i & 1023]!, { rules, overrides }, channels, health, spread).kind.length;
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++)
    sink += chooseChannel(messages[i & 1023]!, { rules, overrides }, channels, health, spread).kind.length;
  const cpu = process.cpuUsage(t0);
  console.log(
    `${label}: ${(((cpu.user + cpu.system) / n) * 1).toFixed(2)} µs CPU per decision (${n} decisions, sink ${sink % 7})`,
  );
}

const rule = (id: number, fields: Partial<RouteRule>, members: number[]): RouteRule => ({
  id,
  position: id,
  tenantId: null,
  messageType: null,
  carrier: null,
  countryPrefix: null,
  signature: null,
  channels: members.map((m, i) => ({ channelId: m, tier: i < 2 ? 1 : 2, weight: m })),
  ...fields,
});

measure('no route table, 2 channels', [], 2);
measure('no route table, 8 channels', [], 8);
measure(
  '20 rules (tenant, type, carrier, signature), 4 channels',
  [
    ...Array.from({ length: 16 }, (_, i) => rule(i + 1, { tenantId: 100 + i }, [1, 2])),
    rule(17, { messageType: 'marketing', signature: '其他' }, [3]),
    rule(18, { carrier: 'ctcc' }, [3, 4, 1]),
    rule(19, { carrier: 'cucc' }, [2, 4]),
    rule(20, {}, [1, 2, 3]),
  ],
  4,
);
