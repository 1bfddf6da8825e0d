-- Platform-wide compliance settings the operator changes through the API (one row): the
-- signature name length and the review desks' hours, time zone, targets and holidays. Written
-- whole at each change; a key missing from it takes its default (compliance/settings/settings.models.ts).
create table compliance_settings (
  id boolean primary key default true check (id),
  settings jsonb not null default '{}',
  updated_at timestamptz
);
insert into compliance_settings default values;
