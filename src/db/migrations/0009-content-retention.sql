-- Message content purged after a retention period, per tenant; metadata (recipient, states, times,
-- parts, carrier ids) is kept. Null days: the install's setting (HONGYAN_CONTENT_RETENTION_DAYS).
-- The sweep walks each tenant's messages in id order through messages_tenant_created and keeps its
-- place here, so it never rescans purged rows and needs no index on done_at (an index on a column
-- every final transition sets would end HOT updates on the hottest table).
alter table tenants
  add column content_retention_days integer check (content_retention_days > 0),
  add column content_purged_through_id bigint not null default 0;
