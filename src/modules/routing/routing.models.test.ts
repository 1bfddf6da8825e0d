// The routing rules without a database: segments, overrides, each filter kind, the default
// group, tiers, weights, health (unbound, degraded) and the no-route outcomes.
import { describe, expect, it } from 'vitest';
import {
  type ChannelHealth,
  chooseChannel,
  describeDecision,
  lookupRecipient,
  newSpreadState,
  type RoutableMessage,
  type RouteRule,
  type RoutingChannel,
  signatureOf,
} from './routing.models.ts';

const channel = (id: number, name: string, fields: Partial<RoutingChannel> = {}): RoutingChannel => ({
  id,
  name,
  enabled: true,
  carriers: ['cmcc', 'cucc', 'ctcc', 'cbn', 'intl'],
  messageTypes: ['verification', 'notification', 'marketing'],
  weight: 1,
  ...fields,
});
const byId = (...cs: RoutingChannel[]) => new Map(cs.map((c) => [c.id, c]));
const allBound = (...ids: number[]) => new Map<number, ChannelHealth>(ids.map((id) => [id, { bound: true }]));

const msg = (fields: Partial<RoutableMessage> = {}): RoutableMessage => ({
  tenantId: 1,
  type: 'notification',
  recipient: '+8613800138000',
  content: '【鸿雁】您的订单已发货',
  ...fields,
});

let nextId = 1;
const rule = (fields: Partial<RouteRule> & { channels: RouteRule['channels'] }): RouteRule => ({
  id: nextId,
  position: nextId++,
  tenantId: null,
  messageType: null,
  carrier: null,
  countryPrefix: null,
  signature: null,
  ...fields,
});
const only = (channelId: number) => [{ channelId, tier: 1, weight: 1 }];

describe('carrier lookup from the number segment', () => {
  it.each([
    ['+8613912345678', 'cmcc', false],
    ['+8613412345678', 'cmcc', false],
    ['+8614712345678', 'cmcc', false],
    ['+8615012345678', 'cmcc', false],
    ['+8615712345678', 'cmcc', false],
    ['+8617212345678', 'cmcc', false],
    ['+8617812345678', 'cmcc', false],
    ['+8618412345678', 'cmcc', false],
    ['+8618712345678', 'cmcc', false],
    ['+8619512345678', 'cmcc', false],
    ['+8619712345678', 'cmcc', false],
    ['+8619812345678', 'cmcc', false],
    ['+8613012345678', 'cucc', false],
    ['+8615512345678', 'cucc', false],
    ['+8616612345678', 'cucc', false],
    ['+8618612345678', 'cucc', false],
    ['+8613312345678', 'ctcc', false],
    ['+8615312345678', 'ctcc', false],
    ['+8618912345678', 'ctcc', false],
    ['+8619912345678', 'ctcc', false],
    ['+8619212345678', 'cbn', false],
    // Virtual operators and their host networks.
    ['+8617001234567', 'ctcc', true],
    ['+8617031234567', 'cmcc', true],
    ['+8617041234567', 'cucc', true],
    ['+8617112345678', 'cucc', true],
    ['+8616212345678', 'ctcc', true],
    ['+8616512345678', 'cmcc', true],
    ['+8616712345678', 'cucc', true],
    // The 4- and 5-digit exceptions inside 3-digit segments.
    ['+8613491234567', 'satellite', false],
    ['+8617400123456', 'satellite', false],
    ['+8617406123456', 'satellite', false],
    ['+8610012345678', 'unknown', false],
  ] as const)('%s is %s (virtual: %s)', (number, carrier, mvno) => {
    expect(lookupRecipient(number)).toEqual({ countryCode: '86', carrier, mvno, ported: false });
  });

  it('a ported number takes the carrier of the override table', () => {
    const overrides = new Map([['+8613912345678', 'ctcc' as const]]);
    expect(lookupRecipient('+8613912345678', overrides)).toMatchObject({ carrier: 'ctcc', ported: true });
    expect(lookupRecipient('+8613912345679', overrides)).toMatchObject({ carrier: 'cmcc', ported: false });
  });

  it('an international number has its country calling code', () => {
    expect(lookupRecipient('+447700900123')).toEqual({
      countryCode: '44',
      carrier: 'intl',
      mvno: false,
      ported: false,
    });
    expect(lookupRecipient('+85291234567')).toMatchObject({ countryCode: '852', carrier: 'intl' });
  });

  it('reads the signature at the start or at the end of the content', () => {
    expect(signatureOf('【鸿雁】您好')).toBe('鸿雁');
    expect(signatureOf('您好【鸿雁】')).toBe('鸿雁');
    expect(signatureOf('您好')).toBeNull();
  });
});

