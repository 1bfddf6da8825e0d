import { describe, expect, it } from 'vitest';
import { MessageState } from '../../smpp/constants.ts';
import { messageIdOf, queryAnswerOf, smppAbsoluteTime } from './message-queries.models.ts';

describe('query_sm and cancel_sm rules', () => {
  it('reads only the decimal ids submit_sm_resp gives', () => {
    expect(messageIdOf('12345')).toBe(12345);
    for (const bad of ['', '0', '012', '12a', '-1', '1e3', '12345678901234567'])
      expect(messageIdOf(bad)).toBeNull();
  });

  it('answers ENROUTE without a final date until final, then the state, date and err digits', () => {
    const done = new Date('2026-11-30T09:30:05.678Z');
    for (const status of ['held', 'queued', 'sending', 'sent'])
      expect(queryAnswerOf({ status, done_at: null, error_code: null })).toEqual({
        messageState: MessageState.ENROUTE,
        finalDate: '',
        errorCode: 0,
      });
    expect(
      queryAnswerOf({ status: 'undelivered', done_at: done, error_code: 'carrier.stat_UNDELIV_err_001' }),
    ).toEqual({
      messageState: MessageState.UNDELIVERABLE,
      finalDate: '261130093005600+',
      errorCode: 1,
    });
    expect(queryAnswerOf({ status: 'canceled', done_at: done, error_code: null }).messageState).toBe(
      MessageState.DELETED,
    );
    expect(queryAnswerOf({ status: 'failed', done_at: done, error_code: 'carrier.err_999' }).errorCode).toBe(
      0,
    );
    expect(smppAbsoluteTime(new Date('2027-01-02T03:04:05.000Z'))).toBe('270102030405000+');
  });
});
