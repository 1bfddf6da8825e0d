-- The billing trigger on messages planned once per connection again, and skipped when no row can
-- be charged (issue 6: where the time of a single send went).
--
-- 0021 ran the trigger's query with EXECUTE so that a plan made for a one-row first call (a nested
-- loop of new_rows with old_rows, each row rescanning the other transition table) was never reused
-- for 10,000 rows. But EXECUTE plans the query on every statement that updates messages: every
-- claim, every recorder statement, every receipt statement, most of which charge nothing. Measured
-- with bench/singles-cpu.ts (10,000 single sends, pg_stat_user_functions): 2,492 calls took 8.4 s,
-- 3.4 ms each, where the statements themselves took well under 1 ms; the planning was half of
-- PostgreSQL's time per message.
--
-- Now:
-- - A precheck of each transition table on its own (no join) returns at once unless some row
--   entered the class `captured` or `returned` from another class: a claim (queued -> sending) or a
--   receipt that only confirms (sent -> delivered) costs two short scans of the transition tables.
-- - The query no longer joins new_rows with old_rows. A row's charge follows from its new status
--   and its ledger alone, which is what decided it before too: a capture is written only if the
--   message has none, a refund or release only if it has neither (the unique indexes of 0013 make a
--   second one impossible anyway). A row whose class did not change finds its ledger already there
--   and writes nothing.
-- - Its ledger look-ups are LATERAL subqueries that cannot be flattened (OFFSET 0, an aggregate), so
--   whatever the size of the transition table when the plan is made, each row is one index probe
--   of billing_ledger_message; the plan cannot become a hash join over a scan of the whole ledger
--   kept for every later call. (A plan made while the ledger was tiny is replaced when the ledger is
--   analyzed as it grows: src/db/statistics.ts.)

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
           end as kind
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
  ins as (
    insert into billing_ledger (tenant_id, kind, available_delta, reserved_delta, units, message_id, batch_id, lot_id)
    select e.tenant_id, e.kind,
           case when e.kind = 'capture' then 0 else e.units end,
           case when e.captured then 0 else -e.units end,
           e.units, e.id, e.batch_id, e.lot_id
      from e
     where e.kind is not null
    on conflict do nothing
    returning tenant_id, lot_id, available_delta, reserved_delta
  )
  insert into billing_balance_deltas (tenant_id, lot_id, available_delta, reserved_delta)
  select tenant_id, lot_id, sum(available_delta), sum(reserved_delta)
    from ins group by tenant_id, lot_id;
  return null;
end $$;