describe('route rules, one kind of filter at a time', () => {
  const a = channel(1, 'a');
  const b = channel(2, 'b');
  const channels = byId(a, b);
  const health = allBound(1, 2);
  // Each case: a rule sending to b with one filter, a catch-all to a after it, the message, and
  // whether the filter matches (b) or not (a).
  it.each([
    ['tenant', { tenantId: 7 }, msg({ tenantId: 7 }), 'b'],
    ['tenant (other)', { tenantId: 7 }, msg({ tenantId: 8 }), 'a'],
    ['message type', { messageType: 'marketing' as const }, msg({ type: 'marketing' }), 'b'],
    ['message type (other)', { messageType: 'marketing' as const }, msg({ type: 'verification' }), 'a'],
    ['carrier', { carrier: 'ctcc' as const }, msg({ recipient: '+8618912345678' }), 'b'],
    ['carrier (other)', { carrier: 'ctcc' as const }, msg({ recipient: '+8613912345678' }), 'a'],
    ['carrier intl', { carrier: 'intl' as const }, msg({ recipient: '+447700900123' }), 'b'],
    ['country prefix', { countryPrefix: '852' }, msg({ recipient: '+85291234567' }), 'b'],
    ['country prefix (other)', { countryPrefix: '852' }, msg({ recipient: '+8613912345678' }), 'a'],
    ['signature', { signature: '顺丰' }, msg({ content: '【顺丰】快件已签收' }), 'b'],
    ['signature at the end', { signature: '顺丰' }, msg({ content: '快件已签收【顺丰】' }), 'b'],
    ['signature (other)', { signature: '顺丰' }, msg({ content: '【鸿雁】快件已签收' }), 'a'],
    [
      'every filter',
      {
        tenantId: 1,
        messageType: 'notification' as const,
        carrier: 'cmcc' as const,
        countryPrefix: '86',
        signature: '鸿雁',
      },
      msg(),
      'b',
    ],
  ])('%s', (_kind, filters, message, expected) => {
    const table = { rules: [rule({ ...filters, channels: only(2) }), rule({ channels: only(1) })] };
    const d = chooseChannel(message, table, channels, health);
    expect(d.kind === 'channel' && d.channel.name).toBe(expected);
    expect(d.kind === 'channel' && d.rule?.id).toBe(table.rules[expected === 'b' ? 0 : 1]!.id);
  });

  it('no matching rule: no_route, whatever channels are bound', () => {
    const table = { rules: [rule({ tenantId: 7, channels: only(1) })] };
    const d = chooseChannel(msg({ tenantId: 8 }), table, channels, health);
    expect(d).toMatchObject({ kind: 'no_route', why: 'no route matches' });
  });

  it('a matching rule whose channels cannot carry the message falls through to the next', () => {
    const noMarketing = channel(3, 'c', { messageTypes: ['verification', 'notification'] });
    const table = { rules: [rule({ channels: only(3) }), rule({ channels: only(1) })] };
    const d = chooseChannel(msg({ type: 'marketing' }), table, byId(a, noMarketing), allBound(1, 3));
    expect(d.kind === 'channel' && d.channel.name).toBe('a');
    expect(d.skipped).toEqual([
      { channelId: 3, ruleId: table.rules[0]!.id, reason: 'type', why: 'does not carry marketing messages' },
    ]);
  });
});

describe('channel eligibility', () => {
  it.each([
    ['disabled', channel(1, 'x', { enabled: false }), msg(), 'disabled'],
    ['carrier not covered', channel(1, 'x', { carriers: ['cucc'] }), msg(), 'carrier'],
    [
      'country not covered',
      channel(1, 'x', { carriers: ['cmcc', 'intl:852'] }),
      msg({ recipient: '+447700900123' }),
      'carrier',
    ],
    [
      'type not carried',
      channel(1, 'x', { messageTypes: ['verification'] }),
      msg({ type: 'marketing' }),
      'type',
    ],
    [
      'unknown segment needs a channel of all three networks',
      channel(1, 'x', { carriers: ['cmcc', 'cucc'] }),
      msg({ recipient: '+8610012345678' }),
      'carrier',
    ],
  ])('%s: no_route, the channel skipped for that reason', (_what, x, message, reason) => {
    const d = chooseChannel(message, { rules: [rule({ channels: only(1) })] }, byId(x), allBound(1));
    expect(d.kind).toBe('no_route');
    expect(d.skipped.map((s) => s.reason)).toEqual([reason]);
  });

  it('a channel covering one country carries that country', () => {
    const x = channel(1, 'x', { carriers: ['intl:852'] });
    const d = chooseChannel(msg({ recipient: '+85291234567' }), { rules: [] }, byId(x), allBound(1));
    expect(d.kind === 'channel' && d.channel.name).toBe('x');
  });

  it('a satellite number needs a channel that covers satellite', () => {
    const d = chooseChannel(
      msg({ recipient: '+8613491234567' }),
      { rules: [] },
      byId(channel(1, 'x')),
      allBound(1),
    );
    expect(d).toMatchObject({ kind: 'no_route' });
  });
});

