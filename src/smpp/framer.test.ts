import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PduFramer } from './framer.ts';
import { buildPdu, encodePdu } from './pdu.ts';

const pdus = [
  encodePdu(buildPdu('enquire_link', { sequenceNumber: 1 })),
  encodePdu(
    buildPdu('submit_sm', {
      sequenceNumber: 2,
      destinationAddr: '8613800138000',
      shortMessage: Buffer.from('hi'),
    }),
  ),
  encodePdu(buildPdu('submit_sm_resp', { sequenceNumber: 3, messageId: 'abc' })),
  encodePdu(buildPdu('data_sm', { sequenceNumber: 4, tlvs: { messagePayload: Buffer.alloc(3000, 7) } })),
];
const stream = Buffer.concat(pdus);

function feed(framer: PduFramer, chunks: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (const chunk of chunks) {
    const { frames, error } = framer.push(chunk);
    expect(error).toBeNull();
    out.push(...frames);
  }
  return out;
}

/** Buffer.equals: vitest's deep equality compares octet by octet and is 100x slower. */
function expectFrames(frames: Buffer[]): void {
  expect(frames.length).toBe(pdus.length);
  frames.forEach((frame, i) => {
    expect(frame.equals(pdus[i]!)).toBe(true);
  });
}

describe('PduFramer', () => {
  it('returns coalesced PDUs from one chunk as views', () => {
    const frames = feed(new PduFramer(), [stream]);
    expectFrames(frames);
    expect(frames[0]!.buffer).toBe(stream.buffer);
  });

  it('splits at every byte boundary', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const framer = new PduFramer();
      expectFrames(feed(framer, [stream.subarray(0, cut), stream.subarray(cut)]));
      expect(framer.bufferedLength).toBe(0);
    }
  });

  it('handles one byte at a time', () => {
    const chunks = [...stream].map((b) => Buffer.from([b]));
    expectFrames(feed(new PduFramer(), chunks));
  });

  it('handles arbitrary chunkings', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: stream.length }), { maxLength: 20 }), (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), stream.length];
        const chunks = points.slice(1).map((end, i) => stream.subarray(points[i], end));
        expectFrames(feed(new PduFramer(), chunks));
      }),
      { numRuns: 300 },
    );
  });

  it('reports a command_length below 16 as fatal, with the header fields it has', () => {
    const framer = new PduFramer();
    const bad = Buffer.from('0000000f800000000000000000000009', 'hex');
    const out = framer.push(Buffer.concat([pdus[0]!, bad]));
    expect(out.frames).toEqual([pdus[0]]);
    expect(out.error).toMatchObject({ commandLength: 15, commandId: 0x80000000, sequenceNumber: 9 });
    expect(framer.push(pdus[0]!)).toEqual({ frames: [], error: out.error });
  });

  it('reports a command_length above the maximum as soon as 4 octets arrive', () => {
    const framer = new PduFramer({ maxPduLength: 1000 });
    expect(framer.push(Buffer.from('0000', 'hex')).error).toBeNull();
    expect(framer.push(Buffer.from('03e9', 'hex')).error).toMatchObject({ commandLength: 1001 });
    expect(new PduFramer().push(Buffer.from('00010001', 'hex')).error).toMatchObject({
      commandLength: 65537,
    });
  });

  it('stays linear on a large PDU fed in tiny chunks', () => {
    const big = encodePdu(
      buildPdu('data_sm', { sequenceNumber: 1, tlvs: { messagePayload: Buffer.alloc(60000) } }),
    );
    const framer = new PduFramer();
    const chunks: Buffer[] = [];
    for (let i = 0; i < big.length; i += 3) chunks.push(big.subarray(i, i + 3));
    const frames = feed(framer, chunks);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.equals(big)).toBe(true);
  });
});
