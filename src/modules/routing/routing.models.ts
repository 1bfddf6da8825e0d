// Routing rules, pure: from a message, the ordered route table, the channels and their live
// health to the channel that carries the message, or why none does. No I/O, so every rule kind is
// tested without a database (routing.models.test.ts) and the CLI's `route test` runs the very
// function the dispatcher runs.
//
// Jasmin's routing is the model: an ordered table of rules, each a set of filters (tenant, message
// type, carrier, country prefix, signature; an absent filter matches anything) and a channel group.
// The first matching rule with a channel able to carry the message decides. Within its group the
// lowest tier with a bound channel takes the message, spread over that tier by weight (smooth
// weighted round robin, as nginx does: deterministic, and no channel gets two in a row more than
// its weight says). With no rules at all, every enabled channel forms one default group.
import { parsePhoneNumberFromString } from 'libphonenumber-js/min';
import { CN_SEGMENTS, type DomesticCarrier, LONGEST_SEGMENT } from './cn-segments.ts';

export const MESSAGE_TYPES = ['verification', 'notification', 'marketing'] as const;
export type RoutedMessageType = (typeof MESSAGE_TYPES)[number];

export const DOMESTIC_CARRIERS = ['cmcc', 'cucc', 'ctcc', 'cbn', 'satellite'] as const;
/** A recipient's carrier: a domestic one, `unknown` (a +86 number in no known segment), or `intl`. */
export type RecipientCarrier = DomesticCarrier | 'unknown' | 'intl';
export const ROUTE_CARRIERS = [...DOMESTIC_CARRIERS, 'unknown', 'intl'] as const;

/** What a channel may cover: a domestic carrier, `intl` (any country) or `intl:<calling code>`. */
export function isCoverage(value: string): boolean {
  return (DOMESTIC_CARRIERS as readonly string[]).includes(value) || /^intl(:[1-9][0-9]{0,3})?$/.test(value);
}

export interface Recipient {
  /** Calling code digits: '86', '852', '44'…; '' when the number is not a valid E.164 one. */
  countryCode: string;
  carrier: RecipientCarrier;
  /** A virtual operator's number (carried on `carrier`'s network). */
  mvno: boolean;
  /** The carrier comes from the operator's override table (a ported number), not the segment. */
  ported: boolean;
}

/** The carrier of a +86 number from its segment (longest prefix first), or null. */
export function carrierOfSegment(national: string): { carrier: DomesticCarrier; mvno: boolean } | null {
  for (let n = Math.min(LONGEST_SEGMENT, national.length); n >= 3; n--) {
    const entry = CN_SEGMENTS.get(national.slice(0, n));
    if (entry) return { carrier: entry.carrier, mvno: entry.mvno === true };
  }
  return null;
}

/** Where an E.164 number goes: its country and, in mainland China, its carrier. */
export function lookupRecipient(
  e164: string,
  overrides: ReadonlyMap<string, DomesticCarrier> = new Map(),
): Recipient {
  if (e164.startsWith('+86')) {
    const ported = overrides.get(e164);
    if (ported) return { countryCode: '86', carrier: ported, mvno: false, ported: true };
    const national = e164.slice(3);
    const found = national.length === 11 && national.startsWith('1') ? carrierOfSegment(national) : null;
    return found
      ? { countryCode: '86', carrier: found.carrier, mvno: found.mvno, ported: false }
      : { countryCode: '86', carrier: 'unknown', mvno: false, ported: false };
  }
  const parsed = parsePhoneNumberFromString(e164);
  return { countryCode: parsed?.countryCallingCode ?? '', carrier: 'intl', mvno: false, ported: false };
}

/** The signature 【…】 at the start (or, failing that, the end) of the content, without brackets. */
export function signatureOf(content: string): string | null {
  const head = /^\s*【([^】]{1,40})】/.exec(content);
  if (head) return head[1]!;
  const tail = /【([^】]{1,40})】\s*$/.exec(content);
  return tail ? tail[1]! : null;
}

export interface RoutableMessage {
  tenantId: number;
  type: RoutedMessageType;
  /** E.164. */
  recipient: string;
  content: string;
}

export interface RoutingChannel {
  id: number;
  name: string;
  enabled: boolean;
  /** What it covers, see isCoverage. */
  carriers: readonly string[];
  messageTypes: readonly string[];
  /** Its weight in the default group (no route table). */
  weight: number;
}

export interface RouteMember {
  channelId: number;
  /** 1 first; a higher tier carries only when no channel of the lower tiers is bound. */
  tier: number;
  weight: number;
}

