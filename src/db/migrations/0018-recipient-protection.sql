-- Recipient protection (issue 8): opt-outs from replies, platform and tenant blacklists, an
-- allowlist of test numbers exempt from frequency caps, each tenant's protection settings, the
-- opt-out keywords, and marketing batches' second review. The frequency caps keep no table of
-- their own: they count each recipient's recent rows of `messages` (index messages_recipient).
-- Numbers are E.164 text, as messages.recipient: a batch is checked with one `= any($1)` index
-- look-up per list, never a scan.

-- Keywords a whole reply must equal (after trim, case and width folding) to opt out or back in.
-- The operator edits them; the rows here are the defaults (seed 000, the clouds' TD/T/N/R).
create table opt_keywords (
  keyword text primary key,
  action text not null check (action in ('out', 'in'))
);
insert into opt_keywords (keyword, action) values
  ('TD', 'out'), ('T', 'out'), ('N', 'out'), ('R', 'out'), ('退订', 'out'), ('取消', 'out'),
  ('退订短信', 'out'), ('拒收', 'out'), ('STOP', 'out'), ('UNSUBSCRIBE', 'out'), ('QUIT', 'out'),
  ('END', 'out'), ('CANCEL', 'out'), ('STOPALL', 'out'),
  ('START', 'in'), ('UNSTOP', 'in'), ('YES', 'in'), ('订阅', 'in'), ('恢复', 'in');

-- A number that opted out of a tenant. signature_id: the signature it replied to (via the most
-- recent message the tenant sent it), kept as a record; the opt-out covers the whole tenant.
create table opt_outs (
  tenant_id bigint not null references tenants (id),
  phone text not null,
  signature_id bigint,
  source text not null check (source in ('reply', 'api', 'import')),
  inbound_id bigint,
  created_at timestamptz not null,
  primary key (tenant_id, phone)
);

-- Every opt-out and opt-in, kept so that repeated opt-outs can be counted (seed 000).
create table opt_out_events (
  id bigint generated always as identity primary key,
  tenant_id bigint not null,
  phone text not null,
  action text not null check (action in ('out', 'in')),
  signature_id bigint,
  at timestamptz not null
);
create index opt_out_events_phone on opt_out_events (phone, at);

create table platform_blacklist (
  phone text primary key,
  reason text not null check (reason in ('complaint', 'carrier_list', 'repeated_opt_out', 'other')),
  note text,
  created_at timestamptz not null
);

create table tenant_blacklist (
  tenant_id bigint not null references tenants (id),
  phone text not null,
  reason text not null check (reason in ('complaint', 'carrier_list', 'repeated_opt_out', 'other')),
  note text,
  created_at timestamptz not null,
  primary key (tenant_id, phone)
);

-- Test numbers of a tenant: exempt from frequency caps (not from blacklists or opt-outs).
create table tenant_allowlist (
  tenant_id bigint not null references tenants (id),
  phone text not null,
  note text,
  created_at timestamptz not null,
  primary key (tenant_id, phone)
);

-- A tenant's protection settings (frequency caps, quiet hours); null fields take the defaults
-- in protection.models.ts. Written by the operator.
create table protection_settings (
  tenant_id bigint primary key references tenants (id),
  settings jsonb not null,
  updated_at timestamptz not null
);

-- Marketing batches wait for an operator's second review (seed 002). Their messages are held
-- with no send_at (the scheduler never releases them) until approved or rejected.
create table marketing_reviews (
  batch_id bigint primary key references batches (id),
  tenant_id bigint not null references tenants (id),
  status text not null check (status in ('pending', 'approved', 'rejected')),
  submitted_at timestamptz not null,
  expected_by timestamptz not null,
  decided_at timestamptz,
  decided_by text,
  reason text
);
create index marketing_reviews_pending on marketing_reviews (submitted_at, batch_id) where status = 'pending';
