// The one permission table: which roles may do what. Every /v1 route names one permission in its
// route config (`config: { permission: 'messages.send' }`) and one pre-handler (src/http/auth.ts)
// checks it against this table; docs/permissions.md is generated from it. A permission names the
// credential scope that grants it to a signed API credential; one that names none is closed to
// credentials, so a new route is never open to them by accident.
import type { Scope } from '../credentials/credentials.models.ts';

export const TENANT_ROLES = ['owner', 'admin', 'developer', 'sender', 'finance', 'viewer'] as const;
export const STAFF_ROLES = ['admin', 'reviewer', 'support'] as const;
export type TenantRole = (typeof TENANT_ROLES)[number];
export type StaffRole = (typeof STAFF_ROLES)[number];

interface Grant {
  doc: string;
  tenant: readonly TenantRole[];
  staff: readonly StaffRole[];
  /** The scope that grants this permission to a signed credential (none: credentials never hold it). */
  scope?: Scope;
}

const everyTenantRole = TENANT_ROLES;
const readers = ['owner', 'admin', 'developer', 'sender', 'viewer'] as const;

export const PERMISSIONS = {
  'account.self': {
    doc: 'Own account: who am I, log out, change own password, set up or remove own two-factor.',
    tenant: everyTenantRole,
    staff: STAFF_ROLES,
  },
  'messages.send': {
    doc: 'Send single and batch messages; cancel scheduled ones.',
    tenant: ['owner', 'admin', 'developer', 'sender'],
    staff: [],
    scope: 'send',
  },
  'messages.read': {
    doc: 'Read messages, batches and their states.',
    tenant: readers,
    staff: [],
    scope: 'read',
  },
  'replies.read': {
    doc: 'Read replies (MO) from handsets.',
    tenant: readers,
    staff: [],
    scope: 'read',
  },
  'messages.read_full_numbers': {
    doc: "See recipients' and repliers' full phone numbers in messages and replies; without it they read 138****8000.",
    tenant: ['owner', 'admin', 'developer', 'sender'],
    staff: [],
    scope: 'read',
  },
  'messages.export': {
    doc: "Export messages as CSV or XLSX (GET /v1/messages/export, `format=xlsx`; the filters of GET /v1/messages, `template_id` among them), with full numbers where the role may see them; audited. Not for API keys or credentials: a bulk copy of personal data is an accountable person's act.",
    tenant: ['owner', 'admin'],
    staff: [],
  },
  'signatures.read': {
    doc: "Read the tenant's signatures (签名): status, rejection reason, extension code, when a decision is due.",
    tenant: readers,
    staff: [],
    scope: 'read',
  },
  'signatures.manage': {
    doc: 'Apply for signatures, edit and resubmit rejected ones, choose the default, delete.',
    tenant: ['owner', 'admin', 'developer'],
    staff: [],
  },
  'templates.read': {
    doc: "Read the tenant's templates (模板), their status, reason and the rules engine's findings.",
    tenant: readers,
    staff: [],
    scope: 'read',
  },
  'templates.manage': {
    doc: 'Submit templates, edit and resubmit rejected ones, delete (an approved one stops being usable at once).',
    tenant: ['owner', 'admin', 'developer'],
    staff: [],
  },
  'members.read': {
    doc: "List the tenant's members and their roles.",
    tenant: ['owner', 'admin'],
    staff: [],
  },
  'members.manage': {
    doc: 'Add and remove members, change roles, issue reset codes (an admin cannot touch an owner).',
    tenant: ['owner', 'admin'],
    staff: [],
  },
  'credentials.manage': {
    doc: 'Create, rotate and revoke API credentials.',
    tenant: ['owner', 'admin', 'developer'],
    staff: [],
  },
  'webhooks.read': {
    doc: "Read the tenant's webhook endpoints (never their secrets) and deliveries with each attempt.",
    tenant: ['owner', 'admin', 'developer'],
    staff: [],
    scope: 'webhooks',
  },
  'webhooks.manage': {
    doc: 'Register, change and delete webhook endpoints, rotate their secrets and the callback secret, replay deliveries.',
    tenant: ['owner', 'admin', 'developer'],
    staff: [],
    scope: 'webhooks',
  },
  'audit.read': {
    doc: "Read the tenant's own audit log.",
    tenant: ['owner', 'admin'],
    staff: [],
  },
  'tenant.read': {
    doc: "Read the tenant's profile, application status and qualification documents.",
    tenant: everyTenantRole,
    staff: [],
  },
  'tenant.manage': {
    doc: 'Edit the profile, upload qualification documents, resubmit a rejected application.',
    tenant: ['owner', 'admin'],
    staff: [],
  },
  'contacts.read': {
    doc: "Read the tenant's contacts (marked when opted out or blacklisted), groups, segments and imports.",
    tenant: readers,
    staff: [],
    scope: 'read',
  },
  'contacts.manage': {
    doc: 'Create, change, delete and bulk-upsert contacts; manage groups and segments; import contacts from CSV or XLSX.',
    tenant: ['owner', 'admin', 'developer', 'sender'],
    staff: [],
    scope: 'send',
  },
  'contacts.export': {
    doc: "Export the tenant's contacts as CSV or XLSX (syncing with the tenant's own CRM).",
    tenant: ['owner', 'admin', 'developer'],
    staff: [],
    scope: 'read',
  },
  'operator.reviews.read': {
    doc: "The tenant review queue; read a tenant's application and documents.",
    tenant: [],
    staff: ['admin', 'reviewer'],
  },
  'operator.reviews.decide': {
    doc: "Approve or reject a tenant's application.",
    tenant: [],
    staff: ['admin', 'reviewer'],
  },
  'operator.tenants.read': {
    doc: 'List tenants.',
    tenant: [],
    staff: STAFF_ROLES,
  },
  'operator.tenants.manage': {
    doc: "Create, suspend and reactivate tenants; require two-factor of a tenant's members.",
    tenant: [],
    staff: ['admin'],
  },
  'operator.security.manage': {
    doc: 'Platform security switches (two-factor required of all staff).',
    tenant: [],
    staff: ['admin'],
  },
  'operator.staff.manage': {
    doc: 'List operator staff, add them, change their roles and remove them (never the last admin).',
    tenant: [],
    staff: ['admin'],
  },
  'compliance.lists.read': {
    doc: "Read the tenant's blacklist, allowlist and opt-outs (numbers masked without messages.read_full_numbers).",
    tenant: readers,
    staff: [],
    scope: 'read',
  },
  'compliance.lists.manage': {
    doc: "Add to and remove from the tenant's blacklist, allowlist and opt-outs; import them (CSV).",
    tenant: ['owner', 'admin', 'developer'],
    staff: [],
  },
  'compliance.lists.export': {
    doc: "Export the tenant's blacklist, allowlist and opt-outs as CSV. Not for API keys or credentials: a bulk copy of personal data.",
    tenant: ['owner', 'admin'],
    staff: [],
  },
  'operator.compliance.read': {
    doc: 'Read the platform blacklist, recipient-protection settings and the content rule sets; export their words; check a text against the rules.',
    tenant: [],
    staff: STAFF_ROLES,
  },
  'operator.compliance.manage': {
    doc: "Edit the platform blacklist and recipient-protection settings; change a content rule set's severity, switch it off, add, remove and import its words.",
    tenant: [],
    staff: ['admin', 'reviewer'],
  },
  'billing.read': {
    doc: 'Read the balance, packages on sale, orders, the low-balance flag and usage statements (JSON, CSV, XLSX).',
    tenant: ['owner', 'admin', 'finance'],
    staff: [],
    scope: 'billing',
  },
  'billing.order': {
    doc: 'Order a quota package or cancel an unpaid order; set the low-balance threshold.',
    tenant: ['owner', 'finance'],
    staff: [],
  },
  'operator.billing.read': {
    doc: "Packages, prices, every tenant's orders and statements with channel cost and margin.",
    tenant: [],
    staff: ['admin', 'support'],
  },
  'operator.billing.manage': {
    doc: "Define packages and prices, confirm an order's payment (credits it) or cancel it, adjust a balance with a reason.",
    tenant: [],
    staff: ['admin'],
  },
  'operator.compliance.review': {
    doc: 'Review signatures and templates: approve or reject with a reason.',
    tenant: [],
    staff: ['admin', 'reviewer'],
  },
  'operator.marketing_reviews.read': {
    doc: 'The queue of marketing batches awaiting the second review.',
    tenant: [],
    staff: ['admin', 'reviewer'],
  },
  'operator.marketing_reviews.decide': {
    doc: 'Approve (release) or reject a marketing batch in review.',
    tenant: [],
    staff: ['admin', 'reviewer'],
  },
  'operator.channels.read': {
    doc: 'Carrier channels (what each covers, carries and costs), the route table, ported-number overrides; test the route of a number.',
    tenant: [],
    staff: STAFF_ROLES,
  },
  'operator.channels.manage': {
    doc: 'Add, change, enable, disable and remove carrier channels; edit the route table and ported-number overrides.',
    tenant: [],
    staff: ['admin'],
  },
  'operator.audit.read': {
    doc: 'Read the whole audit log.',
    tenant: [],
    staff: ['admin'],
  },
} as const satisfies Record<string, Grant>;

