-- A batch is complete when every one of its messages is final (delivered, undelivered, expired,
-- rejected, failed, unknown or canceled). The worker's sweep (messages/batch-completion.ts) sets
-- completed_at once; the trigger below writes the `batch.completed` webhook event in the same
-- transaction, so the event is sent exactly when, and only once, the batch is seen complete.
alter table batches add column completed_at timestamptz;

-- Batches already complete before this migration are marked, so the first sweep does not announce
-- every old batch at once.
update batches b set completed_at = coalesce(
    (select max(m.updated_at) from messages m where m.batch_id = b.id), b.created_at)
 where not exists (
   select 1 from messages m
    where m.batch_id = b.id and m.status in ('held', 'queued', 'sending', 'sent'));

-- The open batches the sweep looks at: few at any time (those still in flight or scheduled).
create index batches_open on batches (id) where completed_at is null;

create function webhooks_follow_batches() returns trigger language plpgsql as $$
begin
  if not exists (select 1 from webhook_endpoints where enabled and deleted_at is null and 'batch.completed' = any (events)) then
    return null;
  end if;
  -- EXECUTE: planned for each statement's own row count (see 0021-billing-capture.sql).
  execute $q$ select webhook_enqueue('batch.completed', coalesce(jsonb_agg(jsonb_build_object(
      'tenant_id', n.tenant_id, 'at', n.completed_at,
      'data', jsonb_build_object('batch_id', n.id::text, 'type', n.type, 'total', n.total,
        'accepted', n.accepted, 'rejected', n.rejected,
        'canceled_at', n.canceled_at, 'completed_at', n.completed_at,
        'counts', coalesce((select jsonb_object_agg(c.status, c.n)
                              from (select status, count(*) as n from messages
                                     where batch_id = n.id group by status) c), '{}'::jsonb)))
      order by n.id), '[]'::jsonb))
    from new_rows n join old_rows o on o.id = n.id
   where o.completed_at is null and n.completed_at is not null
     and exists (
       select 1 from webhook_endpoints w
        where w.tenant_id = n.tenant_id and w.enabled and w.deleted_at is null and 'batch.completed' = any (w.events)) $q$;
  return null;
end $$;
create trigger webhooks_follow_batches after update on batches
  referencing old table as old_rows new table as new_rows
  for each statement execute function webhooks_follow_batches();
