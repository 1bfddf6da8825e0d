-- Accounts and security: tenant members and operator staff with roles, server-side sessions,
-- TOTP two-factor with recovery codes, login failure counters (backoff and lockout), and an
-- append-only audit log.

-- Onboarding (a later issue) adds self-registered tenants awaiting review; operator-created
-- tenants start active. require_two_factor: the operator demands 2FA of every member.
alter table tenants drop constraint tenants_status_check;
alter table tenants
  add constraint tenants_status_check check (status in ('pending_review', 'active', 'rejected', 'suspended')),
  add column require_two_factor boolean not null default false;

-- Staff roles; the first-start `admin` is an admin. TOTP columns are the same on both tables:
-- totp_secret is the confirmed secret (base32), totp_pending_secret one shown but not yet
-- confirmed, totp_last_step the last time step accepted (a code is never accepted twice).
alter table operators
  add column role text not null default 'admin' check (role in ('admin', 'reviewer', 'support')),
  add column totp_secret text,
  add column totp_pending_secret text,
  add column totp_last_step bigint,
  add column password_changed_at timestamptz;

create table members (
  id bigint generated always as identity primary key,
  tenant_id bigint not null references tenants (id),
  -- Login name; unique over the whole platform because login does not name the tenant.
  email text not null,
  role text not null check (role in ('owner', 'admin', 'developer', 'sender', 'finance', 'viewer')),
  -- Null until the member sets one with a reset code.
  password_hash text,
  -- One-time reset code (SHA-256; 128 random bits, so a slow hash buys nothing), and its expiry.
  reset_code_hash bytea,
  reset_code_expires_at timestamptz,
  totp_secret text,
  totp_pending_secret text,
  totp_last_step bigint,
  password_changed_at timestamptz,
  created_at timestamptz not null default now()
);
create unique index members_email on members (lower(email));
create index members_tenant on members (tenant_id, id);

-- Platform-wide security switches (one row).
create table security_settings (
  id boolean primary key default true check (id),
  staff_require_two_factor boolean not null default false
);
insert into security_settings default values;

-- A session is found by the SHA-256 of its 256-bit random id; the id itself is only in the
-- client's cookie. stage 'challenge': password accepted, TOTP code awaited (no cookie yet);
-- 'enrol': 2FA is required and not set up, so only the account's own routes are open;
-- 'active': a full session.
create table sessions (
  id_hash bytea primary key,
  subject_kind text not null check (subject_kind in ('member', 'staff')),
  subject_id bigint not null,
  tenant_id bigint references tenants (id),
  stage text not null check (stage in ('challenge', 'enrol', 'active')),
  csrf_hash bytea not null,
  ip text,
  created_at timestamptz not null,
  last_seen_at timestamptz not null,
  expires_at timestamptz not null
);
create index sessions_subject on sessions (subject_kind, subject_id);
-- Expired sessions are deleted at each login (sessions.repository.ts pruneSessions).
create index sessions_expiry on sessions (expires_at);

create table recovery_codes (
  id bigint generated always as identity primary key,
  subject_kind text not null check (subject_kind in ('member', 'staff')),
  subject_id bigint not null,
  code_hash bytea not null,
  used_at timestamptz
);
create index recovery_codes_subject on recovery_codes (subject_kind, subject_id);

-- Consecutive login failures per account ('account', 'member:<email>' or 'staff:<username>') and
-- per client address ('address', ip). The backoff and lockout rules are in sessions.models.ts.
create table login_failures (
  scope text not null check (scope in ('account', 'address')),
  key text not null,
  failures integer not null,
  last_failure_at timestamptz not null,
  locked_until timestamptz,
  primary key (scope, key)
);
-- Counters older than the lockout period are forgotten; each failure deletes some, so guessed
-- logins cannot grow the table without bound.
create index login_failures_stale on login_failures (last_failure_at);

create table audit_log (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  -- 'member:12', 'staff:1', 'key:<key id>', or 'anonymous' (a failed login names its target).
  actor text not null,
  tenant_id bigint,
  action text not null,
  target text,
  before jsonb,
  after jsonb,
  ip text
);
create index audit_log_tenant on audit_log (tenant_id, id);

-- Nobody edits or deletes an audit row through the product: the database refuses it.
create function audit_log_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'audit_log is append-only' using errcode = '42501';
end $$;
create trigger audit_log_no_update before update or delete on audit_log
  for each row execute function audit_log_append_only();
create trigger audit_log_no_truncate before truncate on audit_log
  for each statement execute function audit_log_append_only();
