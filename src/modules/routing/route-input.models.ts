// What an operator writes to define a route (CLI flags or the operator API), checked without I/O.
import type { DomesticCarrier } from './cn-segments.ts';
import { DOMESTIC_CARRIERS, MESSAGE_TYPES, ROUTE_CARRIERS } from './routing.models.ts';

export interface RouteMemberInput {
  /** A channel name or id. */
  channel: string;
  tier?: number;
  weight?: number;
}

export interface RouteInput {
  position?: number;
  tenantId?: number | null;
  messageType?: string | null;
  carrier?: string | null;
  countryPrefix?: string | null;
  signature?: string | null;
  description?: string;
  channels: RouteMemberInput[];
}

export function validateRoute(input: RouteInput): string[] {
  const problems: string[] = [];
  if (
    input.position !== undefined &&
    (!Number.isInteger(input.position) || input.position < 0 || input.position > 1_000_000)
  )
    problems.push('position: 0..1000000');
  if (input.tenantId != null && (!Number.isInteger(input.tenantId) || input.tenantId < 1))
    problems.push('tenant: a tenant id');
  if (input.messageType != null && !(MESSAGE_TYPES as readonly string[]).includes(input.messageType))
    problems.push(`type: one of ${MESSAGE_TYPES.join(', ')}`);
  if (input.carrier != null && !(ROUTE_CARRIERS as readonly string[]).includes(input.carrier))
    problems.push(`carrier: one of ${ROUTE_CARRIERS.join(', ')}`);
  if (input.countryPrefix != null && !/^[0-9]{1,6}$/.test(input.countryPrefix))
    problems.push('country: 1-6 digits of the E.164 number after the "+", e.g. 86 or 852');
  if (
    input.signature != null &&
    (input.signature.length < 1 || input.signature.length > 40 || /[【】]/.test(input.signature))
  )
    problems.push('signature: the text between 【 and 】, 1-40 characters');
  if (input.channels.length === 0) problems.push('channels: at least one channel');
  const seen = new Set<string>();
  for (const m of input.channels) {
    if (seen.has(m.channel)) problems.push(`channels: ${m.channel} named twice`);
    seen.add(m.channel);
    if (m.tier !== undefined && (!Number.isInteger(m.tier) || m.tier < 1 || m.tier > 9))
      problems.push(`channels: tier of ${m.channel} must be 1..9`);
    if (m.weight !== undefined && (!Number.isInteger(m.weight) || m.weight < 1 || m.weight > 10_000))
      problems.push(`channels: weight of ${m.channel} must be 1..10000`);
  }
  return problems;
}

/**
 * The CLI's group syntax: tiers in order of preference separated by ">", channels of a tier by
 * ",", each `name[:weight]`. "a:3,b:1>backup": a and b share the traffic 3:1; backup carries only
 * when neither is bound.
 */
export function parseChannelGroup(text: string): RouteMemberInput[] {
  const members: RouteMemberInput[] = [];
  text.split('>').forEach((tierText, i) => {
    for (const item of tierText.split(',')) {
      const trimmed = item.trim();
      if (trimmed === '') continue;
      const [channel, weight] = trimmed.split(':');
      members.push({
        channel: channel!.trim(),
        tier: i + 1,
        ...(weight === undefined ? {} : { weight: /^\d+$/.test(weight.trim()) ? Number(weight) : NaN }),
      });
    }
  });
  return members;
}

export function validateOverride(input: { number: string; carrier: string }): string[] {
  const problems: string[] = [];
  if (!/^\+86 ?1[0-9]{10}$/.test(input.number.replace(/\s/g, '')))
    problems.push('number: a mainland China mobile number in E.164, e.g. +8613912345678');
  if (!(DOMESTIC_CARRIERS as readonly string[]).includes(input.carrier))
    problems.push(`carrier: one of ${DOMESTIC_CARRIERS.join(', ')}`);
  return problems;
}

export const asDomesticCarrier = (c: string) => c as DomesticCarrier;
