-- Billing, commerce side (issue 9, part B): quota packages the operator sells, prices by message
-- type and destination, tenants' orders of packages, the low-balance alert state per tenant, billing
-- events for webhooks. The ledger, balances and credit lots are part A's (migration 0013); an
-- order's credit goes through it. Channel cost prices are channels.cost_per_part (migration 0015).

create table billing_packages (
  id bigint generated always as identity primary key,
  name text not null,
  parts integer not null check (parts > 0),
  -- Money is exact decimal in the currency's units (yuan), never a float.
  price numeric(14, 2) not null check (price >= 0),
  currency text not null default 'CNY' check (currency ~ '^[A-Z]{3}$'),
  validity_days integer not null check (validity_days between 1 and 3650),
  enabled boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- One price per (type, destination, country): parts charged per message part and the money price
-- per charged part for statements. A null type matches every type; for 'international' a null
-- country_code matches every country without a row of its own.
create table billing_prices (
  id bigint generated always as identity primary key,
  type text check (type in ('verification', 'notification', 'marketing')),
  destination text not null check (destination in ('domestic', 'international')),
  country_code text check (country_code ~ '^[0-9]{1,4}$'),
  units_per_part integer not null check (units_per_part between 0 and 1000),
  price_per_part numeric(14, 4) not null default 0 check (price_per_part >= 0),
  currency text not null default 'CNY' check (currency ~ '^[A-Z]{3}$'),
  updated_at timestamptz not null default now(),
  check (destination = 'international' or country_code is null)
);
create unique index billing_prices_key on billing_prices (type, destination, country_code) nulls not distinct;

-- An order keeps a copy of what was bought (parts, price, validity) so a later change of the
-- package never changes an order. created -> paid -> credited, or created -> canceled.
create table billing_orders (
  id bigint generated always as identity primary key,
  tenant_id bigint not null references tenants (id),
  package_id bigint not null references billing_packages (id),
  parts integer not null,
  price numeric(14, 2) not null,
  currency text not null,
  validity_days integer not null,
  status text not null default 'created' check (status in ('created', 'paid', 'credited', 'canceled')),
  payment_reference text,
  created_by text not null,
  confirmed_by text,
  created_at timestamptz not null default now(),
  paid_at timestamptz,
  credited_at timestamptz,
  canceled_at timestamptz
);
create index billing_orders_tenant on billing_orders (tenant_id, id);
create index billing_orders_open on billing_orders (status, id) where status in ('created', 'paid');

-- Low-balance alert per tenant: a row only once the tenant has a threshold of its own or was
-- alerted. alerted_at set = the one alert was sent; cleared when the balance is back at or above
-- the threshold, which arms the next one.
create table billing_alert_state (
  tenant_id bigint primary key references tenants (id),
  threshold integer,
  alerted_at timestamptz,
  alerted_available integer,
  alert_message_id bigint
);

-- Billing events for webhooks (issue: webhooks come later): low_balance, order_credited.
create table billing_events (
  id bigint generated always as identity primary key,
  tenant_id bigint not null references tenants (id),
  kind text not null,
  payload jsonb not null,
  created_at timestamptz not null default now()
);
create index billing_events_tenant on billing_events (tenant_id, id);
