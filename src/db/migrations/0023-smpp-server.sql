-- The SMPP server for customers (issue 11): a tenant's SMPP accounts, which messages came in over
-- SMPP (they get their receipts back as deliver_sm), and the outbox of deliver_sm owed to each
-- account. Receipts and replies are written by triggers in the same transaction as the change they
-- report, so a node that crashes after a message became final still owes its receipt; installs
-- without an SMPP account pay one probe of an empty table per statement.

create table smpp_accounts (
  id bigint generated always as identity primary key,
  tenant_id bigint not null references tenants (id),
  -- SMPP 3.4 limits: system_id 15 characters, password 8.
  system_id text not null unique check (system_id ~ '^[A-Za-z0-9_-]{1,15}$'),
  -- argon2id of the password (shown once at creation).
  password_hash text not null,
  allow_cidrs text[] not null default '{}',
  -- Submits outstanding at once on this account (per node) and submits per second (per node).
  window_size integer not null default 50 check (window_size between 1 and 10000),
  max_tps integer not null default 100 check (max_tps between 1 and 1000000),
  -- Replies (MO) of the tenant go to this account's receiver binds.
  receive_replies boolean not null default true,
  created_at timestamptz not null default now(),
  disabled_at timestamptz,
  last_bind_at timestamptz,
  last_bind_address text
);
create index smpp_accounts_tenant on smpp_accounts (tenant_id, id);

-- One row per message accepted over SMPP: the addresses as the customer wrote them (the receipt
-- goes back with them swapped) and what registered_delivery asked for.
create table smpp_server_messages (
  message_id bigint primary key,
  account_id bigint not null references smpp_accounts (id),
  registered_delivery smallint not null,
  source_addr text not null,
  source_ton smallint not null,
  source_npi smallint not null,
  dest_addr text not null,
  dest_ton smallint not null,
  dest_npi smallint not null,
  created_at timestamptz not null default now()
);

-- deliver_sm owed to an account, in id order. A node with a receiver bind of the account claims
-- pending rows (a lease, committed before any network I/O), sends them, and marks them delivered
-- on deliver_sm_resp ESME_ROK; an error or no answer puts them back with a backoff.
create table smpp_server_outbox (
  id bigint generated always as identity primary key,
  account_id bigint not null references smpp_accounts (id),
  kind text not null check (kind in ('receipt', 'reply')),
  message_id bigint,
  reply_id bigint,
  payload jsonb not null,
  state text not null default 'pending' check (state in ('pending', 'delivered')),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  leased_by text,
  leased_until timestamptz,
  last_error text,
  created_at timestamptz not null default now(),
  delivered_at timestamptz
);
create index smpp_server_outbox_pending on smpp_server_outbox (account_id, id) where state = 'pending';
create index smpp_server_outbox_delivered on smpp_server_outbox (delivered_at) where state = 'delivered';

-- Whether registered_delivery (bits 0-1) asks for a receipt of this final status:
-- 1 every final outcome, 2 failures only.
create function smpp_server_wants_receipt(registered_delivery smallint, status text) returns boolean
language sql immutable as $$
  select case registered_delivery & 3
           when 1 then true
           when 2 then status <> 'delivered'
           else false end
$$;

create function smpp_server_receipt_payload(m messages, s smpp_server_messages) returns jsonb
language sql stable as $$
  select jsonb_build_object(
    'message_id', m.id::text, 'status', m.status, 'error_code', m.error_code, 'parts', m.parts,
    'submit_date', m.created_at, 'done_date', coalesce(m.done_at, m.updated_at),
    'text', left(m.content, 20),
    'source_addr', s.dest_addr, 'source_ton', s.dest_ton, 'source_npi', s.dest_npi,
    'dest_addr', s.source_addr, 'dest_ton', s.source_ton, 'dest_npi', s.source_npi)
$$;

-- A message of an SMPP customer became final: its receipt is owed.
create function smpp_server_follow_messages() returns trigger language plpgsql as $$
begin
  if not exists (select 1 from smpp_accounts) then
    return null;
  end if;
  -- EXECUTE: planned for each statement's own row count (a plan cached from a one-row first
  -- call would join the transition tables by nested loop; see 0021-billing-capture.sql).
  execute $q$
    insert into smpp_server_outbox (account_id, kind, message_id, payload)
    select s.account_id, 'receipt', n.id, smpp_server_receipt_payload(n, s)
      from new_rows n
      join old_rows o on o.id = n.id
      join smpp_server_messages s on s.message_id = n.id
     where n.status is distinct from o.status
       and n.status in ('delivered', 'undelivered', 'expired', 'rejected', 'failed', 'unknown', 'canceled')
       and smpp_server_wants_receipt(s.registered_delivery, n.status)
     order by n.id
  $q$;
  return null;
end $$;
create trigger smpp_server_follow_messages after update on messages
  referencing old table as old_rows new table as new_rows
  for each statement execute function smpp_server_follow_messages();

-- A message recorded as SMPP's after it was already final (the row is locked while recorded, so
-- exactly one of the two triggers sees the final status): its receipt is owed at once.
create function smpp_server_follow_recorded() returns trigger language plpgsql as $$
begin
  insert into smpp_server_outbox (account_id, kind, message_id, payload)
  select s.account_id, 'receipt', m.id, smpp_server_receipt_payload(m, s)
    from new_rows s
    join messages m on m.id = s.message_id
   where m.status in ('delivered', 'undelivered', 'expired', 'rejected', 'failed', 'unknown', 'canceled')
     and smpp_server_wants_receipt(s.registered_delivery, m.status)
   order by m.id;
  return null;
end $$;
create trigger smpp_server_follow_recorded after insert on smpp_server_messages
  referencing new table as new_rows
  for each statement execute function smpp_server_follow_recorded();

-- A reply attributed to a tenant goes to each of its enabled accounts that takes replies.
create function smpp_server_follow_replies() returns trigger language plpgsql as $$
begin
  if not exists (select 1 from smpp_accounts) then
    return null;
  end if;
  insert into smpp_server_outbox (account_id, kind, reply_id, payload)
  select a.id, 'reply', n.id,
         jsonb_build_object('reply_id', n.id::text, 'from', n.sender, 'to', n.destination, 'content', n.content)
    from new_rows n
    join smpp_accounts a on a.tenant_id = n.tenant_id and a.disabled_at is null and a.receive_replies
   order by n.id, a.id;
  return null;
end $$;
create trigger smpp_server_follow_replies after insert on inbound_messages
  referencing new table as new_rows
  for each statement execute function smpp_server_follow_replies();

-- Wakes the node holding the account's receiver bind (other nodes poll as a fallback).
create function smpp_server_notify_outbox() returns trigger language plpgsql as $$
declare
  accounts text;
begin
  select string_agg(distinct account_id::text, ',') into accounts from new_rows;
  if accounts is not null then
    perform pg_notify('smpp_server_outbox', left(accounts, 7000));
  end if;
  return null;
end $$;
create trigger smpp_server_notify_outbox after insert on smpp_server_outbox
  referencing new table as new_rows
  for each statement execute function smpp_server_notify_outbox();
