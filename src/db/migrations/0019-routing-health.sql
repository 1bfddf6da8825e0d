-- Routing health and shared binds (issue 10, part B): each channel's circuit-breaker settings,
-- the carrier codes the operator marks as channel-specific, the switch events with their reasons,
-- and bind leases so that many worker nodes never open more binds than the carrier allows.

-- Below `degrade_below` (seed 000: 90 %) the channel is degraded; it comes back only at
-- `recover_above` or more, measured on probe traffic, so it does not flap between the two.
alter table channels
  add column degrade_below numeric(4, 3) not null default 0.900 check (degrade_below between 0 and 1),
  add column recover_above numeric(4, 3) not null default 0.950 check (recover_above between 0 and 1),
  add column probe_share numeric(4, 3) not null default 0.020 check (probe_share between 0 and 1),
  -- Carrier error codes (as in messages.error_code) that mean "this channel cannot carry it"
  -- (blocked content, a sender-id problem): such a message may be tried once on another channel.
  add column channel_specific_codes text[] not null default '{}',
  add constraint channels_hysteresis check (recover_above >= degrade_below);

-- Every switch of a channel: degraded, recovered, all_degraded, bind_lost, bind_back,
-- lease_taken, lease_released. Append-only; written once per switch whatever the number of nodes
-- (a node writes only when the channel's last event of the same family says otherwise).
create table channel_events (
  id bigint generated always as identity primary key,
  channel_id bigint not null,
  kind text not null check (kind in ('degraded', 'recovered', 'all_degraded', 'bind_lost', 'bind_back',
                                     'lease_taken', 'lease_released')),
  reason text not null,
  node_id text,
  delivery_rate numeric(5, 4),
  samples integer,
  created_at timestamptz not null default now()
);
create index channel_events_channel on channel_events (channel_id, id);

-- One row per bind slot a node holds: slot < channels.binds, so the primary key is the cap. A
-- slot is free when its node is no longer alive (its liveness lock is gone or its heartbeat is
-- stale, see nodes.ts) or its lease has expired; the holder renews it with its heartbeat.
create table channel_bind_leases (
  channel_id bigint not null references channels (id) on delete cascade,
  slot smallint not null check (slot >= 0),
  node_id text not null,
  expires_at timestamptz not null,
  taken_at timestamptz not null default now(),
  primary key (channel_id, slot)
);
create unique index channel_bind_leases_node on channel_bind_leases (channel_id, node_id);
