-- The webhook and SMPP-server triggers on messages return before planning their query when no row
-- of the statement can be an event (issue 6: where the time of a single send went; migration 0034
-- did the same for billing).
--
-- Both run their query with EXECUTE (planned for each statement's own row counts, see 0021), and
-- planning it costs a few milliseconds on every statement that updates messages once a tenant has
-- a webhook endpoint, or once any SMPP account exists: every claim (queued -> sending), every
-- recorder statement. Most of those cannot produce an event: a claim's rows are all `sending`, a
-- recorder statement's are `sent` (an event for webhooks, never a receipt for SMPP customers). A
-- scan of new_rows alone, planned once, now returns first when no row has a status the query would
-- keep; the query and what it writes are unchanged.

create or replace function webhooks_follow_messages() returns trigger language plpgsql as $$
begin
  if not exists (select 1 from new_rows
                  where status in ('sent', 'delivered', 'undelivered', 'expired', 'rejected', 'failed', 'unknown', 'canceled')) then
    return null;
  end if;
  if not exists (select 1 from webhook_endpoints where enabled and deleted_at is null and 'message.status' = any (events))
     and not exists (select 1 from new_rows where callback_url is not null) then
    return null;
  end if;
  -- EXECUTE: planned for each statement's own row counts (see 0021-billing-capture.sql).
  execute $q$
    with subscribed as materialized (
      select w.id as endpoint_id, w.tenant_id from webhook_endpoints w
       where w.enabled and w.deleted_at is null and 'message.status' = any (w.events)
    ),
    changed as materialized (
      select nextval('webhook_event_ids') as event_id, c.*
        from (select n.id, n.tenant_id, n.callback_url, n.updated_at,
                     jsonb_build_object('message_id', n.id::text, 'status', n.status, 'to', n.recipient,
                       'client_ref', n.client_ref, 'batch_id', n.batch_id::text, 'parts', n.parts,
                       'error', case when n.error_code is null then null
                                     else jsonb_build_object('code', n.error_code, 'detail', n.error_detail) end,
                       'at', n.updated_at) as data
                from new_rows n join old_rows o on o.id = n.id
               where n.status is distinct from o.status
                 and n.status in ('sent', 'delivered', 'undelivered', 'expired', 'rejected', 'failed', 'unknown', 'canceled')
                 and (n.callback_url is not null or n.tenant_id in (select tenant_id from subscribed))
               order by n.id) c
    )
    insert into webhook_deliveries (tenant_id, endpoint_id, callback_url, event_id, event_type, message_id, payload,
      created_at, next_attempt_at)
    select d.tenant_id, d.endpoint_id, d.callback_url, d.event_id, 'message.status', d.id,
           jsonb_build_object('id', 'evt_' || d.event_id, 'type', 'message.status', 'created_at', d.updated_at,
             'data', d.data),
           d.updated_at, d.updated_at
      from (select c.event_id, c.tenant_id, s.endpoint_id, null::text as callback_url, c.id, c.data, c.updated_at
              from changed c join subscribed s on s.tenant_id = c.tenant_id
            union all
            select c.event_id, c.tenant_id, null, c.callback_url, c.id, c.data, c.updated_at
              from changed c where c.callback_url is not null) d
  $q$;
  return null;
end $$;

create or replace function smpp_server_follow_messages() returns trigger language plpgsql as $$
begin
  if not exists (select 1 from smpp_accounts) then
    return null;
  end if;
  if not exists (select 1 from new_rows
                  where status in ('delivered', 'undelivered', 'expired', 'rejected', 'failed', 'unknown', 'canceled')) then
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
