-- Short links: when an operator last disabled or enabled a short link (the database's clock). Every node's
-- redirect cache reads the links changed since its last look, once a second, so a disable
-- reaches every node within about a second without the redirect asking PostgreSQL per click.
alter table short_links add column changed_at timestamptz;
create index short_links_changed on short_links (changed_at) where changed_at is not null;

-- A campaign's uploaded audience (CSV or XLSX): read whole when uploaded, its valid recipients
-- kept here (each number once, with the variables of its columns) and its refused rows listed,
-- until a campaign names it (`audience.file_id`) and copies the recipients into its own.
create table campaign_audience_files (
  id bigint generated always as identity primary key,
  tenant_id bigint not null references tenants (id),
  file_name text not null,
  format text not null check (format in ('csv', 'xlsx')),
  variables text[] not null,
  rows_read integer not null,
  recipients integer not null,
  invalid integer not null,
  duplicates integer not null,
  -- Refused rows, in order: { row, value, reason, first_row? } (the first 10,000).
  errors jsonb not null,
  created_at timestamptz not null
);
create index campaign_audience_files_tenant on campaign_audience_files (tenant_id, id);

create table campaign_audience_file_rows (
  file_id bigint not null references campaign_audience_files (id) on delete cascade,
  idx integer not null,
  phone text not null,
  fields jsonb not null default '{}',
  primary key (file_id, idx)
);

-- A tenant's own short domain for its campaigns' links, set by the operator (who checks that the
-- domain is the tenant's and reaches Hongyan's GET /s/:code); without a row, the platform's
-- shortLinkBaseUrl.
create table tenant_short_domains (
  tenant_id bigint primary key references tenants (id),
  base_url text not null check (base_url ~ '^https?://'),
  set_by text not null,
  set_at timestamptz not null
);
