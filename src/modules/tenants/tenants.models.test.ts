import { describe, expect, it } from 'vitest';
import {
  createWindowLimiter,
  creditCodeCheckChar,
  isValidCreditCode,
  mayUseBeforeApproval,
  nextStatus,
  sniffDocumentType,
} from './tenants.models.ts';

describe('unified social credit code', () => {
  it('accepts real codes whose check character is right', () => {
    for (const code of ['91350100M000100Y43', '91110000600037341L', '91440300708461136T']) {
      expect(isValidCreditCode(code), code).toBe(true);
    }
  });

  it('refuses a wrong check character, a wrong length, lower case and letters outside the alphabet', () => {
    expect(isValidCreditCode('91350100M000100Y44')).toBe(false);
    expect(isValidCreditCode('91350100M000100Y4')).toBe(false);
    expect(isValidCreditCode('91350100m000100y43')).toBe(false);
    expect(isValidCreditCode('91350100I000100Y43')).toBe(false);
    expect(isValidCreditCode('')).toBe(false);
  });

  it('computes the check character of a prefix (31 - sum mod 31, where 31 becomes 0)', () => {
    expect(creditCodeCheckChar('91350100M000100Y4')).toBe('3');
    expect(creditCodeCheckChar('short')).toBeNull();
  });
});

describe('document type by content', () => {
  it('knows PDF, PNG and JPEG by their first bytes', () => {
    expect(sniffDocumentType(Buffer.from('%PDF-1.7\n...'))?.contentType).toBe('application/pdf');
    expect(
      sniffDocumentType(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]))?.extension,
    ).toBe('png');
    expect(sniffDocumentType(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))?.contentType).toBe('image/jpeg');
  });

  it('refuses text, HTML and empty bodies whatever they claim to be', () => {
    expect(sniffDocumentType(Buffer.from('just text pretending to be a pdf'))).toBeNull();
    expect(sniffDocumentType(Buffer.from('<html>%PDF-'))).toBeNull();
    expect(sniffDocumentType(Buffer.alloc(0))).toBeNull();
  });
});

describe('status changes', () => {
  it('review acts only on a pending application; resubmission only after a rejection', () => {
    expect(nextStatus('pending_review', 'approve')).toBe('active');
    expect(nextStatus('pending_review', 'reject')).toBe('rejected');
    expect(nextStatus('rejected', 'resubmit')).toBe('pending_review');
    expect(nextStatus('active', 'approve')).toBeNull();
    expect(nextStatus('rejected', 'approve')).toBeNull();
  });

  it('suspension applies to an active tenant and activation undoes only a suspension', () => {
    expect(nextStatus('active', 'suspend')).toBe('suspended');
    expect(nextStatus('suspended', 'activate')).toBe('active');
    expect(nextStatus('pending_review', 'activate')).toBeNull();
    expect(nextStatus('pending_review', 'suspend')).toBeNull();
  });

  it('a tenant awaiting approval may use its own account and application, not send', () => {
    expect(mayUseBeforeApproval('tenant.manage')).toBe(true);
    expect(mayUseBeforeApproval('account.self')).toBe(true);
    expect(mayUseBeforeApproval('messages.send')).toBe(false);
    expect(mayUseBeforeApproval('credentials.manage')).toBe(false);
  });
});

describe('registration limiter', () => {
  it('allows `limit` events per key and window, then names the seconds left; other keys are apart', () => {
    const take = createWindowLimiter(2, 60_000);
    expect([take('a', 0), take('a', 1000), take('a', 2000)]).toEqual([0, 0, 58]);
    expect(take('b', 2000)).toBe(0);
    expect(take('a', 60_000)).toBe(0);
  });
});
