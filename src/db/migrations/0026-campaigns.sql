-- Campaigns (issue 12): a tenant's audience, content and schedule; each run of it is one or more
-- batches made through the ordinary batch path (admission: lists, quiet hours, caps, marketing
-- review, quota). Short links give each recipient its own code, so a click names a message, a
-- contact and a campaign.

create table campaigns (
  id bigint generated always as identity primary key,
  tenant_id bigint not null references tenants (id),
  name text not null,
  -- draft: not started; active: runs when next_run_at is due; paused; completed; canceled.
  state text not null check (state in ('draft', 'active', 'paused', 'completed', 'canceled')),
  -- {"numbers": bool, "columns": [...], "group_ids": [...], "segment_ids": [...]}; the pasted or
  -- uploaded recipients themselves are in campaign_recipients.
  audience jsonb not null,
  -- {"content"?, "template_id"?, "sign_name"?, "type"?, "params"?}
  content jsonb not null,
  -- {"kind": "now"|"at"|"recurring", "at"?, "rule"?, "time_zone", "end_at"?, "max_runs"?}
  schedule jsonb not null,
  throttle_per_minute integer check (throttle_per_minute > 0),
  shorten_links boolean not null default false,
  -- {"variants": [...], "test_share", "seed", "decide_after_minutes", "metric", "auto"}
  ab jsonb,
  next_run_at timestamptz,
  runs_started integer not null default 0,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
create index campaigns_tenant on campaigns (tenant_id, id);
create index campaigns_due on campaigns (next_run_at) where state = 'active';

-- Pasted numbers (seed 002: one per line, up to 10,000) and uploaded files, with their columns
-- as the template's variables.
create table campaign_recipients (
  campaign_id bigint not null references campaigns (id) on delete cascade,
  idx integer not null,
  phone text not null,
  fields jsonb not null default '{}',
  primary key (campaign_id, idx)
);

-- One row per run: (campaign_id, run_at) is claimed in the same transaction that creates the
-- run's batches, so two schedulers (or a restart at the minute it is due) cannot both send it.
create table campaign_runs (
  id bigint generated always as identity primary key,
  campaign_id bigint not null references campaigns (id),
  tenant_id bigint not null,
  run_at timestamptz not null,
  -- expanding: recipients are being admitted in chunks (a job); testing: an A/B test's variants
  -- went out, the rest waits for the decision; choosing: the tenant picks the winner; done.
  state text not null check (state in ('expanding', 'testing', 'choosing', 'done')),
  audience integer not null,
  -- Recipients before `send_limit` (by idx) are admitted now; the rest waits for the A/B winner.
  send_limit integer not null,
  cursor integer not null default 0,
  -- Where the current phase (the run, or an A/B test's rest) starts: throttling counts from here.
  phase_start_idx integer not null default 0,
  phase_at timestamptz not null,
  accepted integer not null default 0,
  rejected integer not null default 0,
  duplicates integer not null default 0,
  invalid integer not null default 0,
  winner text,
  decision jsonb,
  decide_at timestamptz,
  created_at timestamptz not null,
  finished_at timestamptz,
  unique (campaign_id, run_at)
);
create index campaign_runs_open on campaign_runs (id) where state <> 'done';

-- A run's batches: one per variant of an A/B test (and one for the rest), else one ('main').
create table campaign_run_batches (
  run_id bigint not null references campaign_runs (id),
  label text not null,
  batch_id bigint not null references batches (id),
  primary key (run_id, label)
);
create unique index campaign_run_batches_batch on campaign_run_batches (batch_id);

-- A run's recipients, de-duplicated and split, fixed when the run is claimed, so that a resumed
-- job admits exactly the same people in the same order.
create table campaign_run_recipients (
  run_id bigint not null references campaign_runs (id),
  idx integer not null,
  phone text not null,
  fields jsonb not null default '{}',
  contact_id bigint,
  variant text,
  message_id bigint,
  error_code text,
  primary key (run_id, idx)
);

-- Short links: one code per recipient and URL. `target` is http(s) only.
create table short_links (
  id bigint generated always as identity primary key,
  code text not null unique,
  tenant_id bigint not null,
  campaign_id bigint,
  run_id bigint,
  message_id bigint,
  contact_id bigint,
  phone text,
  target text not null check (target ~ '^https?://'),
  disabled_at timestamptz,
  disabled_reason text,
  created_at timestamptz not null
);
create index short_links_campaign on short_links (campaign_id, id) where campaign_id is not null;
create index short_links_message on short_links (message_id) where message_id is not null;

-- Every redirect, written in batches by the redirect route's recorder.
create table short_link_clicks (
  id bigint generated always as identity primary key,
  link_id bigint not null,
  tenant_id bigint not null,
  at timestamptz not null,
  user_agent text,
  device text not null check (device in ('mobile', 'tablet', 'desktop', 'bot', 'other'))
);
create index short_link_clicks_link on short_link_clicks (link_id, at);
create index short_link_clicks_tenant on short_link_clicks (tenant_id, id);
