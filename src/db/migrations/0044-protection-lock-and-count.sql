-- The recipients' locks and the caps count in one round trip (issue 6). A group of single sends
-- made them two statements in a row on its transaction (protection.sql.ts lockRecipients, then
-- countRecentSends), and a group's round trips are what each request waits for.
--
-- The count must see what every previous holder of those locks committed, so its snapshot must be
-- taken after the locks are held: in one SQL statement it would be taken before the lock waits.
-- These are VOLATILE PL/pgSQL functions, and such a function takes a new snapshot for each
-- statement it runs (under READ COMMITTED): the locks are one statement, the count the next, as
-- when the two came from the client. The count itself is 0042's function, unchanged.

create function protection_lock_and_count_one(
  p_buckets int[], p_lock_class int,
  p_phones text[], p_tenant bigint, p_type text, p_minute timestamptz, p_hour timestamptz,
  p_day timestamptz, p_first_id bigint, p_uncounted text[])
returns table (recipient json, minute text, hour text, day text)
language plpgsql volatile
as $$
begin
  -- Ascending buckets, as lockRecipients takes them: two groups cannot deadlock.
  perform pg_advisory_xact_lock(p_lock_class, u.b) from unnest(p_buckets) with ordinality as u(b, n)
    order by u.n;
  return query
    select * from protection_recent_counts_one(p_phones, p_tenant, p_type, p_minute, p_hour, p_day,
                                               p_first_id, p_uncounted);
end
$$;

create function protection_lock_and_count(
  p_buckets int[], p_lock_class int,
  p_phones text[], p_tenants bigint[], p_types text[], p_minute timestamptz, p_hour timestamptz,
  p_day timestamptz, p_first_id bigint, p_uncounted text[])
returns table (recipient json, tenant text, type text, minute text, hour text, day text)
language plpgsql volatile
as $$
begin
  perform pg_advisory_xact_lock(p_lock_class, u.b) from unnest(p_buckets) with ordinality as u(b, n)
    order by u.n;
  return query
    select * from protection_recent_counts(p_phones, p_tenants, p_types, p_minute, p_hour, p_day,
                                           p_first_id, p_uncounted);
end
$$;
