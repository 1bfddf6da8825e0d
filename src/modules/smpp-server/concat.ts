// Reassembly of concatenated submits (UDH or SAR): the parts of one message wait, their
// submit_sm_resp held, until the last arrives; the whole goes through intake once and every part
// is answered with the same message id. Parts still missing after the timeout fail the parts that
// came (ESME_RSUBMITFAIL): nothing is sent half-way, and the client may send the message again.
// A part sent twice (its response was lost) replaces the first copy and is answered like it.
import type { SubmittedPart } from './submit.models.ts';

interface Waiting<P> {
  parts: Map<number, P>;
  total: number;
  waiters: ((outcome: PartOutcome) => void)[];
  timer: ReturnType<typeof setTimeout>;
}

/** The answer every part of one message gets. */
export type PartOutcome = { ok: true; messageId: string } | { ok: false; status: number };

type ConcatPart = SubmittedPart & { concat: NonNullable<SubmittedPart['concat']> };

export interface Reassembler<P extends ConcatPart> {
  /** Resolves when the message is whole and submitted (or timed out). */
  add(key: string, part: P): Promise<PartOutcome>;
  readonly waiting: number;
  /** Fails every waiting part (the server closes). */
  clear(status: number): void;
}

export function createReassembler<P extends ConcatPart>({
  timeoutMs,
  timeoutStatus,
  submitWhole,
}: {
  timeoutMs: number;
  timeoutStatus: number;
  /** Submits the ordered parts as one message. */
  submitWhole: (parts: P[]) => Promise<PartOutcome>;
}): Reassembler<P> {
  const groups = new Map<string, Waiting<P>>();

  function settle(key: string, group: Waiting<P>, outcome: PartOutcome): void {
    clearTimeout(group.timer);
    if (groups.get(key) === group) groups.delete(key);
    for (const waiter of group.waiters) waiter(outcome);
  }

  return {
    add(key, part) {
      const groupKey = `${key}|${part.concat.reference}|${part.concat.total}`;
      let group = groups.get(groupKey);
      if (group === undefined) {
        const created: Waiting<P> = {
          parts: new Map(),
          total: part.concat.total,
          waiters: [],
          timer: setTimeout(() => settle(groupKey, created, { ok: false, status: timeoutStatus }), timeoutMs),
        };
        group = created;
        groups.set(groupKey, group);
      }
      const current = group;
      current.parts.set(part.concat.seq, part);
      const outcome = new Promise<PartOutcome>((resolve) => current.waiters.push(resolve));
      if (current.parts.size === current.total) {
        groups.delete(groupKey);
        clearTimeout(current.timer);
        const ordered = [...current.parts.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
        void submitWhole(ordered).then(
          (result) => settle(groupKey, current, result),
          () => settle(groupKey, current, { ok: false, status: timeoutStatus }),
        );
      }
      return outcome;
    },
    get waiting() {
      return groups.size;
    },
    clear(status) {
      for (const [key, group] of [...groups]) settle(key, group, { ok: false, status });
    },
  };
}
