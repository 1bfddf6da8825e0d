import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  allows,
  canManageRole,
  isPermission,
  isStaffOnly,
  PERMISSIONS,
  renderPermissionsDoc,
  scopeFor,
  type Permission,
} from './permissions.models.ts';

describe('permission table', () => {
  it('gives bearer keys the developer and sender permissions only', () => {
    const key = { kind: 'key', tenantId: 1 } as const;
    expect(allows(key, 'messages.send')).toBe(true);
    expect(allows(key, 'messages.read')).toBe(true);
    expect(allows(key, 'credentials.manage')).toBe(true);
    expect(allows(key, 'members.manage')).toBe(false);
    expect(allows(key, 'audit.read')).toBe(false);
  });

  it('keeps a viewer from sending and a finance member from reading messages', () => {
    expect(allows({ kind: 'member', tenantId: 1, role: 'viewer' }, 'messages.send')).toBe(false);
    expect(allows({ kind: 'member', tenantId: 1, role: 'viewer' }, 'messages.read')).toBe(true);
    expect(allows({ kind: 'member', tenantId: 1, role: 'finance' }, 'messages.read')).toBe(false);
  });

  it('never grants an operator permission to a tenant role, nor a tenant permission to staff', () => {
    const operatorPermissions = (Object.keys(PERMISSIONS) as Permission[]).filter((p) =>
      p.startsWith('operator.'),
    );
    expect(operatorPermissions.length).toBeGreaterThan(0);
    for (const p of operatorPermissions) expect(isStaffOnly(p)).toBe(true);
    expect(allows({ kind: 'member', tenantId: 1, role: 'owner' }, 'operator.tenants.read')).toBe(false);
    expect(allows({ kind: 'staff', role: 'admin' }, 'messages.send')).toBe(false);
    expect(allows({ kind: 'staff', role: 'support' }, 'operator.audit.read')).toBe(false);
  });

  it('grants a signed credential exactly the permissions whose scope it holds, and none without a scope', () => {
    const reader = { kind: 'credential', tenantId: 1, scopes: ['read'] } as const;
    expect(allows(reader, 'messages.read')).toBe(true);
    expect(allows(reader, 'replies.read')).toBe(true);
    expect(allows(reader, 'messages.send')).toBe(false);
    const all = {
      kind: 'credential',
      tenantId: 1,
      scopes: ['send', 'read', 'templates', 'billing', 'webhooks'],
    } as const;
    for (const p of Object.keys(PERMISSIONS) as Permission[])
      expect({ p, allowed: allows(all, p) }).toEqual({ p, allowed: scopeFor(p) !== null });
    expect(scopeFor('credentials.manage')).toBeNull();
    expect(scopeFor('account.self')).toBeNull();
    for (const p of Object.keys(PERMISSIONS) as Permission[])
      if (isStaffOnly(p)) expect(scopeFor(p)).toBeNull();
  });

  it('lets an admin manage every role but owner, and only owners and admins manage', () => {
    expect(canManageRole('owner', 'owner')).toBe(true);
    expect(canManageRole('admin', 'developer')).toBe(true);
    expect(canManageRole('admin', 'owner')).toBe(false);
    expect(canManageRole('developer', 'viewer')).toBe(false);
  });

  it('recognises declared permissions and "public" only', () => {
    expect(isPermission('messages.send')).toBe(true);
    expect(isPermission('public')).toBe(true);
    expect(isPermission('toString')).toBe(false);
    expect(isPermission(undefined)).toBe(false);
  });

  it('docs/permissions.md is generated from the table (npm run docs:permissions)', () => {
    const doc = readFileSync(new URL('../../../docs/permissions.md', import.meta.url), 'utf8');
    expect(doc).toBe(renderPermissionsDoc());
  });
});
