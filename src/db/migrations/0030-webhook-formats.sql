-- Webhook endpoints in a cloud vendor's status report format (issue 11): `hongyan` (the events
-- envelope), `aliyun` (SmsReport's HTTP batch push) or `tencent` (the SMS status callback). A
-- vendor's push carries status reports only, so an endpoint in a vendor's format subscribes to
-- message.status alone. The sender reads the format at each POST, like the URL and the secret.
alter table webhook_endpoints add column format text not null default 'hongyan'
  constraint webhook_endpoints_format check (format in ('hongyan', 'aliyun', 'tencent'));
alter table webhook_endpoints add constraint webhook_endpoints_vendor_events
  check (format = 'hongyan' or events = '{message.status}'::text[]);
