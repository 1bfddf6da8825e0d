import { describe, expect, it } from 'vitest';
import { csvField, csvHeader } from './export.models.ts';

describe('csvField', () => {
  it('leaves plain text and numbers as they are, and null empty', () => {
    expect([csvField('delivered'), csvField(3), csvField(null)]).toEqual(['delivered', '3', '']);
  });

  it('quotes commas, quotes and line breaks, doubling inner quotes', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('line\nbreak')).toBe('"line\nbreak"');
  });

  it('defuses text a spreadsheet would run as a formula', () => {
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField('@SUM(1)')).toBe("'@SUM(1)");
  });

  it('keeps a validated E.164 number as it is when asked not to defuse', () => {
    expect(csvField('+8613800138000', { defuse: false })).toBe('+8613800138000');
    expect(csvField('+8613800138000')).toBe("'+8613800138000");
  });
});

describe('csvHeader', () => {
  it('names the columns on one CRLF line', () => {
    expect(csvHeader()).toBe(
      'id,to,type,status,parts,client_ref,batch_id,created_at,updated_at,error_code,content\r\n',
    );
  });
});
