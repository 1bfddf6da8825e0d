-- Admission's balance lock, fold and read in one round trip (issue 9: billing's cost on single
-- sends). lockBalances ran three statements while holding the tenant's balance row: lock, fold
-- the deltas (0021), read what is available. Every group of single sends of one tenant waits for
-- that row, so each round trip under the lock is paid once per group by every waiting group.
-- Same lock order (tenant id), same fold, same result.
create function billing_lock_balances(ids bigint[]) returns table (tenant_id bigint, available bigint)
language plpgsql as $$
#variable_conflict use_column
begin
  perform 1 from billing_balances b where b.tenant_id = any (ids) order by b.tenant_id for update;
  perform billing_fold_deltas(ids);
  return query select b.tenant_id, b.available from billing_balances b where b.tenant_id = any (ids);
end $$;
