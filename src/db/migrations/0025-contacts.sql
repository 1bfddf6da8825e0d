-- Contacts, groups, segments and imports (issue 12). Every table is per tenant; a phone is E.164
-- text, as messages.recipient and the protection lists (opt_outs, tenant_blacklist,
-- platform_blacklist), so marking a contact opted out or blacklisted is an index look-up per list.

create table contacts (
  id bigint generated always as identity primary key,
  tenant_id bigint not null references tenants (id),
  phone text not null,
  name text not null default '',
  -- Custom fields (template variables): string values only, keys chosen by the tenant.
  fields jsonb not null default '{}'::jsonb,
  tags text[] not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- Last delivery, click or reply to this phone for this tenant; kept by the engagement job
  -- (contacts.engagement.ts) from cursors over messages and replies, never by a trigger on them.
  last_engaged_at timestamptz,
  unique (tenant_id, phone)
);
create index contacts_tenant_id on contacts (tenant_id, id);
create index contacts_tags on contacts using gin (tags);
create index contacts_fields on contacts using gin (fields jsonb_path_ops);
create index contacts_engaged on contacts (tenant_id, last_engaged_at);

-- Static lists.
create table contact_groups (
  id bigint generated always as identity primary key,
  tenant_id bigint not null references tenants (id),
  name text not null,
  description text not null default '',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (tenant_id, name)
);

create table contact_group_members (
  group_id bigint not null references contact_groups (id) on delete cascade,
  contact_id bigint not null references contacts (id) on delete cascade,
  added_at timestamptz not null default now(),
  primary key (group_id, contact_id)
);
create index contact_group_members_contact on contact_group_members (contact_id);

-- Saved filters (contacts.models.ts: SegmentFilter), evaluated when used, never materialised.
create table contact_segments (
  id bigint generated always as identity primary key,
  tenant_id bigint not null references tenants (id),
  name text not null,
  filter jsonb not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (tenant_id, name)
);

-- An import job. The uploaded file is kept in contact_import_chunks (any node can run the job);
-- a worker claims a job with FOR UPDATE SKIP LOCKED and a lease it renews (heartbeat), commits
-- its counters, its error rows and its contacts in one transaction per chunk of rows, and a
-- worker that takes over after a crash resumes after rows_read.
create table contact_imports (
  id bigint generated always as identity primary key,
  tenant_id bigint not null references tenants (id),
  state text not null default 'running' check (state in ('running', 'completed', 'failed')),
  file_name text not null,
  format text not null check (format in ('csv', 'xlsx')),
  -- 'auto' (UTF-8 with or without BOM, else GB18030/GBK), 'utf-8' or 'gbk'.
  encoding text not null default 'auto',
  mapping jsonb not null,
  group_id bigint references contact_groups (id) on delete set null,
  file_bytes bigint not null,
  bytes_read bigint not null default 0,
  rows_read bigint not null default 0,
  accepted bigint not null default 0,
  invalid bigint not null default 0,
  duplicates bigint not null default 0,
  failure_reason text,
  claimed_by text,
  leased_until timestamptz,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  updated_at timestamptz not null default now(),
  finished_at timestamptz
);
create index contact_imports_tenant on contact_imports (tenant_id, id);
create index contact_imports_runnable on contact_imports (leased_until, id) where state = 'running';

-- The uploaded file in order, in pieces of about 1 MiB (stored as-is: most are already zipped
-- XLSX or compress poorly enough not to be worth the CPU).
create table contact_import_chunks (
  import_id bigint not null references contact_imports (id) on delete cascade,
  seq integer not null,
  data bytea not null,
  primary key (import_id, seq)
);
alter table contact_import_chunks alter column data set storage external;

-- Rows refused by an import, one per row (the downloadable error file).
create table contact_import_errors (
  import_id bigint not null references contact_imports (id) on delete cascade,
  row_number bigint not null,
  reason text not null check (reason in ('invalid', 'duplicate', 'missing_phone')),
  raw_phone text not null,
  detail text not null default '',
  primary key (import_id, row_number)
);

-- Phones an import has already seen, so a duplicate is found even across a worker restart.
-- Emptied when the job ends.
create table contact_import_seen (
  import_id bigint not null references contact_imports (id) on delete cascade,
  phone text not null,
  primary key (import_id, phone)
);

-- Where the engagement job stopped in each source ('messages', 'replies', 'clicks').
create table contact_engagement_cursors (
  source text primary key,
  last_id bigint not null default 0,
  updated_at timestamptz not null default now()
);
