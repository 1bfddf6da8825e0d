-- Billing, ledger side (issue 9, part A): one balance per tenant in parts, the credit lots behind
-- it (consumed oldest-expiring first), and an append-only ledger whose rows are written in the same
-- transaction as the state change that caused them. A trigger on messages follows every status
-- change (submit results, receipts, expiry sweeps, cancellation, review, routing) so no path has to
-- remember to capture, refund or release. Packages, prices and orders are part B's (0014).

-- available + reserved, in parts. Invariants checked by `hongyan billing reconcile`:
-- available = sum(ledger.available_delta) = sum(lots.parts_left); reserved = sum(ledger.reserved_delta).
create table billing_balances (
  tenant_id bigint primary key references tenants (id),
  available bigint not null default 0 check (available >= 0),
  reserved bigint not null default 0 check (reserved >= 0),
  updated_at timestamptz not null default now()
);

-- A credit lot: an order's package, an operator credit, a positive adjustment. Reservations draw
-- parts_left down oldest-expiring first; a refund or release gives them back to the lot they came
-- from; what is left at expires_at leaves through an `expire` ledger row (the expiry sweep).
create table billing_lots (
  id bigint generated always as identity primary key,
  tenant_id bigint not null references tenants (id),
  source text not null check (source in ('order', 'credit', 'adjust')),
  order_id bigint,
  parts_total bigint not null check (parts_total > 0),
  parts_left bigint not null check (parts_left >= 0),
  expires_at timestamptz not null,
  created_at timestamptz not null default now()
);
create index billing_lots_tenant on billing_lots (tenant_id, expires_at, id) where parts_left > 0;
create index billing_lots_expiring on billing_lots (expires_at) where parts_left > 0;

-- The ledger. A message's rows: one reserve (at acceptance), at most one capture (the carrier took
-- it), at most one refund or release (it failed, or never left). The unique indexes make a second
-- capture or a second return impossible whatever path or retry writes it. No foreign key to
-- tenants or messages: the hot path writes thousands of rows per statement.
create table billing_ledger (
  id bigint generated always as identity primary key,
  tenant_id bigint not null,
  kind text not null check (kind in ('reserve', 'capture', 'refund', 'release', 'credit', 'adjust', 'expire')),
  available_delta bigint not null,
  reserved_delta bigint not null,
  -- The message's charge in parts (rating may charge more than one unit per part).
  units bigint,
  message_id bigint,
  batch_id bigint,
  order_id bigint,
  lot_id bigint,
  reason text,
  actor text,
  created_at timestamptz not null default now(),
  check ((kind in ('reserve', 'capture', 'refund', 'release')) = (message_id is not null))
);
create unique index billing_ledger_message on billing_ledger (message_id, kind) where message_id is not null;
create unique index billing_ledger_message_return on billing_ledger (message_id) where kind in ('refund', 'release');
create index billing_ledger_tenant on billing_ledger (tenant_id, id);

create function billing_ledger_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'billing_ledger is append-only (% refused)', tg_op;
end $$;
create trigger billing_ledger_append_only before update or delete on billing_ledger
  for each row execute function billing_ledger_append_only();
create trigger billing_ledger_no_truncate before truncate on billing_ledger
  for each statement execute function billing_ledger_append_only();

-- Where a message's charge stands in each status (billing.models.ts says the same): held for it,
-- taken, or given back. A change within one class (sent -> delivered, the common receipt) needs no
-- ledger row, so the trigger does not even look one up.
create function billing_charge_class(status text) returns text language sql immutable as $$
  select case
    when status in ('accepted', 'held', 'queued', 'sending') then 'reserved'
    when status in ('sent', 'delivered', 'unknown') then 'captured'
    when status in ('undelivered', 'rejected', 'failed', 'expired', 'canceled') then 'returned'
  end
$$;

-- Follows message status changes, one statement at a time (transition tables: a 10,000-row
-- update writes its ledger rows in one insert). Only messages holding a reservation are charged:
-- with billing off, none has one and this finds nothing.
--   sent, delivered, unknown                        -> capture (once; `unknown` stays charged)
--   undelivered, rejected, failed, expired          -> refund (of the capture, or of the reservation)
--   canceled; or refused before the carrier took it
--   by review or routing (compliance.*, routing.*)  -> release
create function billing_follow_messages() returns trigger language plpgsql as $$
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
  select array_agg(e.id), array_agg(e.tenant_id), array_agg(e.batch_id), array_agg(e.lot_id),
         array_agg(e.units), array_agg(e.kind), array_agg(e.captured)
    into ids, tenant_ids, batch_ids, lot_ids, unit_counts, kinds, was_captured
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
   where e.kind is not null;
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

create trigger billing_follow_messages after update on messages
  referencing old table as old_rows new table as new_rows
  for each statement execute function billing_follow_messages();
