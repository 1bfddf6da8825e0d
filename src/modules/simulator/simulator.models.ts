// Simulator profiles: what a simulated carrier does (delivery rate, latency, faults), the built-in
// ones, and which one a bind gets. The decisions they drive are in decisions.models.ts.

import { CommandStatus } from '../../smpp/constants.ts';

export interface LatencyRange {
  min: number;
  median: number;
  max: number;
}

/**
 * Ids on the wire, in the styles real carriers use, so that no assumption of a client about ids
 * passes unseen:
 * - 'decimal': large decimal numbers that grow from the start time (1764480000000001…);
 * - 'sequential': small decimal numbers counted from 1001 (1001, 1002, …), as many carriers do; a
 *   client that reads ids in both hex and decimal finds other messages' ids among them (4162 read
 *   as hex is 16738);
 * - 'hex': the number in lower-case hex;
 * - 'uuid': UUID-like text (8-4-4-4-12 hex digits), not a number at all;
 * - 'hex-resp-decimal-receipt' and 'decimal-resp-hex-receipt': submit_sm_resp and the receipt
 *   carry the same number in different bases, a quirk that the channel's id convention must name.
 */
export type IdFormat =
  'decimal' | 'sequential' | 'hex' | 'uuid' | 'hex-resp-decimal-receipt' | 'decimal-resp-hex-receipt';

export const ID_FORMATS: readonly IdFormat[] = [
  'decimal',
  'sequential',
  'hex',
  'uuid',
  'hex-resp-decimal-receipt',
  'decimal-resp-hex-receipt',
];

/** How a channel to a carrier with these ids must match receipts (the channel's id_convention). */
export type IdConvention = 'as-is' | 'hex-resp-decimal-receipt' | 'decimal-resp-hex-receipt';

export function idConventionOf(format: IdFormat): IdConvention {
  return format === 'hex-resp-decimal-receipt' || format === 'decimal-resp-hex-receipt' ? format : 'as-is';
}

export interface SimulatorProfile {
  name: string;
  /** Share of accepted messages whose receipt says DELIVRD (0..1). */
  deliveryRate: number;
  /** Share whose receipt says EXPIRED; the rest (1 - delivery - expired) is UNDELIV. */
  expiredRate: number;
  receiptLatencyMs: LatencyRange;
  /** Share of submits refused with one of rejectStatuses. */
  rejectRate: number;
  rejectStatuses: readonly number[];
  /** Submits above this rate, per bind, get ESME_RTHROTTLED; null never throttles. */
  throttleAboveTps: number | null;
  /** Share of submits answered ESME_RMSGQFUL. */
  queueFullRate: number;
  /** Share of submits swallowed: never answered. */
  noResponseRate: number;
  /** Drop the TCP connection right after answering this many submits on one bind; null = never. */
  disconnectAfterSubmits: number | null;
  /** Share of accepted submits whose receipt is sent (and answered) before the submit_sm_resp. */
  receiptBeforeResponseRate: number;
  /** Share of delivered messages the recipient answers (MO deliver_sm). */
  replyRate: number;
  replies: readonly string[];
  /** Delay of a reply after the delivery. */
  replyLatencyMs: LatencyRange;
  idFormat: IdFormat;
  /**
   * Recipients whose number ends with one of these get an UNDELIV receipt (err 001, unknown
   * subscriber) whatever the rates, so that a test knows each message's own outcome.
   */
  undeliveredSuffixes: readonly string[];
  /** Refuse every bind with ESME_RBINDFAIL. */
  bindFail: boolean;
  /**
   * A delivery rate that changes over time: from the `afterAccepted`-th submit this simulator
   * accepted on, `deliveryRate` replaces the profile's (the last phase reached wins). Counted in
   * submits, not seconds, so a test knows which messages fell in which phase.
   */
  deliveryPhases?: readonly { afterAccepted: number; deliveryRate: number }[];
  /**
   * Per carrier behaviour: recipients whose number (digits, no '+') starts with `prefix` get this
   * delivery rate (the longest prefix wins; a phase does not override it), e.g. '86139' for China
   * Mobile's 139 segment.
   */
  prefixDeliveryRates?: readonly { prefix: string; deliveryRate: number }[];
}

