-- A node may hold several slots of a channel (its share of the channel's binds, one connector
-- each: routing/leases/bind-leases.ts), so (channel, node) is no longer unique. The primary key
-- (channel, slot) still caps the binds across all nodes.
drop index channel_bind_leases_node;
create index channel_bind_leases_node on channel_bind_leases (channel_id, node_id);
