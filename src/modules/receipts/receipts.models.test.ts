import { describe, expect, it } from 'vitest';
import {
  addEvidence,
  canReplace,
  finalStateOf,
  keepOnePerPart,
  LEARN_MIN_VOTES,
  learnedConvention,
  messageOutcome,
  noVotes,
  partRowsOf,
  type ReadingHit,
  readingsFor,
  receiptErrorCode,
  resolveReceipt,
  responseIdsOf,
} from './receipts.models.ts';

describe('responseIdsOf: one reading of a receipt id per convention', () => {
  it('reads 4162 three different ways, one per convention, never all at once', () => {
    expect(responseIdsOf('4162', 'as-is')).toEqual(['4162']);
    // 4162 written in hex is 1042: a hex response 1042 has the decimal receipt 4162.
    expect(responseIdsOf('4162', 'hex-resp-decimal-receipt')).toEqual(['1042']);
    // 4162 read as hex is 16738: a decimal response 16738 has the hex receipt 4162.
    expect(responseIdsOf('4162', 'decimal-resp-hex-receipt')).toEqual(['16738']);
  });

  it('gives both cases of a hex spelling (the same number) and drops leading zeros', () => {
    expect(responseIdsOf('6699', 'hex-resp-decimal-receipt')).toEqual(['1a2b', '1A2B']);
    expect(responseIdsOf('0006699', 'hex-resp-decimal-receipt')).toEqual(['1a2b', '1A2B']);
    expect(responseIdsOf('00001A2B', 'decimal-resp-hex-receipt')).toEqual(['6699']);
    expect(responseIdsOf('0x1a2b', 'decimal-resp-hex-receipt')).toEqual(['6699']);
  });

  it('names nothing when the id cannot be read that way', () => {
    expect(responseIdsOf('1a2b', 'hex-resp-decimal-receipt')).toEqual([]);
    expect(responseIdsOf('msg-42', 'decimal-resp-hex-receipt')).toEqual([]);
    expect(responseIdsOf('9'.repeat(100), 'hex-resp-decimal-receipt')).toEqual([]);
    expect(responseIdsOf('msg-42', 'as-is')).toEqual(['msg-42']);
  });

  it('reads a set convention one way, auto all three ways until it has learned', () => {
    expect(readingsFor('hex-resp-decimal-receipt', null)).toEqual(['hex-resp-decimal-receipt']);
    expect(readingsFor('auto', null)).toHaveLength(3);
    expect(readingsFor('auto', 'decimal-resp-hex-receipt')).toEqual(['decimal-resp-hex-receipt']);
  });
});

const hit = (
  convention: ReadingHit['convention'],
  messageId: number,
  awaiting = true,
  partNo = 0,
): ReadingHit => ({ convention, messageId, partNo, awaiting });

describe('resolveReceipt', () => {
  it('under a set convention, only that reading decides', () => {
    // The hex reading finds message 7; the receipt is as-is and its own message is not written yet.
    expect(resolveReceipt([hit('hex-resp-decimal-receipt', 7)], ['as-is'])).toEqual({ kind: 'none' });
    expect(resolveReceipt([hit('as-is', 8)], ['as-is'])).toEqual({ kind: 'match', messageId: 8, partNo: 0 });
  });

  it('prefers the newest message still awaiting when a carrier reused an id', () => {
    const hits = [hit('as-is', 3, true), hit('as-is', 9, false), hit('as-is', 5, true)];
    expect(resolveReceipt(hits, ['as-is'])).toEqual({ kind: 'match', messageId: 5, partNo: 0 });
    // None awaiting: the newest, whose receipt then counts as a duplicate.
    expect(resolveReceipt([hit('as-is', 3, false), hit('as-is', 9, false)], ['as-is'])).toMatchObject({
      messageId: 9,
    });
  });

  it('while learning, never applies: two messages are ambiguous, one is evidence', () => {
    const all = readingsFor('auto', null);
    expect(resolveReceipt([hit('as-is', 1), hit('hex-resp-decimal-receipt', 2)], all)).toEqual({
      kind: 'ambiguous',
    });
    expect(resolveReceipt([hit('hex-resp-decimal-receipt', 2)], all)).toEqual({
      kind: 'evidence',
      messageId: 2,
      partNo: 0,
      conventions: ['hex-resp-decimal-receipt'],
    });
    expect(resolveReceipt([], all)).toEqual({ kind: 'none' });
  });
});

describe('learning a convention', () => {
  it('ignores evidence that every reading shares', () => {
    expect(addEvidence(noVotes(), ['as-is', 'hex-resp-decimal-receipt'])).toEqual(noVotes());
  });

  it(`needs ${LEARN_MIN_VOTES} votes and a fourfold lead over all other evidence`, () => {
    let votes = noVotes();
    for (let i = 0; i < LEARN_MIN_VOTES - 1; i++) votes = addEvidence(votes, ['as-is']);
    expect(learnedConvention(votes)).toBeNull();
    votes = addEvidence(votes, ['as-is']);
    expect(learnedConvention(votes)).toBe('as-is');
    // Receipts that overtook their own submit result vote for a wrong reading: 6 such against
    // 20 is too close to call.
    for (let i = 0; i < 6; i++) votes = addEvidence(votes, ['hex-resp-decimal-receipt']);
    expect(learnedConvention(votes)).toBeNull();
    for (let i = 0; i < 4; i++) votes = addEvidence(votes, ['as-is']);
    expect(learnedConvention(votes)).toBe('as-is');
  });
});