export type Permission = keyof typeof PERMISSIONS;
/** Routes anyone may call (login itself). Declared explicitly so a forgotten declaration is never public. */
export const PUBLIC = 'public';
export type RoutePermission = Permission | typeof PUBLIC;

/**
 * Bearer API keys act as a developer and a sender until credentials get scopes (H3): the routes the
 * core's keys could call keep working.
 */
export const API_KEY_ROLES: readonly TenantRole[] = ['developer', 'sender'];

export type Actor =
  | { kind: 'key'; tenantId: number }
  | { kind: 'credential'; tenantId: number; scopes: readonly string[] }
  | { kind: 'member'; tenantId: number; role: TenantRole }
  | { kind: 'staff'; role: StaffRole };

export function isPermission(value: unknown): value is RoutePermission {
  return value === PUBLIC || (typeof value === 'string' && Object.hasOwn(PERMISSIONS, value));
}

export function allows(actor: Actor, permission: Permission): boolean {
  const grant: Grant = PERMISSIONS[permission];
  if (actor.kind === 'staff') return grant.staff.includes(actor.role);
  if (actor.kind === 'credential') return grant.scope !== undefined && actor.scopes.includes(grant.scope);
  const roles = actor.kind === 'key' ? API_KEY_ROLES : [actor.role];
  return roles.some((r) => grant.tenant.includes(r));
}

