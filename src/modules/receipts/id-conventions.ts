// This node's view of each channel's id convention, and the learning of `auto` channels. The
// learned convention is stored on the channel, so every node (and every restart) reads it; the
// evidence is kept per node in memory, since one node's evidence suffices to learn.
import type pg from 'pg';
import type { Logger } from 'pino';
import { ID_CONVENTIONS, type IdConvention } from '../channels/channels.models.ts';
import type { Evidence, ReadingsOf } from './receipt-matching.ts';
import {
  addEvidence,
  FIXED_ID_CONVENTIONS,
  type FixedIdConvention,
  learnedConvention,
  noVotes,
  readingsFor,
  type Votes,
} from './receipts.models.ts';
import { readIdConventions, saveLearnedConvention } from './receipts.sql.ts';

/** Channels are re-read at most this often by default (a new channel, another node's learning). */
const REFRESH_MS = 5000;
/** Bounds the memory of parked receipts already counted as evidence (one vote per receipt). */
const MAX_COUNTED = 100_000;

function asConvention(value: string): IdConvention {
  return (ID_CONVENTIONS as readonly string[]).includes(value) ? (value as IdConvention) : 'as-is';
}

function asLearned(value: string | null): FixedIdConvention | null {
  return value !== null && (FIXED_ID_CONVENTIONS as readonly string[]).includes(value)
    ? (value as FixedIdConvention)
    : null;
}

export function createIdConventionBook({
  pool,
  logger,
  now = () => new Date(),
  refreshMs = REFRESH_MS,
}: {
  pool: pg.Pool;
  logger: Logger;
  now?: () => Date;
  /** Channels are re-read at most this often. */
  refreshMs?: number;
}) {
  let channels = new Map<number, { convention: IdConvention; learned: FixedIdConvention | null }>();
  let loadedAt = Number.NEGATIVE_INFINITY;
  const votes = new Map<number, Votes>();
  const counted = new Set<number>();

  async function reload(): Promise<void> {
    const rows = await readIdConventions(pool);
    const next = new Map<number, { convention: IdConvention; learned: FixedIdConvention | null }>();
    // The database is the truth: what this node learned is stored before it is used, and an
    // operator who sets `auto` again (which clears it) makes every node learn afresh.
    for (const r of rows) {
      const learned = asLearned(r.learned);
      if (learned === null && channels.get(r.channelId)?.learned) {
        votes.delete(r.channelId);
        counted.clear();
      }
      next.set(r.channelId, { convention: asConvention(r.convention), learned });
    }
    channels = next;
    loadedAt = performance.now();
  }

  const readingsOf: ReadingsOf = (channelId) => {
    const c = channels.get(channelId);
    // A channel removed since (its receipts still arrive on an old bind) is read as-is.
    return c ? readingsFor(c.convention, c.learned) : ['as-is'];
  };

  return {
    readingsOf,
    /** Whether this node has read the channel (readingsOf reads an unknown one as-is). */
    knows(channelId: number): boolean {
      return channels.has(channelId);
    },
    /** Reads the channels when one of these is unknown here, or the last read is old. */
    async ensure(channelIds: Iterable<number>): Promise<void> {
      let missing = performance.now() - loadedAt >= refreshMs;
      for (const id of channelIds) if (!channels.has(id)) missing = true;
      if (missing) await reload();
    },
    /** Counts evidence from parked receipts (each once) and stores a convention once settled. */
    async addEvidence(evidence: Evidence[]): Promise<void> {
      for (const e of evidence) {
        const channel = channels.get(e.channelId);
        if (!channel || channel.convention !== 'auto' || channel.learned !== null) continue;
        if (counted.has(e.parkedId)) continue;
        if (counted.size >= MAX_COUNTED) counted.clear();
        counted.add(e.parkedId);
        const v = addEvidence(votes.get(e.channelId) ?? noVotes(), e.conventions);
        votes.set(e.channelId, v);
        const learned = learnedConvention(v);
        if (learned === null) continue;
        await saveLearnedConvention(pool, { channelId: e.channelId, convention: learned, now: now() });
        channel.learned = learned;
        votes.delete(e.channelId);
        logger.info(
          { channelId: e.channelId, convention: learned, votes: v },
          'learned the channel id convention',
        );
      }
    },
    /** Test and CLI aid: the evidence gathered so far for a channel. */
    votesOf(channelId: number): Votes {
      return votes.get(channelId) ?? noVotes();
    },
  };
}

export type IdConventionBook = ReturnType<typeof createIdConventionBook>;