describe('receipt states and codes', () => {
  it('keeps the carrier’s err in the error code, not a state name', () => {
    expect(receiptErrorCode('undelivered', 'UNDELIV', '034')).toBe('carrier.UNDELIV.034');
    expect(receiptErrorCode('expired', 'expired', undefined)).toBe('carrier.EXPIRED');
    expect(receiptErrorCode('delivered', 'DELIVRD', '000')).toBeNull();
  });

  it('progress reports end nothing; unknown is recorded but replaceable', () => {
    expect(finalStateOf('enroute')).toBeNull();
    expect(finalStateOf('accepted')).toBeNull();
    expect(finalStateOf('deleted')).toBe('undelivered');
    expect(finalStateOf('unknown')).toBe('unknown');
    expect(canReplace('unknown')).toBe(true);
    expect(canReplace(null)).toBe(true);
    expect(canReplace('expired')).toBe(false);
  });
});

describe('messageOutcome over every part', () => {
  const part = (
    partNo: number,
    state: Parameters<typeof canReplace>[0],
    errorCode: string | null = null,
  ) => ({
    partNo,
    covers: 1,
    state,
    errorCode,
  });

  it('an earlier expired part does not end as undelivered', () => {
    expect(messageOutcome([part(1, 'expired', 'carrier.EXPIRED'), part(2, 'delivered')], 2)).toEqual({
      delivered: 1,
      failed: 1,
      status: 'expired',
      errorCode: 'carrier.EXPIRED',
    });
  });

  it('waits for every part, delivered only if all were, else the lowest failed part', () => {
    expect(messageOutcome([part(1, 'delivered'), part(2, null)], 2).status).toBeNull();
    expect(messageOutcome([part(1, 'delivered'), part(2, 'delivered')], 2).status).toBe('delivered');
    expect(
      messageOutcome(
        [part(3, 'rejected', 'carrier.REJECTD'), part(2, 'undelivered', 'carrier.UNDELIV.034')],
        3,
      ),
    ).toMatchObject({ status: null });
    expect(
      messageOutcome(
        [
          part(1, 'delivered'),
          part(3, 'rejected', 'carrier.REJECTD'),
          part(2, 'undelivered', 'carrier.UNDELIV.034'),
        ],
        3,
      ),
    ).toMatchObject({ status: 'undelivered', errorCode: 'carrier.UNDELIV.034' });
  });

  it('a row covering two parts that shared an id counts twice', () => {
    expect(messageOutcome([{ partNo: 1, covers: 2, state: 'delivered', errorCode: null }], 2).status).toBe(
      'delivered',
    );
  });
});

describe('partRowsOf: one row per (channel, carrier id)', () => {
  it('parts of one message that share an id become one row covering them', () => {
    expect(partRowsOf([{ id: 1, channelId: 1, carrierIds: ['x', 'x', 'y'] }])).toEqual([
      { channelId: 1, carrierId: 'x', messageId: 1, partNo: 1, covers: 2 },
      { channelId: 1, carrierId: 'y', messageId: 1, partNo: 3, covers: 1 },
    ]);
  });

  it('two messages given one id: the newer keeps it, whatever the batch order', () => {
    const a = { id: 5, channelId: 1, carrierIds: ['k', 'a'] };
    const b = { id: 9, channelId: 1, carrierIds: ['k', 'b'] };
    const rows = partRowsOf([b, a]);
    expect(rows).toEqual(partRowsOf([a, b]));
    expect(rows.find((r) => r.carrierId === 'k')).toMatchObject({ messageId: 9 });
    // The same id on two channels is two keys; single-part results have no rows.
    expect(partRowsOf([{ id: 1, channelId: 2, carrierIds: ['k', 'z'] }, a])).toHaveLength(4);
    expect(partRowsOf([{ id: 1, channelId: 1, carrierIds: ['k'] }])).toEqual([]);
  });
});

describe('keepOnePerPart', () => {
  it('keeps a final state over unknown, else the latest, per part', () => {
    const kept = keepOnePerPart([
      { index: 0, messageId: 1, partNo: 0, state: 'delivered' },
      { index: 1, messageId: 1, partNo: 0, state: 'unknown' },
      { index: 2, messageId: 2, partNo: 1, state: 'unknown' },
      { index: 3, messageId: 2, partNo: 1, state: 'expired' },
      { index: 4, messageId: 2, partNo: 2, state: 'delivered' },
    ]);
    expect([...kept].sort()).toEqual([0, 3, 4]);
  });
});
