-- Recipient protection's functions are planned without their arguments' values (issue 8).
--
-- Their whole point is that the planner cannot see into the group's array of numbers
-- (migration 0040). Up to PostgreSQL 17 a SQL function's statements are planned with its
-- arguments as parameters, so it cannot. PostgreSQL 18, which the embedded server is, plans them
-- through the plan cache, with custom plans made for each call's values: the planner then
-- estimated `phone = any (...)` over the 10,000 numbers one by one, and planned a parallel
-- append. For a 10,000-recipient batch against lists of 1,000,000 numbers the list look-up took
-- 156–167 ms, of which the execution was 2 ms (auto_explain); bench/protection.ts on the embedded
-- server's version added 171–263 ms to the request. A generic plan, made once per connection:
-- 2–4 ms for the lists, 43–65 ms instead of 60–110 ms for the caps count, 1–3 ms instead of 7–10
-- for the allowlist. On PostgreSQL 15–17 the setting changes nothing (no plan cache there).
alter function protection_list_hits(text[], bigint[]) set plan_cache_mode = force_generic_plan;
alter function protection_allowlisted(text[], bigint[]) set plan_cache_mode = force_generic_plan;
alter function protection_recent_counts_one(text[], bigint, text, timestamptz, timestamptz,
  timestamptz, bigint, text[]) set plan_cache_mode = force_generic_plan;
alter function protection_recent_counts(text[], bigint[], text[], timestamptz, timestamptz,
  timestamptz, bigint, text[]) set plan_cache_mode = force_generic_plan;
