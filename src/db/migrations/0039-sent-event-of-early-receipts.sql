-- The `sent` webhook event, and the capture, of a message that goes from `sending` straight to its
-- final state (issue 6 §3: where a single send's time goes).
--
-- A delivery receipt that arrives before the recorder writes its message's submit result is now
-- written with it (recordSubmitResults in src/modules/dispatch/dispatch.sql.ts): one update of the
-- row, `sending` -> delivered (or undelivered, ...), with sent_at set, instead of `sending` -> sent
-- and then sent -> delivered. A tenant subscribed to message.status must still see `sent` first:
-- for such a row this writes a `sent` event, with the payload the `sent` update would have made
-- (no error, `at` the sent_at), in a statement of its own before the final event's, so its event
-- id and its delivery ids are lower and the sender delivers it first (per message and destination,
-- in delivery id order).
--
-- Which rows: the old row was `sending`, the statement set sent_at, and the new status is final.
-- A cheap precheck of new_rows alone (a final row whose updated_at is its sent_at: only that
-- statement writes both with one time) skips the query for every other statement: claims,
-- `sent`-only recorder statements and receipt statements (whose updated_at is the receipt batch's
-- time) plan nothing more than before. Everything else is 0036's function unchanged.
--
-- Billing (0034's function, one change): such a message was taken by the carrier, so its ledger
-- reads as the two statements wrote it, a capture and then, if the receipt failed it, a refund of
-- the captured parts — not a refund of a reservation that was never captured, which is what a
-- submit the carrier refused writes. The sums are the same either way; the ledger's story is not.
-- A returned row with a sent_at and no capture can only be that: before, every message with a
-- sent_at was captured by the statement that set it.

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
  if exists (select 1 from new_rows
              where sent_at = updated_at
                and status in ('delivered', 'undelivered', 'expired', 'rejected', 'unknown')) then
    execute $q$
      with subscribed as materialized (
        select w.id as endpoint_id, w.tenant_id from webhook_endpoints w
         where w.enabled and w.deleted_at is null and 'message.status' = any (w.events)
      ),
      changed as materialized (
        select nextval('webhook_event_ids') as event_id, c.*
          from (select n.id, n.tenant_id, n.callback_url, n.sent_at as updated_at,
                       jsonb_build_object('message_id', n.id::text, 'status', 'sent', 'to', n.recipient,
                         'client_ref', n.client_ref, 'batch_id', n.batch_id::text, 'parts', n.parts,
                         'error', null, 'at', n.sent_at) as data
                  from new_rows n join old_rows o on o.id = n.id
                 where o.status = 'sending' and n.sent_at is distinct from o.sent_at
                   and n.status in ('delivered', 'undelivered', 'expired', 'rejected', 'unknown')
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

create or replace function billing_follow_messages() returns trigger language plpgsql as $$
begin
  if not (
       (exists (select 1 from new_rows where billing_charge_class(status) = 'captured')
        and exists (select 1 from old_rows where billing_charge_class(status) is distinct from 'captured'))
    or (exists (select 1 from new_rows where billing_charge_class(status) = 'returned')
        and exists (select 1 from old_rows where billing_charge_class(status) is distinct from 'returned'))
  ) then
    return null;
  end if;
  with e as (
    select n.id, r.tenant_id, r.batch_id, r.lot_id, r.units, k.captured,
           case
             when n.status in ('sent', 'delivered', 'unknown') then
               case when k.captured then null else 'capture' end
             when n.status = 'canceled'
               or (not k.captured and (n.error_code like 'compliance.%' or n.error_code like 'routing.%'))
               then 'release'
             when n.status in ('undelivered', 'rejected', 'failed', 'expired') then 'refund'
           end as kind,
           -- Sent and failed by its receipt in this one statement: captured first.
           (n.sent_at is not null and not k.captured) as taken
      from new_rows n
      cross join lateral (
        select r.tenant_id, r.batch_id, r.lot_id, r.units
          from billing_ledger r
         where r.message_id = n.id and r.kind = 'reserve'
        offset 0) r
      cross join lateral (
        select coalesce(bool_or(l.kind = 'capture'), false) as captured,
               coalesce(bool_or(l.kind in ('refund', 'release')), false) as returned
          from billing_ledger l where l.message_id = n.id and l.kind in ('capture', 'refund', 'release')) k
     where billing_charge_class(n.status) in ('captured', 'returned')
       and not k.returned
  ),
  charges as (
    select e.id, e.tenant_id, e.batch_id, e.lot_id, e.units, 'capture' as kind, 0 as available_delta,
           -e.units as reserved_delta, 1 as step
      from e where e.kind = 'refund' and e.taken
    union all
    select e.id, e.tenant_id, e.batch_id, e.lot_id, e.units, e.kind,
           case when e.kind = 'capture' then 0 else e.units end,
           case when e.captured or (e.kind = 'refund' and e.taken) then 0 else -e.units end, 2
      from e
     where e.kind is not null
  ),
  ins as (
    insert into billing_ledger (tenant_id, kind, available_delta, reserved_delta, units, message_id, batch_id, lot_id)
    select c.tenant_id, c.kind, c.available_delta, c.reserved_delta, c.units, c.id, c.batch_id, c.lot_id
      from charges c
     order by c.id, c.step
    on conflict do nothing
    returning tenant_id, lot_id, available_delta, reserved_delta
  )
  insert into billing_balance_deltas (tenant_id, lot_id, available_delta, reserved_delta)
  select tenant_id, lot_id, sum(available_delta), sum(reserved_delta)
    from ins group by tenant_id, lot_id;
  return null;
end $$;
