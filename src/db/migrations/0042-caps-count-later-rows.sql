-- The caps count has no upper bound on created_at (issue 8). A message's created_at is its
-- request's clock reading, taken before the request waits for its recipients' locks; the count
-- stopped at the counting request's own reading (`created_at <= p_upto`). So a request that read
-- the clock first but took the locks last missed every row that requests reading the clock after
-- it had committed meanwhile, and admitted past the cap: three concurrent 1,000-recipient batches
-- with a cap of two admitted 2,997 rows instead of 1,998 (CI, test
-- protection.admission.test.ts). Every committed row after the window's start counts, whatever
-- its reading: a row from a later reading is a send within the window all the same.
--
-- Otherwise the functions are those of 0040 (planner settings and plans unchanged).

drop function protection_recent_counts_one(text[], bigint, text, timestamptz, timestamptz,
  timestamptz, timestamptz, bigint, text[]);
drop function protection_recent_counts(text[], bigint[], text[], timestamptz, timestamptz,
  timestamptz, timestamptz, bigint, text[]);

-- Counts per recipient, for a group of one tenant and one type (a batch); one row of arrays.
-- `tenant_id + 0` keeps the tenant out of the index choice (protection.sql.ts says why).
create function protection_recent_counts_one(
  p_phones text[], p_tenant bigint, p_type text, p_minute timestamptz, p_hour timestamptz,
  p_day timestamptz, p_first_id bigint, p_uncounted text[])
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
             and m.created_at > p_day
           group by m.recipient) c
$$;

-- The same for a group of several tenants or types (single sends): per (recipient, tenant, type),
-- the type as its position in p_types. Combinations the group did not ask for are dropped by
-- the caller.
create function protection_recent_counts(
  p_phones text[], p_tenants bigint[], p_types text[], p_minute timestamptz, p_hour timestamptz,
  p_day timestamptz, p_first_id bigint, p_uncounted text[])
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
             and m.created_at > p_day
           group by m.recipient, m.tenant_id, m.type) c
$$;
