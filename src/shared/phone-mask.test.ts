import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { maskPhone, phoneRedaction } from './phone-mask.ts';

describe('maskPhone', () => {
  it('hides the four digits before the last four', () => {
    expect(maskPhone('13800138000')).toBe('138****8000');
    expect(maskPhone('+8613800138000')).toBe('+86138****8000');
    expect(maskPhone('10690001')).toBe('****0001');
    expect(maskPhone('95588')).toBe('****5588');
    expect(maskPhone('1234')).toBe('****');
  });
});

describe('phoneRedaction', () => {
  it('masks phone, recipient, to and sender in log lines, at the top and one level down', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = pino(phoneRedaction(), sink);
    logger.info(
      { phone: '13800138000', recipient: '13900139000', to: '13700137000', sender: '13600136000' },
      'a',
    );
    logger.info({ message: { to: '13500135000', id: 7 } }, 'b');
    const [a, b] = lines.map((l) => JSON.parse(l));
    expect(a).toMatchObject({
      phone: '138****8000',
      recipient: '139****9000',
      to: '137****7000',
      sender: '136****6000',
    });
    expect(b.message).toEqual({ to: '135****5000', id: 7 });
    expect(lines.join('')).not.toMatch(/"1[3-9]\d{9}"/);
  });
});
