-- Core schema: accounts (minimal), channels, messages (also the dispatch queue), batches,
-- idempotency keys, receipts that arrive before their submit_sm_resp, inbound replies, nodes.
-- Written for PostgreSQL 15 and newer (the embedded server is 18; CI also runs on 15).

create table operators (
  id bigint generated always as identity primary key,
  username text not null unique,
  password_hash text not null,
  created_at timestamptz not null default now()
);

create table tenants (
  id bigint generated always as identity primary key,
  name text not null,
  status text not null default 'active' check (status in ('active', 'suspended')),
  -- Extension code appended to a channel's source number; replies sent to it find the tenant.
  sender_code text unique,
  created_at timestamptz not null default now()
);

create table api_keys (
  id bigint generated always as identity primary key,
  tenant_id bigint not null references tenants (id),
  -- Public part of the key, used to find the row; the secret is stored only as a SHA-256 hash
  -- (keys are 256-bit random, so a slow password hash buys nothing and costs every request).
  key_id text not null unique,
  secret_hash bytea not null,
  name text not null default '',
  created_at timestamptz not null default now(),
  revoked_at timestamptz
);
create index api_keys_tenant on api_keys (tenant_id);

create table channels (
  id bigint generated always as identity primary key,
  name text not null unique,
  host text not null,
  port integer not null check (port between 1 and 65535),
  system_id text not null,
  password text not null default '',
  system_type text not null default '',
  bind_mode text not null default 'transceiver' check (bind_mode in ('transceiver', 'transmitter_receiver')),
  window_size integer not null default 50 check (window_size between 1 and 10000),
  max_tps integer not null default 1000 check (max_tps between 1 and 1000000),
  source_addr text not null default '106900',
  is_default boolean not null default false,
  enabled boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index channels_one_default on channels (is_default) where is_default;

create table nodes (
  id text primary key,
  roles text[] not null,
  hostname text not null,
  pid integer not null,
  started_at timestamptz not null default now(),
  seen_at timestamptz not null default now()
);

create table batches (
  id bigint generated always as identity primary key,
  tenant_id bigint not null references tenants (id),
  type text not null,
  content text not null,
  send_at timestamptz,
  total integer not null,
  accepted integer not null,
  rejected integer not null,
  canceled_at timestamptz,
  created_at timestamptz not null default now()
);
create index batches_tenant on batches (tenant_id, id);

-- One row per logical message. The row is also the queue entry: dispatchers claim
-- `status = 'queued'` rows with FOR UPDATE SKIP LOCKED. Every state has its own timestamp column so
-- that a transition is one in-place (HOT) update rather than an extra event row.
create table messages (
  id bigint generated always as identity primary key,
  tenant_id bigint not null,
  batch_id bigint,
  type text not null check (type in ('verification', 'notification', 'marketing')),
  -- 0 verification, 1 notification, 2 marketing: lower goes first.
  priority smallint not null,
  recipient text not null,
  content text not null,
  encoding text not null,
  parts smallint not null,
  client_ref text,
  status text not null,
  channel_id bigint,
  source_addr text,
  send_at timestamptz,
  next_attempt_at timestamptz not null default now(),
  attempts integer not null default 0,
  claimed_by text,
  duplicate_risk boolean not null default false,
  carrier_message_id text,
  parts_delivered smallint not null default 0,
  parts_failed smallint not null default 0,
  error_code text,
  error_detail text,
  created_at timestamptz not null default now(),
  held_at timestamptz,
  queued_at timestamptz,
  sending_at timestamptz,
  sent_at timestamptz,
  done_at timestamptz,
  canceled_at timestamptz,
  updated_at timestamptz not null default now()
) with (fillfactor = 85);

-- The dispatch queue: a skip scan over (priority, tenant) finds every tenant with work cheaply,
-- then each tenant's oldest due rows.
create index messages_queue on messages (priority, tenant_id, next_attempt_at, id) where status = 'queued';
create index messages_held on messages (send_at) where status = 'held';
create index messages_sending on messages (claimed_by) where status = 'sending';
create index messages_awaiting_receipt on messages (sent_at) where status = 'sent';
create index messages_carrier_id on messages (channel_id, carrier_message_id) where carrier_message_id is not null;
create index messages_tenant_created on messages (tenant_id, id);
create index messages_recipient on messages (recipient, id);
create index messages_batch on messages (batch_id, status) where batch_id is not null;
create index messages_client_ref on messages (tenant_id, client_ref) where client_ref is not null;

-- Carrier ids of the parts of multi-part messages (a single-part message keeps its id on the row).
create table message_parts (
  channel_id bigint not null,
  carrier_message_id text not null,
  message_id bigint not null,
  part_no smallint not null,
  -- Final receipt state of this part, once known; a repeated receipt for a part counts once.
  state text,
  primary key (channel_id, carrier_message_id)
);
create index message_parts_message on message_parts (message_id);

-- Receipts that matched no message yet: a carrier may send the receipt before the
-- submit_sm_resp, or before we recorded it. A sweeper retries them until they match or expire.
create table pending_receipts (
  id bigint generated always as identity primary key,
  channel_id bigint not null,
  carrier_message_id text not null,
  id_variants text[] not null,
  state text not null,
  error_code text,
  done_at timestamptz,
  received_at timestamptz not null default now()
);
create index pending_receipts_ids on pending_receipts using gin (id_variants);

create table idempotency_keys (
  tenant_id bigint not null,
  key text not null,
  request_hash bytea not null,
  status_code integer,
  response jsonb,
  created_at timestamptz not null default now(),
  primary key (tenant_id, key)
);

-- Replies (MO) from handsets.
create table inbound_messages (
  id bigint generated always as identity primary key,
  tenant_id bigint,
  channel_id bigint,
  sender text not null,
  destination text not null,
  content text not null,
  received_at timestamptz not null default now()
);
create index inbound_tenant on inbound_messages (tenant_id, id);
