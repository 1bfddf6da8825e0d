-- Daily statistics per tenant (issue 12), kept by a periodic job from cursors instead of scanning
-- `messages`: a message is counted once, when it is final, on the day it was created (in the
-- statistics time zone). The job walks messages by id from `message_cursor`; one it passes that is
-- not final yet goes into daily_stats_open and is counted when it becomes final.

create table daily_stats (
  tenant_id bigint not null,
  day date not null,
  type text not null,
  messages integer not null default 0,
  parts integer not null default 0,
  sent integer not null default 0,
  delivered integer not null default 0,
  failed integer not null default 0,
  unknown integer not null default 0,
  canceled integer not null default 0,
  clicks integer not null default 0,
  opt_outs integer not null default 0,
  primary key (tenant_id, day, type)
);

create table daily_stats_cursor (
  id boolean primary key default true check (id),
  message_cursor bigint not null default 0,
  click_cursor bigint not null default 0,
  opt_out_cursor bigint not null default 0,
  updated_at timestamptz not null default now()
);
insert into daily_stats_cursor default values;

create table daily_stats_open (
  message_id bigint primary key
);
