// Simulator profiles: what a simulated carrier does (delivery rate, latency, faults), the built-in
// ones, and which one a bind gets. The decisions they drive are in decisions.models.ts.

import { CommandStatus } from '../../smpp/constants.ts';

export interface LatencyRange {
  min: number;
  median: number;
  max: number;
}

/**
 * Ids on the wire. 'hex-resp-decimal-receipt' is a quirk of real carriers: submit_sm_resp carries
 * the id in hex and the receipt the same number in decimal, so a client must try both forms.
 */
export type IdFormat = 'decimal' | 'hex' | 'hex-resp-decimal-receipt';

export const ID_FORMATS: readonly IdFormat[] = ['decimal', 'hex', 'hex-resp-decimal-receipt'];

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
  /** Refuse every bind with ESME_RBINDFAIL. */
  bindFail: boolean;
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
  bindFail: false,
};

/**
 * `default` is the channel of a fresh install: every message delivered well within a second, so
 * the first message a user sends shows `delivered` by the time they look.
 */
export const BUILT_IN_PROFILES: readonly SimulatorProfile[] = [
  { ...quiet, name: 'default' },
  {
    ...quiet,
    name: 'realistic',
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
  { ...quiet, name: 'throttle', throttleAboveTps: 200 },
  { ...quiet, name: 'blackhole', noResponseRate: 1 },
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