export interface RouteRule {
  id: number;
  position: number;
  tenantId: number | null;
  messageType: RoutedMessageType | null;
  carrier: RecipientCarrier | null;
  /** Digits the number's E.164 form starts with after the '+', e.g. '86', '8613', '44'. */
  countryPrefix: string | null;
  signature: string | null;
  channels: readonly RouteMember[];
}

export interface RoutingTable {
  /** In the order they are tried (position, then id). */
  rules: readonly RouteRule[];
  /** Ported numbers (E.164) and the carrier that serves them now. */
  overrides?: ReadonlyMap<string, DomesticCarrier>;
}

/** Live state of a channel: part B adds the rolling delivery rate (degraded, score). */
export interface ChannelHealth {
  bound: boolean;
  /** Below its delivery-rate threshold: gets traffic only when every candidate is degraded. */
  degraded?: boolean;
  /** Higher is better (e.g. the delivery rate); picks the best when every candidate is degraded. */
  score?: number;
}

export type SkipReason = 'removed' | 'disabled' | 'carrier' | 'type' | 'unbound' | 'degraded';

export interface Skipped {
  channelId: number;
  /** The rule whose group held it (null: the default group). */
  ruleId: number | null;
  reason: SkipReason;
  why: string;
}

export type RouteDecision =
  | {
      kind: 'channel';
      channel: RoutingChannel;
      /** The rule that matched; null when there is no route table (the default group). */
      rule: RouteRule | null;
      tier: number;
      recipient: Recipient;
      skipped: Skipped[];
    }
  /** A rule matched and has channels able to carry the message, but none is bound now. */
  | { kind: 'wait'; rule: RouteRule | null; why: string; recipient: Recipient; skipped: Skipped[] }
  /** No rule matches, or no channel of any matching rule can ever carry it: `routing.no_route`. */
  | { kind: 'no_route'; why: string; recipient: Recipient; skipped: Skipped[] };

/** Smooth weighted round robin state, per (rule, tier): the dispatcher keeps one for its life. */
export type SpreadState = Map<string, Map<number, number>>;
export const newSpreadState = (): SpreadState => new Map();

export function ruleMatches(rule: RouteRule, m: RoutableMessage, r: Recipient): boolean {
  if (rule.tenantId !== null && rule.tenantId !== m.tenantId) return false;
  if (rule.messageType !== null && rule.messageType !== m.type) return false;
  if (rule.carrier !== null && rule.carrier !== r.carrier) return false;
  if (rule.countryPrefix !== null && !m.recipient.startsWith(`+${rule.countryPrefix}`)) return false;
  if (rule.signature !== null && signatureOf(m.content) !== rule.signature) return false;
  return true;
}

/** Whether the channel's coverage includes the recipient's carrier (or country). */
export function channelCovers(carriers: readonly string[], r: Recipient): boolean {
  if (r.carrier === 'intl') return carriers.includes('intl') || carriers.includes(`intl:${r.countryCode}`);
  if (r.carrier === 'unknown')
    // A number in no known segment: only a channel that reaches every network (三网合一) takes it.
    return ['cmcc', 'cucc', 'ctcc'].every((c) => carriers.includes(c));
  return carriers.includes(r.carrier);
}

function defaultRule(channels: ReadonlyMap<number, RoutingChannel>): RouteRule {
  return {
    id: 0,
    position: 0,
    tenantId: null,
    messageType: null,
    carrier: null,
    countryPrefix: null,
    signature: null,
    channels: [...channels.values()]
      .filter((c) => c.enabled)
      .map((c) => ({ channelId: c.id, tier: 1, weight: c.weight })),
  };
}

const carrierText = (r: Recipient) => (r.carrier === 'intl' ? `country +${r.countryCode}` : r.carrier);