/** The scope a signed credential needs for a permission; null when no scope grants it. */
export function scopeFor(permission: Permission): Scope | null {
  return (PERMISSIONS[permission] as Grant).scope ?? null;
}

/** Operator routes are staff-only: no tenant role may hold their permissions. */
export function isStaffOnly(permission: Permission): boolean {
  return PERMISSIONS[permission].tenant.length === 0;
}

/**
 * Who may give or take which role: an owner manages everyone, an admin everyone but owners (and
 * cannot make one); nobody else manages members.
 */
export function canManageRole(actorRole: TenantRole, targetRole: TenantRole): boolean {
  if (actorRole === 'owner') return true;
  if (actorRole === 'admin') return targetRole !== 'owner';
  return false;
}

export function renderPermissionsDoc(): string {
  const header = [
    '# Permissions',
    '',
    'Generated from `src/modules/accounts/permissions.models.ts` by `npm run docs:permissions`; a test',
    'keeps this page equal to the table. Every `/v1` route declares one permission and is refused (403,',
    '`auth.forbidden`) to a principal whose role lacks it. Bearer API keys hold the permissions of',
    `${API_KEY_ROLES.join(' and ')}. Tenant roles: ${TENANT_ROLES.join(', ')}. Operator staff roles: ${STAFF_ROLES.join(', ')}.`,
    '',
    'Signed API credentials (docs/api-signing.md) hold a permission only through the scope it names;',
    'a permission with no scope is closed to them (403, `auth.scope_denied`).',
    '',
    '| permission | tenant roles | staff roles | credential scope | what it allows |',
    '| --- | --- | --- | --- | --- |',
  ];
  const rows = Object.entries(PERMISSIONS).map(([name, g]: [string, Grant]) => {
    const list = (roles: readonly string[]) => (roles.length ? roles.join(', ') : '—');
    return `| \`${name}\` | ${list(g.tenant)} | ${list(g.staff)} | ${g.scope ? `\`${g.scope}\`` : '—'} | ${g.doc} |`;
  });
  return `${[...header, ...rows].join('\n')}\n`;
}
