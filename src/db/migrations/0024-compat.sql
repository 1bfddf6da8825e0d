-- APIs compatible with the cloud vendors' SDKs (issue 11, src/modules/compat/).
--
-- The Twilio SDK refuses an AccountSid that does not start with "AC", so every credential also
-- has a Twilio form: "AC" and 32 hex digits, its AppSecret being the auth token. Drawn by
-- PostgreSQL (gen_random_uuid, built in since 13), so credentials made before this migration get
-- one too and every way of creating a credential gives one.
alter table api_credentials
  add column twilio_account_sid text not null unique
    default ('AC' || replace(gen_random_uuid()::text, '-', ''))
    check (twilio_account_sid ~ '^AC[0-9a-f]{32}$');

-- Tencent's PullSmsSendStatus hands each final status out once: the messages whose status was
-- pulled. Deleted with their message (retention).
create table compat_status_pulls (
  message_id bigint primary key references messages (id) on delete cascade,
  tenant_id bigint not null,
  pulled_at timestamptz not null default now()
);

-- Messages created through the Twilio-compatible API with a StatusCallback: their callback_url
-- deliveries (webhooks outbox) are posted in Twilio's form-encoded format, signed with
-- X-Twilio-Signature under the auth token of the credential that created them.
create table compat_twilio_callbacks (
  message_id bigint primary key references messages (id) on delete cascade,
  credential_id bigint not null references api_credentials (id)
);
