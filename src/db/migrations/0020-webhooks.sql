-- Webhooks (issue 11): a tenant's endpoints, a per-message callback URL, and the outbox the
-- delivery worker reads. Every event is written by a trigger in the same transaction as the change
-- it reports, and only for tenants with an endpoint subscribed to it (or a message with its own
-- callback_url), so a tenant without webhooks pays one index probe per statement and nothing else.

-- A single message may carry its own status callback (Twilio's StatusCallback). Null for almost
-- every row: a null costs a bit in the row's null bitmap.
alter table messages add column callback_url text;

create table webhook_endpoints (
  id bigint generated always as identity primary key,
  tenant_id bigint not null references tenants (id),
  url text not null,
  events text[] not null,
  description text not null default '',
  -- AES-256-GCM under the master key (src/shared/secrets.ts); shown to the tenant once.
  secret_sealed text not null,
  enabled boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
create index webhook_endpoints_tenant on webhook_endpoints (tenant_id, id) where deleted_at is null;

-- The secret that signs per-message callback_url deliveries (one per tenant; rotated by the tenant).
create table webhook_callback_secrets (
  tenant_id bigint primary key references tenants (id),
  secret_sealed text not null,
  created_at timestamptz not null default now()
);

-- One event shared by every destination it goes to: receivers de-duplicate on its id.
create sequence webhook_event_ids;

-- The outbox: one row per (event, destination). `pending` rows are claimed by the worker (a lease,
-- committed before any network I/O), then `delivered`, or retried with backoff until `dead`.
-- Per message and destination, a row is sent only after every earlier pending row (in order).
create table webhook_deliveries (
  id bigint generated always as identity primary key,
  tenant_id bigint not null,
  endpoint_id bigint,
  callback_url text,
  event_id bigint not null,
  event_type text not null,
  message_id bigint,
  payload jsonb not null,
  state text not null default 'pending' check (state in ('pending', 'delivered', 'dead')),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  leased_until timestamptz,
  last_status integer,
  last_error text,
  attempt_ids bigint[] not null default '{}',
  replay_of bigint,
  created_at timestamptz not null default now(),
  done_at timestamptz,
  check ((endpoint_id is null) <> (callback_url is null))
);
create index webhook_deliveries_due on webhook_deliveries (next_attempt_at, id) where state = 'pending';
create index webhook_deliveries_order on webhook_deliveries (message_id, id)
  where state = 'pending' and message_id is not null;
create index webhook_deliveries_tenant on webhook_deliveries (tenant_id, id);

-- One row per POST (a POST carries many deliveries).
create table webhook_attempts (
  id bigint generated always as identity primary key,
  tenant_id bigint not null,
  endpoint_id bigint,
  url text not null,
  delivery_ids bigint[] not null,
  status_code integer,
  error text,
  duration_ms integer not null,
  at timestamptz not null
);

-- Writes the outbox rows for events of one tenant-owned kind. `events` holds one row per event
-- (tenant_id, message_id, callback_url, payload data, and `at`: the change's own time, written by the
-- application's clock where the row has one); the caller filtered it already.
create function webhook_enqueue(kind text, events jsonb) returns void language sql as $$
  with ev as materialized (
    select nextval('webhook_event_ids') as event_id, (e ->> 'tenant_id')::bigint as tenant_id,
           (e ->> 'message_id')::bigint as message_id, e ->> 'callback_url' as callback_url,
           e -> 'data' as data, coalesce((e ->> 'at')::timestamptz, now()) as at
      from jsonb_array_elements(events) e
  )
  insert into webhook_deliveries (tenant_id, endpoint_id, callback_url, event_id, event_type, message_id, payload,
    created_at, next_attempt_at)
  select ev.tenant_id, d.endpoint_id, d.callback_url, ev.event_id, kind, ev.message_id,
         jsonb_build_object('id', 'evt_' || ev.event_id, 'type', kind, 'created_at', ev.at, 'data', ev.data),
         ev.at, ev.at
    from ev
    cross join lateral (
      select w.id as endpoint_id, null::text as callback_url
        from webhook_endpoints w
       where w.tenant_id = ev.tenant_id and w.enabled and w.deleted_at is null and kind = any (w.events)
      union all
      select null, ev.callback_url where ev.callback_url is not null
    ) d
   order by ev.event_id;
$$;

-- message.status: the statuses a tenant acts on (the carrier took it, and every final state).
create function webhooks_follow_messages() returns trigger language plpgsql as $$
begin
  if not exists (select 1 from webhook_endpoints where enabled and deleted_at is null and 'message.status' = any (events))
     and not exists (select 1 from new_rows where callback_url is not null) then
    return null;
  end if;
  perform webhook_enqueue('message.status', coalesce(jsonb_agg(jsonb_build_object(
      'tenant_id', n.tenant_id, 'message_id', n.id, 'callback_url', n.callback_url, 'at', n.updated_at,
      'data', jsonb_build_object('message_id', n.id::text, 'status', n.status, 'to', n.recipient,
        'client_ref', n.client_ref, 'batch_id', n.batch_id::text, 'parts', n.parts,
        'error', case when n.error_code is null then null
                      else jsonb_build_object('code', n.error_code, 'detail', n.error_detail) end,
        'at', n.updated_at)) order by n.id), '[]'::jsonb))
    from new_rows n join old_rows o on o.id = n.id
   where n.status is distinct from o.status
     and n.status in ('sent', 'delivered', 'undelivered', 'expired', 'rejected', 'failed', 'unknown', 'canceled')
     and (n.callback_url is not null or exists (
       select 1 from webhook_endpoints w
        where w.tenant_id = n.tenant_id and w.enabled and w.deleted_at is null and 'message.status' = any (w.events)));
  return null;
end $$;
create trigger webhooks_follow_messages after update on messages
  referencing old table as old_rows new table as new_rows
  for each statement execute function webhooks_follow_messages();

-- message.reply: a reply attributed to a tenant.
create function webhooks_follow_replies() returns trigger language plpgsql as $$
begin
  if not exists (select 1 from webhook_endpoints where enabled and deleted_at is null and 'message.reply' = any (events)) then
    return null;
  end if;
  perform webhook_enqueue('message.reply', coalesce(jsonb_agg(jsonb_build_object(
      'tenant_id', n.tenant_id, 'at', n.received_at,
      'data', jsonb_build_object('reply_id', n.id::text, 'from', n.sender, 'to', n.destination,
        'content', n.content, 'received_at', n.received_at)) order by n.id), '[]'::jsonb))
    from new_rows n where n.tenant_id is not null;
  return null;
end $$;
create trigger webhooks_follow_replies after insert on inbound_messages
  referencing new table as new_rows
  for each statement execute function webhooks_follow_replies();

-- template.reviewed and signature.reviewed: a decision (approved or rejected) by the operator.
create function webhooks_follow_reviews() returns trigger language plpgsql as $$
declare
  kind text := case tg_table_name when 'templates' then 'template.reviewed' else 'signature.reviewed' end;
begin
  if not exists (select 1 from webhook_endpoints where enabled and deleted_at is null and kind = any (events)) then
    return null;
  end if;
  perform webhook_enqueue(kind, coalesce(jsonb_agg(jsonb_build_object(
      'tenant_id', n.tenant_id,
      'data', jsonb_build_object(case tg_table_name when 'templates' then 'template_id' else 'signature_id' end,
        n.id::text, 'name', n.name, 'status', n.status, 'reason', n.reason)) order by n.id), '[]'::jsonb))
    from (select n.* from new_rows n join old_rows o on o.id = n.id
           where n.status is distinct from o.status and n.status in ('approved', 'rejected')) n;
  return null;
end $$;
create trigger webhooks_follow_templates after update on templates
  referencing old table as old_rows new table as new_rows
  for each statement execute function webhooks_follow_reviews();
create trigger webhooks_follow_signatures after update on signatures
  referencing old table as old_rows new table as new_rows
  for each statement execute function webhooks_follow_reviews();

-- optout.added: every opt-out recorded (by reply, API or import).
create function webhooks_follow_opt_outs() returns trigger language plpgsql as $$
begin
  if not exists (select 1 from webhook_endpoints where enabled and deleted_at is null and 'optout.added' = any (events)) then
    return null;
  end if;
  perform webhook_enqueue('optout.added', coalesce(jsonb_agg(jsonb_build_object(
      'tenant_id', n.tenant_id, 'at', n.at,
      'data', jsonb_build_object('phone', n.phone, 'signature_id', n.signature_id::text, 'at', n.at))
      order by n.id), '[]'::jsonb))
    from new_rows n where n.action = 'out';
  return null;
end $$;
create trigger webhooks_follow_opt_outs after insert on opt_out_events
  referencing new table as new_rows
  for each statement execute function webhooks_follow_opt_outs();

-- balance.low: the billing event written with the one low-balance alert.
create function webhooks_follow_billing_events() returns trigger language plpgsql as $$
begin
  if not exists (select 1 from webhook_endpoints where enabled and deleted_at is null and 'balance.low' = any (events)) then
    return null;
  end if;
  perform webhook_enqueue('balance.low', coalesce(jsonb_agg(jsonb_build_object(
      'tenant_id', n.tenant_id, 'at', n.created_at, 'data', n.payload) order by n.id), '[]'::jsonb))
    from new_rows n where n.kind = 'low_balance';
  return null;
end $$;
create trigger webhooks_follow_billing_events after insert on billing_events
  referencing new table as new_rows
  for each statement execute function webhooks_follow_billing_events();
