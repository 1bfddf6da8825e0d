-- Recipient protection's look-ups as functions whose planner settings travel with them (issue 8).
--
-- The lists and the allowlist: each group's numbers are one array, hidden from the planner (a
-- parameter it cannot see into), so it always expects a few of them. With a list of millions it
-- then probes the primary key, as it should; with a small list (a tenant's 1,000 complaints, a
-- dozen test numbers) it chose a sequential scan whose filter compares every row with every
-- number of the array, one by one: 218 ms for a 1,000-number tenant blacklist against a
-- 10,000-recipient batch, where the index takes 2–7 ms (bench/protection.ts, BENCH_LIST=1000).
-- Index scans only, then: `= any` on the primary key sorts the numbers and walks the index once,
-- whatever the list's size.
--
-- The caps count: its rows are counted in a hash table, never sorted (the planner, expecting few
-- rows, chose a sort that spilled to disk, see protection.sql.ts). The setting used to be turned
-- off and back on around the statement, two round trips more inside the insert transaction; here
-- it is the function's own.
--
-- Parameters are prefixed (`p_`) so that they never shadow a column of the same name.

create function protection_list_hits(p_phones text[], p_tenants bigint[])
returns table (list text, tenant_id bigint, phone text)
language sql stable
set enable_seqscan = off set enable_bitmapscan = off
as $$
  select 'platform_blacklist', null::bigint, b.phone from platform_blacklist b where b.phone = any (p_phones)
  union all
  select 'tenant_blacklist', b.tenant_id, b.phone from tenant_blacklist b
   where b.tenant_id = any (p_tenants) and b.phone = any (p_phones)
  union all
  select 'opt_out', o.tenant_id, o.phone from opt_outs o
   where o.tenant_id = any (p_tenants) and o.phone = any (p_phones)
$$;

create function protection_allowlisted(p_phones text[], p_tenants bigint[])
returns table (tenant_id bigint, phone text)
language sql stable
set enable_seqscan = off set enable_bitmapscan = off
as $$
  select a.tenant_id, a.phone from tenant_allowlist a
   where a.tenant_id = any (p_tenants) and a.phone = any (p_phones)
$$;

-- Counts per recipient, for a group of one tenant and one type (a batch); one row of arrays.
-- `tenant_id + 0` keeps the tenant out of the index choice (protection.sql.ts says why).
create function protection_recent_counts_one(
  p_phones text[], p_tenant bigint, p_type text, p_upto timestamptz, p_minute timestamptz,
  p_hour timestamptz, p_day timestamptz, p_first_id bigint, p_uncounted text[])
returns table (recipient json, minute text, hour text, day text)
language sql stable
set enable_sort = off
as $$
  select to_json(array_agg(c.recipient)), array_agg(c.minute)::text, array_agg(c.hour)::text,
         array_agg(c.day)::text
    from (select m.recipient,
                 count(*) filter (where m.created_at > p_minute) as minute,
                 count(*) filter (where m.created_at > p_hour) as hour,
                 count(*) as day
            from messages m
           where m.recipient = any (p_phones) and m.id >= p_first_id
             and m.tenant_id + 0 = p_tenant and m.type = p_type
             and m.status <> all (p_uncounted)
             and m.created_at > p_day and m.created_at <= p_upto
           group by m.recipient) c
$$;

-- The same for a group of several tenants or types (single sends): per (recipient, tenant, type),
-- the type as its position in p_types. Combinations the group did not ask for are dropped by
-- the caller.
create function protection_recent_counts(
  p_phones text[], p_tenants bigint[], p_types text[], p_upto timestamptz, p_minute timestamptz,
  p_hour timestamptz, p_day timestamptz, p_first_id bigint, p_uncounted text[])
returns table (recipient json, tenant text, type text, minute text, hour text, day text)
language sql stable
set enable_sort = off
as $$
  select to_json(array_agg(c.recipient)), array_agg(c.tenant_id)::text, array_agg(c.type)::text,
         array_agg(c.minute)::text, array_agg(c.hour)::text, array_agg(c.day)::text
    from (select m.recipient, m.tenant_id, array_position(p_types, m.type) as type,
                 count(*) filter (where m.created_at > p_minute) as minute,
                 count(*) filter (where m.created_at > p_hour) as hour,
                 count(*) as day
            from messages m
           where m.recipient = any (p_phones) and m.id >= p_first_id
             and m.tenant_id + 0 = any (p_tenants) and m.type = any (p_types)
             and m.status <> all (p_uncounted)
             and m.created_at > p_day and m.created_at <= p_upto
           group by m.recipient, m.tenant_id, m.type) c
$$;
