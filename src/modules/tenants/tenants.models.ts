// Pure rules of onboarding: the unified social credit code's check digit, what a document really
// is (by its first bytes, never by its name or declared type), and which status changes are allowed.
import type { Permission } from '../accounts/permissions.models.ts';

export const TENANT_STATUSES = ['pending_review', 'active', 'rejected', 'suspended'] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

// GB 32100-2015: 31 characters (no I, O, S, V, Z), weights 3^i mod 31 over the first 17.
const CODE_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/** The check character a 17-character prefix needs, or null when the prefix has a foreign character. */
export function creditCodeCheckChar(prefix: string): string | null {
  if (prefix.length !== 17) return null;
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const value = CODE_CHARS.indexOf(prefix[i]!);
    if (value < 0) return null;
    sum += value * WEIGHTS[i]!;
  }
  return CODE_CHARS[(31 - (sum % 31)) % 31]!;
}

/** 18 characters of the code's alphabet whose last one is the GB 32100-2015 check character. */
export function isValidCreditCode(code: string): boolean {
  if (!/^[0-9A-HJ-NPQRTUWXY]{18}$/.test(code)) return false;
  return creditCodeCheckChar(code.slice(0, 17)) === code[17];
}

export const DOCUMENT_KINDS = ['business_licence', 'legal_rep_id', 'industry_licence'] as const;
export type DocumentKind = (typeof DOCUMENT_KINDS)[number];

export interface SniffedType {
  contentType: 'application/pdf' | 'image/jpeg' | 'image/png';
  extension: 'pdf' | 'jpg' | 'png';
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** What the bytes are (PDF, JPEG or PNG), or null for anything else. */
export function sniffDocumentType(bytes: Uint8Array): SniffedType | null {
  const starts = (sig: number[]) => sig.every((b, i) => bytes[i] === b);
  if (starts([0x25, 0x50, 0x44, 0x46, 0x2d])) return { contentType: 'application/pdf', extension: 'pdf' };
  if (starts(PNG_SIGNATURE)) return { contentType: 'image/png', extension: 'png' };
  if (starts([0xff, 0xd8, 0xff])) return { contentType: 'image/jpeg', extension: 'jpg' };
  return null;
}

export type TenantAction = 'approve' | 'reject' | 'resubmit' | 'suspend' | 'activate';

/** From which statuses each action may start, and where it leads. */
export const TRANSITIONS: Record<TenantAction, { from: readonly TenantStatus[]; to: TenantStatus }> = {
  approve: { from: ['pending_review'], to: 'active' },
  reject: { from: ['pending_review'], to: 'rejected' },
  resubmit: { from: ['rejected'], to: 'pending_review' },
  suspend: { from: ['active'], to: 'suspended' },
  activate: { from: ['suspended'], to: 'active' },
};

export function nextStatus(current: TenantStatus, action: TenantAction): TenantStatus | null {
  const t = TRANSITIONS[action];
  return t.from.includes(current) ? t.to : null;
}

/**
 * What a member of a tenant that is not approved yet (pending review or rejected) may still do:
 * their own account, and read and fix the application. Everything else answers
 * accounts.tenant_not_approved.
 */
export const ONBOARDING_PERMISSIONS: ReadonlySet<Permission> = new Set<Permission>([
  'account.self',
  'tenant.read',
  'tenant.manage',
]);

export function mayUseBeforeApproval(permission: Permission): boolean {
  return ONBOARDING_PERMISSIONS.has(permission);
}

/**
 * Counts events per key in fixed windows (in process, per node): enough to slow a script that
 * registers tenants in a loop, without a table. `take` answers 0 when allowed, else the seconds to wait.
 */
export function createWindowLimiter(limit: number, windowMs: number) {
  const windows = new Map<string, { start: number; count: number }>();
  return function take(key: string, nowMs: number): number {
    let w = windows.get(key);
    if (!w || nowMs - w.start >= windowMs) {
      // Forget finished windows now and then so the map cannot grow without bound.
      if (windows.size > 10_000) {
        for (const [k, v] of windows) if (nowMs - v.start >= windowMs) windows.delete(k);
      }
      w = { start: nowMs, count: 0 };
      windows.set(key, w);
    }
    if (w.count >= limit) return Math.ceil((w.start + windowMs - nowMs) / 1000);
    w.count += 1;
    return 0;
  };
}
