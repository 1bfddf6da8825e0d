-- Node liveness comes from PostgreSQL, not process ids: each worker node holds the session
-- advisory lock (0x4879, lock_key) on a dedicated connection while it lives (src/modules/dispatch/nodes.ts).
alter table nodes add column lock_key integer generated always as identity;
create unique index nodes_lock_key on nodes (lock_key);
