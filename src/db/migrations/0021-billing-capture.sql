-- The statement-level triggers on messages (billing 0013, webhooks 0020), re-planned on every call.
--
-- Why (the receipts that stopped being applied, issue 9's CI runs): PL/pgSQL keeps a statement
-- without parameters as a generic plan, made once per connection with the row counts of the FIRST
-- call's transition tables. After a one-row first call (a cancel, one receipt, one failed submit)
-- the join of new_rows with old_rows was a nested loop: every row of one rescans the other, and a
-- transition table larger than work_mem is rescanned from its temporary file. Measured: 4,000 rows
-- 6.8 s, 10,000 rows 74 s, where a hash join takes milliseconds; a 20,000-row pass over parked
-- receipts then ran for minutes while holding the tenant's balance row, and every recorder and
-- receipt statement of that tenant queued behind it. EXECUTE plans each call with the real row
-- counts (about a millisecond, once per statement, not per row).
--
-- Rule for every trigger that reads a transition table with a join: run that query with EXECUTE.

create or replace function billing_follow_messages() returns trigger language plpgsql as $$
declare
  ids bigint[];
  tenant_ids bigint[];
  batch_ids bigint[];
  lot_ids bigint[];
  unit_counts bigint[];
  kinds text[];
  was_captured boolean[];
  touched bigint;
begin
  execute $q$
    select array_agg(e.id), array_agg(e.tenant_id), array_agg(e.batch_id), array_agg(e.lot_id),
           array_agg(e.units), array_agg(e.kind), array_agg(e.captured)
      from (
        select c.id, r.tenant_id, r.batch_id, r.lot_id, r.units, k.captured,
               case
                 when c.status in ('sent', 'delivered', 'unknown') then
                   case when k.captured then null else 'capture' end
                 when c.status = 'canceled'
                   or (not k.captured and (c.error_code like 'compliance.%' or c.error_code like 'routing.%'))
                   then 'release'
                 when c.status in ('undelivered', 'rejected', 'failed', 'expired') then 'refund'
               end as kind
          from (select n.id, n.status, n.error_code
                  from new_rows n join old_rows o on o.id = n.id
                 where billing_charge_class(n.status) in ('captured', 'returned')
                   and billing_charge_class(n.status) is distinct from billing_charge_class(o.status)) c
          join billing_ledger r on r.message_id = c.id and r.kind = 'reserve'
          cross join lateral (
            select coalesce(bool_or(l.kind = 'capture'), false) as captured,
                   coalesce(bool_or(l.kind in ('refund', 'release')), false) as returned
              from billing_ledger l where l.message_id = c.id and l.kind in ('capture', 'refund', 'release')) k
         where not k.returned
      ) e
     where e.kind is not null
  $q$ into ids, tenant_ids, batch_ids, lot_ids, unit_counts, kinds, was_captured;
  if ids is null then
    return null;
  end if;
  -- Balances are locked in tenant order, the order admission uses, so two statements never
  -- deadlock on them.
  perform 1 from billing_balances where tenant_id = any (tenant_ids) order by tenant_id for update;
  with ev as (
    select * from unnest(ids, tenant_ids, batch_ids, lot_ids, unit_counts, kinds, was_captured)
      as ev(id, tenant_id, batch_id, lot_id, units, kind, captured)
  ),
  ins as (
    insert into billing_ledger (tenant_id, kind, available_delta, reserved_delta, units, message_id, batch_id, lot_id)
    select ev.tenant_id, ev.kind,
           case when ev.kind = 'capture' then 0 else ev.units end,
           case when ev.captured then 0 else -ev.units end,
           ev.units, ev.id, ev.batch_id, ev.lot_id
      from ev
    on conflict do nothing
    returning tenant_id, lot_id, available_delta, reserved_delta
  ),
  lots as (
    update billing_lots l set parts_left = l.parts_left + d.n
      from (select lot_id, sum(available_delta) as n from ins
             where lot_id is not null and available_delta <> 0 group by lot_id) d
     where l.id = d.lot_id
    returning 1
  ),
  balances as (
    update billing_balances b
       set available = b.available + d.a, reserved = b.reserved + d.r, updated_at = now()
      from (select tenant_id, sum(available_delta) as a, sum(reserved_delta) as r from ins group by tenant_id) d
     where b.tenant_id = d.tenant_id
    returning 1
  )
  select (select count(*) from lots) + (select count(*) from balances) into touched;
  return null;
end $$;

create or replace function webhooks_follow_messages() returns trigger language plpgsql as $$
begin
  if not exists (select 1 from webhook_endpoints where enabled and deleted_at is null and 'message.status' = any (events))
     and not exists (select 1 from new_rows where callback_url is not null) then
    return null;
  end if;
  execute $q$
    select webhook_enqueue('message.status', coalesce(jsonb_agg(jsonb_build_object(
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
          where w.tenant_id = n.tenant_id and w.enabled and w.deleted_at is null and 'message.status' = any (w.events)))
  $q$;
  return null;
end $$;
