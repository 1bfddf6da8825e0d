-- Uploaded campaign audience files expire (audienceFileRetentionDays after their upload): the
-- worker's sweep (src/modules/campaigns/audience-files.retention.ts) first marks a file expired,
-- which hides it from the API at once, then deletes its rows a bounded batch per statement and
-- the file once none is left. Deleting the file outright would cascade up to 200,000 rows in one
-- statement; the mark keeps a half-deleted file from ever being answered or copied.
alter table campaign_audience_files add column expired_at timestamptz;

-- The files still answered, by upload time: what the sweep marks next.
create index campaign_audience_files_live_created
  on campaign_audience_files (created_at) where expired_at is null;
-- The files marked and not yet deleted: few at any time.
create index campaign_audience_files_expired on campaign_audience_files (id) where expired_at is not null;