export type ProfileRates = Pick<
  SimulatorProfile,
  'deliveryRate' | 'expiredRate' | 'rejectRate' | 'queueFullRate' | 'noResponseRate'
>;

const quiet: Omit<SimulatorProfile, 'name'> = {
  deliveryRate: 1,
  expiredRate: 0,
  receiptLatencyMs: { min: 20, median: 80, max: 300 },
  rejectRate: 0,
  rejectStatuses: [CommandStatus.ESME_RINVDSTADR, CommandStatus.ESME_RSUBMITFAIL],
  throttleAboveTps: null,
  queueFullRate: 0,
  noResponseRate: 0,
  disconnectAfterSubmits: null,
  receiptBeforeResponseRate: 0,
  replyRate: 0,
  replies: ['TD', '退订', 'STOP', '好的，收到'],
  replyLatencyMs: { min: 1_000, median: 5_000, max: 60_000 },
  idFormat: 'decimal',
  undeliveredSuffixes: [],
  bindFail: false,
};

/**
 * `default` is the channel of a fresh install: every message delivered well within a second, so
 * the first message a user sends shows `delivered` by the time they look. Its ids read the same in
 * the response and the receipt (the channel's `as-is` convention). `sequential` is the carrier of
 * the benchmark: small sequential decimal ids and each receipt right after its response. The
 * others spread over the id styles (see IdFormat).
 */
export const BUILT_IN_PROFILES: readonly SimulatorProfile[] = [
  { ...quiet, name: 'default' },
  {
    ...quiet,
    name: 'sequential',
    receiptLatencyMs: { min: 0, median: 0, max: 0 },
    idFormat: 'sequential',
  },
  {
    ...quiet,
    name: 'realistic',
    idFormat: 'uuid',
    deliveryRate: 0.95,
    expiredRate: 0.02,
    rejectRate: 0.005,
    receiptLatencyMs: { min: 500, median: 3_000, max: 30_000 },
    replyRate: 0.01,
    replyLatencyMs: { min: 5_000, median: 30_000, max: 300_000 },
  },
  {
    ...quiet,
    name: 'flaky',
    deliveryRate: 0.9,
    expiredRate: 0.03,
    rejectRate: 0.01,
    queueFullRate: 0.01,
    noResponseRate: 0.01,
    disconnectAfterSubmits: 5_000,
    receiptBeforeResponseRate: 0.05,
    receiptLatencyMs: { min: 50, median: 500, max: 10_000 },
    replyRate: 0.01,
    idFormat: 'hex-resp-decimal-receipt',
  },
  { ...quiet, name: 'throttle', throttleAboveTps: 200, idFormat: 'hex' },
  { ...quiet, name: 'blackhole', noResponseRate: 1, idFormat: 'decimal-resp-hex-receipt' },
  { ...quiet, name: 'bindfail', bindFail: true },
];

export const DEFAULT_PROFILE_NAME = 'default';

/** What a bind asked for; the profile is named by system_id, else by system_type, else `default`. */
export function chooseProfile({
  systemId,
  systemType,
  profiles,
  forced,
}: {
  systemId: string;
  systemType: string;
  profiles: ReadonlyMap<string, SimulatorProfile>;
  /** A profile name that overrides the bind's own choice (`hongyan simulator --profile NAME`). */
  forced?: string | undefined;
}): SimulatorProfile {
  const chosen =
    (forced === undefined ? undefined : profiles.get(forced)) ??
    profiles.get(systemId) ??
    profiles.get(systemType) ??
    profiles.get(DEFAULT_PROFILE_NAME);
  // profileMap always holds `default`; a caller that removed it gets the built-in one.
  return chosen ?? BUILT_IN_PROFILES[0]!;
}

/** Built-in profiles, then `extra` ones (same name replaces), keyed by name. */
export function profileMap(extra: readonly SimulatorProfile[] = []): Map<string, SimulatorProfile> {
  const map = new Map<string, SimulatorProfile>();
  for (const p of BUILT_IN_PROFILES) map.set(p.name, p);
  for (const p of extra) map.set(p.name, p);
  return map;
}
