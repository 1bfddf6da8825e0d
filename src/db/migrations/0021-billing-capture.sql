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
--
-- Second (issue 9's cost of billing): capture, refund and release no longer lock the tenant's
-- balance row or its lots. Admission holds that row for the whole insert of a batch (10,000 rows),
-- and every recorder and receipt statement of the tenant used to queue behind it and behind each
-- other. The trigger now appends one delta row per (tenant, lot) and statement; admission, credit
-- adjustments and the expiry sweep fold a tenant's deltas into its balance and lots under the lock
-- they take anyway (lockBalances), and the worker folds what is left every few seconds. Readers
-- and `hongyan billing reconcile` add the deltas not folded yet.
--
-- Every delta only moves a balance towards where it already is in truth: `reserved` deltas are
-- never positive (each returns a reservation already on the row), `available` ones never negative
-- (refunds and releases), so the row never goes below zero before, during or after a fold, and
-- admission never admits against parts it does not have (an unfolded refund is simply not
-- spendable until folded, at most a few seconds).

-- Deltas of balances and lots not folded yet: rows are deleted as they are folded (the ledger,
-- which they summarise, stays append-only).
create table billing_balance_deltas (
  id bigint generated always as identity primary key,
  tenant_id bigint not null,
  lot_id bigint,
  available_delta bigint not null check (available_delta >= 0),
  reserved_delta bigint not null check (reserved_delta <= 0)
);
create index billing_balance_deltas_tenant on billing_balance_deltas (tenant_id);

-- Folds these tenants' deltas into their lots and balances. Each delta row is deleted (and so
-- applied) by exactly one fold, whichever runs first; concurrent folds are safe.
create function billing_fold_deltas(tenant_ids bigint[]) returns void language sql as $$
  with d as (
    delete from billing_balance_deltas where tenant_id = any (tenant_ids)
    returning tenant_id, lot_id, available_delta, reserved_delta
  ),
  lots as (
    update billing_lots l set parts_left = l.parts_left + x.n
      from (select lot_id, sum(available_delta) as n from d where lot_id is not null group by lot_id) x
     where l.id = x.lot_id and x.n <> 0
  )
  update billing_balances b
     set available = b.available + x.a, reserved = b.reserved + x.r, updated_at = now()
    from (select tenant_id, sum(available_delta) as a, sum(reserved_delta) as r from d group by tenant_id) x
   where b.tenant_id = x.tenant_id;
$$;


create or replace function billing_follow_messages() returns trigger language plpgsql as $$
begin
  -- The messages whose charge class changed (class billing_charge_class, 0013), each with what
  -- its ledger says so far; a message already returned is left alone.
  execute $q$
    with e as (
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
      from ins group by tenant_id, lot_id
  $q$;
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