describe('the default group (no route table)', () => {
  it('spreads over every enabled channel with equal weights, none for a disabled one', () => {
    const channels = byId(channel(1, 'a'), channel(2, 'b'), channel(3, 'off', { enabled: false }));
    const spread = newSpreadState();
    const names = Array.from({ length: 6 }, () => {
      const d = chooseChannel(msg(), { rules: [] }, channels, allBound(1, 2, 3), spread);
      return d.kind === 'channel' ? d.channel.name : d.kind;
    });
    expect(names).toEqual(['a', 'b', 'a', 'b', 'a', 'b']);
  });

  it('fails over to the other channel when one is unbound, saying why', () => {
    const channels = byId(channel(1, 'a'), channel(2, 'b'));
    const d = chooseChannel(
      msg(),
      { rules: [] },
      channels,
      new Map([
        [1, { bound: false }],
        [2, { bound: true }],
      ]),
    );
    expect(d).toMatchObject({ kind: 'channel', rule: null, channel: { name: 'b' } });
    expect(d.skipped).toEqual([{ channelId: 1, ruleId: null, reason: 'unbound', why: 'not bound' }]);
  });

  it('waits (no rejection) when every able channel is unbound', () => {
    const d = chooseChannel(msg(), { rules: [] }, byId(channel(1, 'a')), new Map());
    expect(d).toMatchObject({ kind: 'wait', rule: null });
  });

  it('no enabled channel at all: no_route', () => {
    const d = chooseChannel(msg(), { rules: [] }, byId(channel(1, 'a', { enabled: false })), allBound(1));
    expect(d).toMatchObject({ kind: 'no_route', why: 'no channel is enabled' });
  });
});

describe('a group: weights, tiers and health', () => {
  const channels = byId(channel(1, 'a'), channel(2, 'b'), channel(3, 'backup'));
  const group = rule({
    channels: [
      { channelId: 1, tier: 1, weight: 3 },
      { channelId: 2, tier: 1, weight: 1 },
      { channelId: 3, tier: 2, weight: 1 },
    ],
  });
  const run = (health: Map<number, ChannelHealth>, n: number) => {
    const spread = newSpreadState();
    const counts: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const d = chooseChannel(msg(), { rules: [group] }, channels, health, spread);
      const key = d.kind === 'channel' ? d.channel.name : d.kind;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  };

  it('spreads by weight, exactly, over a whole cycle', () => {
    expect(run(allBound(1, 2, 3), 400)).toEqual({ a: 300, b: 100 });
  });

  it('smooth: the heavy channel never takes more than its share in a row', () => {
    const spread = newSpreadState();
    const seq = Array.from({ length: 4 }, () => {
      const d = chooseChannel(msg(), { rules: [group] }, channels, allBound(1, 2, 3), spread);
      return d.kind === 'channel' ? d.channel.name : '';
    });
    expect(seq).toEqual(['a', 'a', 'b', 'a']);
  });

  it('the next tier carries only when no channel of the first is bound', () => {
    expect(
      run(
        new Map([
          [1, { bound: false }],
          [2, { bound: true }],
          [3, { bound: true }],
        ]),
        10,
      ),
    ).toEqual({ b: 10 });
    expect(run(new Map([[3, { bound: true }]]), 10)).toEqual({ backup: 10 });
  });

  it('a degraded channel gets nothing while a healthy one of the group is bound, even a lower tier', () => {
    const health = new Map<number, ChannelHealth>([
      [1, { bound: true, degraded: true }],
      [2, { bound: true, degraded: true }],
      [3, { bound: true }],
    ]);
    expect(run(health, 10)).toEqual({ backup: 10 });
    const d = chooseChannel(msg(), { rules: [group] }, channels, health);
    expect(d.skipped.map((s) => [s.channelId, s.reason])).toEqual([
      [1, 'degraded'],
      [2, 'degraded'],
    ]);
  });

  it('every channel degraded: the best of them (highest score) still gets the traffic', () => {
    const health = new Map<number, ChannelHealth>([
      [1, { bound: true, degraded: true, score: 0.7 }],
      [2, { bound: true, degraded: true, score: 0.85 }],
      [3, { bound: true, degraded: true, score: 0.5 }],
    ]);
    expect(run(health, 10)).toEqual({ b: 10 });
  });

  it('describes the decision and the skipped channels for a person', () => {
    const d = chooseChannel(
      msg(),
      { rules: [group] },
      channels,
      new Map([
        [1, { bound: false }],
        [2, { bound: true }],
      ]),
    );
    const text = describeDecision(d, channels);
    expect(text).toContain('carrier cmcc');
    expect(text).toContain('decision: channel b');
    expect(text).toContain(`rule: route ${group.id}`);
    expect(text).toContain(`skipped: a in route ${group.id}: not bound`);
    expect(text).toContain(`skipped: backup in route ${group.id}: not bound`);
  });
});
