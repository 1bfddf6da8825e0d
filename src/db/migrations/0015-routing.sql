-- Routing (issue 10, part A): what each channel may carry and what it costs, the ordered route
-- table with its channel groups, and the operator's carrier overrides for ported numbers (携号转网).

-- Carriers a channel covers: cmcc, cucc, ctcc, cbn (China Broadnet), satellite, `intl` (every
-- other country) or `intl:<calling code>` (one country, e.g. intl:44). The default covers every
-- terrestrial network, so channels from before this migration carry what they carried.
alter table channels
  add column carriers text[] not null default '{cmcc,cucc,ctcc,cbn,intl}',
  add column message_types text[] not null default '{verification,notification,marketing}',
  add column cost_per_part numeric(12, 5) not null default 0 check (cost_per_part >= 0),
  add column cost_currency text not null default 'CNY' check (cost_currency ~ '^[A-Z]{3}$'),
  add column weight integer not null default 1 check (weight between 1 and 10000),
  add column binds integer not null default 1 check (binds between 1 and 64),
  -- False: the carrier refuses a longer sender number, so no tenant extension is appended.
  add column accepts_extension boolean not null default true;

-- The route table, tried in `position` order; the first rule whose filters all match (a null
-- filter matches anything) and which has a channel able to carry the message decides.
create table routes (
  id bigint generated always as identity primary key,
  position integer not null,
  tenant_id bigint references tenants (id) on delete cascade,
  message_type text check (message_type in ('verification', 'notification', 'marketing')),
  carrier text check (carrier ~ '^(cmcc|cucc|ctcc|cbn|satellite|unknown|intl)$'),
  -- Digits of the E.164 number after the '+', e.g. '86', '852', '44'.
  country_prefix text check (country_prefix ~ '^[0-9]{1,6}$'),
  -- The signature text between 【 and 】 at the start or end of the content.
  signature text check (length(signature) between 1 and 40),
  description text not null default '',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index routes_position on routes (position, id);

-- A route's channel group: the lowest tier with a usable channel carries the message, spread over
-- that tier's channels by weight; higher tiers are the order of preference for failover.
create table route_channels (
  route_id bigint not null references routes (id) on delete cascade,
  channel_id bigint not null references channels (id) on delete cascade,
  tier smallint not null default 1 check (tier between 1 and 9),
  weight integer not null default 1 check (weight between 1 and 10000),
  primary key (route_id, channel_id)
);
create index route_channels_channel on route_channels (channel_id);

-- Ported numbers: the carrier that now serves an E.164 number, whatever its segment says.
create table number_carriers (
  number text primary key check (number ~ '^\+[0-9]{6,15}$'),
  carrier text not null check (carrier ~ '^(cmcc|cucc|ctcc|cbn|satellite)$'),
  note text not null default '',
  updated_at timestamptz not null default now()
);
