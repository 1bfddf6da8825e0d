import { afterEach, describe, expect, it, vi } from 'vitest';
import { createReassembler } from './concat.ts';
import type { SubmittedPart } from './submit.models.ts';

const part = (reference: number, total: number, seq: number, text: string) => ({
  body: Buffer.from(text, 'latin1'),
  dataCoding: 3,
  concat: { reference, total, seq },
});

afterEach(() => vi.useRealTimers());

describe('reassembler', () => {
  it('submits the whole once, in part order, and answers every part with its id', async () => {
    const submitted: string[] = [];
    const r = createReassembler({
      timeoutMs: 1000,
      timeoutStatus: 0x45,
      submitWhole: async (parts: SubmittedPart[]) => {
        submitted.push(parts.map((p) => p.body.toString('latin1')).join(''));
        return { ok: true, messageId: String(submitted.length) };
      },
    });
    const answers = await Promise.all([
      r.add('a|b', part(7, 3, 3, 'C')),
      r.add('a|b', part(7, 3, 1, 'A')),
      r.add('x|y', part(7, 2, 1, 'other')), // another conversation, same reference
      r.add('a|b', part(7, 3, 1, 'A')), // resent part
      r.add('a|b', part(7, 3, 2, 'B')),
      r.add('x|y', part(7, 2, 2, '!')),
    ]);
    expect(submitted).toEqual(['ABC', 'other!']);
    expect(answers.map((a) => (a.ok ? a.messageId : a.status))).toEqual(['1', '1', '2', '1', '1', '2']);
    expect(r.waiting).toBe(0);
  });

  it('refuses the parts that came when the rest is missing after the timeout, submitting nothing', async () => {
    vi.useFakeTimers();
    let submits = 0;
    const r = createReassembler({
      timeoutMs: 5000,
      timeoutStatus: 0x45,
      submitWhole: async () => {
        submits++;
        return { ok: true, messageId: '1' };
      },
    });
    const first = r.add('a|b', part(1, 3, 1, 'A'));
    const second = r.add('a|b', part(1, 3, 2, 'B'));
    await vi.advanceTimersByTimeAsync(5001);
    expect(await first).toEqual({ ok: false, status: 0x45 });
    expect(await second).toEqual({ ok: false, status: 0x45 });
    expect(submits).toBe(0);
    expect(r.waiting).toBe(0);
  });
});
