import { describe, expect, it } from 'vitest';
import { attribute, concatOf, reassemble, sanitizeText } from './inbound.models.ts';

const ucs2 = (s: string) => Buffer.from(s, 'utf16le').swap16();

describe('concatOf', () => {
  it('takes the UDH reference when there is one', () => {
    expect(concatOf({ udh: { ref: 0x1234, total: 3, seq: 2 }, sar: {} })).toEqual({
      ref: 0x1234,
      total: 3,
      seq: 2,
    });
  });

  it('takes the SAR TLVs when there is no UDH concatenation', () => {
    expect(concatOf({ sar: { ref: 700, total: 2, seq: 1 } })).toEqual({ ref: 700, total: 2, seq: 1 });
  });

  it('treats half a set of SAR TLVs, a single part and inconsistent numbering as no concatenation', () => {
    expect(concatOf({ sar: { ref: 700, total: 2 } })).toBeUndefined();
    expect(concatOf({ sar: { ref: 700, total: 1, seq: 1 } })).toBeUndefined();
    expect(concatOf({ sar: { ref: 700, total: 2, seq: 3 } })).toBeUndefined();
    expect(concatOf({ sar: { ref: 700, total: 2, seq: 0 } })).toBeUndefined();
  });
});

describe('sanitizeText', () => {
  it('removes NUL and says so', () => {
    expect(sanitizeText('T\0D\0')).toEqual({ text: 'TD', sanitized: true });
  });

  it('replaces lone surrogates and keeps valid pairs', () => {
    expect(sanitizeText('a\uD800b\uDC00c😀')).toEqual({ text: 'a\uFFFDb\uFFFDc😀', sanitized: true });
    expect(sanitizeText('\uD83D')).toEqual({ text: '\uFFFD', sanitized: true });
  });

  it('leaves ordinary text untouched', () => {
    expect(sanitizeText('退订 STOP\r\n')).toEqual({ text: '退订 STOP\r\n', sanitized: false });
  });
});

describe('reassemble', () => {
  it('orders parts by sequence number and joins their text', () => {
    const r = reassemble(
      [
        { seq: 3, dataCoding: 0, body: Buffer.from('three') },
        { seq: 1, dataCoding: 0, body: Buffer.from('one ') },
        { seq: 2, dataCoding: 0, body: Buffer.from('two ') },
      ],
      3,
    );
    expect(r).toMatchObject({ content: 'one two three', parts: 3, incomplete: false, dataCoding: 0 });
    expect(r.rawHex).toBe(Buffer.from('one two three').toString('hex'));
  });

  it('counts a repeated part once', () => {
    const r = reassemble(
      [
        { seq: 1, dataCoding: 0, body: Buffer.from('a') },
        { seq: 1, dataCoding: 0, body: Buffer.from('a') },
        { seq: 2, dataCoding: 0, body: Buffer.from('b') },
      ],
      2,
    );
    expect(r).toMatchObject({ content: 'ab', parts: 2, incomplete: false });
  });

  it('reads a UCS-2 character split across two parts whole', () => {
    const bytes = ucs2('退订😀');
    const r = reassemble(
      [
        { seq: 1, dataCoding: 8, body: bytes.subarray(0, 5) },
        { seq: 2, dataCoding: 8, body: bytes.subarray(5) },
      ],
      2,
    );
    expect(r).toMatchObject({ content: '退订😀', sanitized: false });
  });

  it('decodes parts of different codings one by one', () => {
    const r = reassemble(
      [
        { seq: 1, dataCoding: 0, body: Buffer.from('TD ') },
        { seq: 2, dataCoding: 8, body: ucs2('退订') },
      ],
      2,
    );
    expect(r).toMatchObject({ content: 'TD 退订', dataCoding: null });
  });

  it('flags a reply with parts missing as incomplete and keeps what arrived', () => {
    const r = reassemble(
      [
        { seq: 1, dataCoding: 0, body: Buffer.from('first ') },
        { seq: 3, dataCoding: 0, body: Buffer.from('third') },
      ],
      3,
    );
    expect(r).toMatchObject({ content: 'first third', parts: 2, incomplete: true });
  });

  it('makes a binary reply storable and keeps its bytes', () => {
    const body = Buffer.from([0x54, 0x00, 0x44, 0x00, 0xff]);
    const r = reassemble([{ seq: 1, dataCoding: 0x04, body }], 1);
    expect(r.content).toBe('TDÿ');
    expect(r.content.includes('\0')).toBe(false);
    expect(r).toMatchObject({ sanitized: true, rawHex: '5400440' + '0ff', dataCoding: 4 });
  });

  it('makes invalid UCS-2 (a lone surrogate) storable', () => {
    const r = reassemble([{ seq: 1, dataCoding: 8, body: Buffer.from([0xd8, 0x00, 0x00, 0x41]) }], 1);
    expect(r).toMatchObject({ content: '\uFFFDA', sanitized: true, rawHex: 'd8000041' });
  });
});

describe('attribute', () => {
  it('gives the reply to the tenant named by the extension code, whoever else messaged the handset', () => {
    expect(attribute({ extensionTenantId: 7, recentTenantIds: [3, 4] })).toEqual({
      tenantId: 7,
      attribution: 'extension',
      candidateTenantIds: null,
    });
  });

  it('gives it to the only tenant that messaged the handset when the code is missing', () => {
    expect(attribute({ extensionTenantId: null, recentTenantIds: [3, 3] })).toEqual({
      tenantId: 3,
      attribution: 'recent_sender',
      candidateTenantIds: null,
    });
  });

  it('leaves it unattributed, with the candidates, when two tenants messaged the handset', () => {
    expect(attribute({ extensionTenantId: null, recentTenantIds: [9, 3, 9] })).toEqual({
      tenantId: null,
      attribution: 'ambiguous',
      candidateTenantIds: [3, 9],
    });
  });

  it('leaves it unattributed when no tenant messaged the handset', () => {
    expect(attribute({ extensionTenantId: null, recentTenantIds: [] })).toEqual({
      tenantId: null,
      attribution: 'unknown',
      candidateTenantIds: null,
    });
  });
});
