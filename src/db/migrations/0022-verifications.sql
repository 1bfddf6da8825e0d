-- OTP verification (issue 11): codes Hongyan generates, sends through the normal intake and
-- checks. A code is stored as HMAC-SHA256 keyed by a random per-row salt (compared in constant
-- time) and, only while it is live, sealed with the master key so that a resend inside its TTL
-- carries the same code; the sealed copy is cleared when the code dies.
create table verifications (
  id bigint generated always as identity primary key,
  tenant_id bigint not null references tenants (id),
  recipient text not null,
  purpose text not null,
  status text not null check (status in ('pending', 'approved', 'expired', 'max_attempts')),
  code_salt bytea not null,
  code_hash bytea not null,
  code_sealed text,
  code_length smallint not null check (code_length between 4 and 8),
  language text not null,
  template_id bigint,
  attempts smallint not null default 0,
  sends smallint not null default 1,
  last_message_id bigint,
  expires_at timestamptz not null,
  last_sent_at timestamptz not null,
  approved_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- One live code per (tenant, number, purpose).
create unique index verifications_live on verifications (tenant_id, recipient, purpose) where status = 'pending';
create index verifications_lookup on verifications (tenant_id, recipient, purpose, id);
create index verifications_tenant on verifications (tenant_id, id);

-- Every message a verification sent (first send and resends): the pumping protection counts the
-- recent ones whose verification was never approved, per tenant and per number prefix. The
-- window bounds what it reads, and the limit bounds what the window can hold.
create table verification_sends (
  id bigint generated always as identity primary key,
  verification_id bigint not null references verifications (id),
  tenant_id bigint not null,
  prefix text not null,
  message_id bigint not null,
  sent_at timestamptz not null
);
create index verification_sends_tenant on verification_sends (tenant_id, sent_at);
create index verification_sends_prefix on verification_sends (tenant_id, prefix, sent_at);
create index verification_sends_verification on verification_sends (verification_id);
