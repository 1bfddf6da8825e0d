// A carrier reject code the operator marks as channel-specific (blocked content on one channel, a
// sender-id problem) says "not this channel", not "not this message": such a message may be tried
// once on another channel of its group. This node remembers which messages it sent elsewhere and
// which channel refused them; routing then treats that channel as degraded for the message (so a
// group of one still carries it), and a second refusal ends it as usual.
//
// Per node, in memory (bounded): a message retried on another node may get one more try there.

export interface Reroutes {
  /** True when this refusal should send the message to another channel (the first time only). */
  shouldReroute(messageId: number, channelId: number, errorCode: string, codes: readonly string[]): boolean;
  /** The channel that refused the message with a channel-specific code, if any. */
  avoid(messageId: number): number | undefined;
}

export function createReroutes(limit = 100_000): Reroutes {
  const refusedOn = new Map<number, number>();
  return {
    shouldReroute(messageId, channelId, errorCode, codes) {
      if (!codes.includes(errorCode) || refusedOn.has(messageId)) return false;
      if (refusedOn.size >= limit) refusedOn.delete(refusedOn.keys().next().value!);
      refusedOn.set(messageId, channelId);
      return true;
    },
    avoid: (messageId) => refusedOn.get(messageId),
  };
}