export function chooseChannel(
  message: RoutableMessage,
  table: RoutingTable,
  channels: ReadonlyMap<number, RoutingChannel>,
  health: ReadonlyMap<number, ChannelHealth>,
  spread: SpreadState = newSpreadState(),
): RouteDecision {
  const recipient = lookupRecipient(message.recipient, table.overrides);
  const usesDefault = table.rules.length === 0;
  const rules = usesDefault ? [defaultRule(channels)] : table.rules;
  const skipped: Skipped[] = [];
  let matched = 0;
  for (const rule of rules) {
    if (!usesDefault && !ruleMatches(rule, message, recipient)) continue;
    matched++;
    const ruleId = usesDefault ? null : rule.id;
    const skip = (channelId: number, reason: SkipReason, why: string) =>
      skipped.push({ channelId, ruleId, reason, why });
    const able: { channel: RoutingChannel; member: RouteMember }[] = [];
    for (const member of rule.channels) {
      const channel = channels.get(member.channelId);
      if (!channel) skip(member.channelId, 'removed', 'no such channel');
      else if (!channel.enabled) skip(channel.id, 'disabled', 'disabled');
      else if (!channelCovers(channel.carriers, recipient))
        skip(channel.id, 'carrier', `does not cover ${carrierText(recipient)}`);
      else if (!channel.messageTypes.includes(message.type))
        skip(channel.id, 'type', `does not carry ${message.type} messages`);
      else able.push({ channel, member });
    }
    // No channel of this rule could ever carry it: the next matching rule may.
    if (able.length === 0) continue;
    const bound = able.filter((a) => {
      if (health.get(a.channel.id)?.bound === true) return true;
      skip(a.channel.id, 'unbound', 'not bound');
      return false;
    });
    if (bound.length === 0) {
      return {
        kind: 'wait',
        rule: usesDefault ? null : rule,
        why: `no channel of ${usesDefault ? 'the default group' : `route ${rule.id}`} is bound`,
        recipient,
        skipped,
      };
    }
    const healthy = bound.filter((a) => health.get(a.channel.id)?.degraded !== true);
    let candidates = healthy;
    if (healthy.length === 0) {
      // Every bound channel is degraded: traffic keeps flowing, to the best of them.
      const best = Math.max(...bound.map((a) => health.get(a.channel.id)?.score ?? 0));
      candidates = bound.filter((a) => (health.get(a.channel.id)?.score ?? 0) === best);
    } else {
      for (const a of bound)
        if (!healthy.includes(a)) skip(a.channel.id, 'degraded', 'degraded (a healthier channel is bound)');
    }
    const tier = Math.min(...candidates.map((a) => a.member.tier));
    const inTier = candidates.filter((a) => a.member.tier === tier);
    const chosen = pickWeighted(inTier, spread, `${ruleId ?? 'default'}:${tier}`);
    return {
      kind: 'channel',
      channel: chosen.channel,
      rule: usesDefault ? null : rule,
      tier,
      recipient,
      skipped,
    };
  }
  const why = usesDefault
    ? rules[0]!.channels.length === 0
      ? 'no channel is enabled'
      : `no enabled channel carries ${message.type} messages to ${carrierText(recipient)}`
    : matched === 0
      ? 'no route matches'
      : `no channel of the ${matched} matching route(s) carries ${message.type} messages to ${carrierText(recipient)}`;
  return { kind: 'no_route', why, recipient, skipped };
}

/** Smooth weighted round robin (nginx): each pick adds every weight, takes the largest, subtracts the total. */
function pickWeighted<T extends { channel: RoutingChannel; member: RouteMember }>(
  candidates: T[],
  spread: SpreadState,
  key: string,
): T {
  if (candidates.length === 1) return candidates[0]!;
  let current = spread.get(key);
  if (!current) spread.set(key, (current = new Map()));
  let total = 0;
  let best: T | undefined;
  let bestValue = -Infinity;
  for (const c of candidates) {
    const value = (current.get(c.channel.id) ?? 0) + c.member.weight;
    current.set(c.channel.id, value);
    total += c.member.weight;
    if (value > bestValue) {
      bestValue = value;
      best = c;
    }
  }
  current.set(best!.channel.id, bestValue - total);
  return best!;
}

/** A decision as lines a person reads (hongyan route test). */
export function describeDecision(d: RouteDecision, channels: ReadonlyMap<number, RoutingChannel>): string {
  const name = (id: number) => channels.get(id)?.name ?? `#${id}`;
  const r = d.recipient;
  const lines = [
    `recipient: ${r.carrier === 'intl' ? `international, country +${r.countryCode}` : `carrier ${r.carrier}`}${r.mvno ? ' (virtual operator)' : ''}${r.ported ? ' (ported: override table)' : ''}`,
  ];
  const ruleText = (rule: RouteRule | null) =>
    rule === null ? 'no route table: the default group' : `route ${rule.id} (position ${rule.position})`;
  if (d.kind === 'channel')
    lines.push(
      `decision: channel ${d.channel.name} (id ${d.channel.id}), tier ${d.tier}`,
      `rule: ${ruleText(d.rule)}`,
    );
  else if (d.kind === 'wait')
    lines.push(`decision: wait (${d.why}); the message stays queued`, `rule: ${ruleText(d.rule)}`);
  else lines.push(`decision: rejected, routing.no_route (${d.why})`);
  for (const s of d.skipped)
    lines.push(
      `skipped: ${name(s.channelId)} in ${s.ruleId === null ? 'the default group' : `route ${s.ruleId}`}: ${s.why}`,
    );
  return lines.join('\n');
}
