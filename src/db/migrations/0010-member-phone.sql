-- A member's phone, verified by a 6-digit code sent through Hongyan itself; a verified phone is
-- where a self-service password reset code goes (src/modules/accounts/phone.usecases.ts). The
-- number being verified waits in pending_phone so an unconfirmed change never replaces the
-- verified one. reset_code_sent_at paces reset requests per member.
alter table members
  add column phone text,
  add column phone_verified_at timestamptz,
  add column pending_phone text,
  add column phone_code_hash bytea,
  add column phone_code_expires_at timestamptz,
  add column phone_code_attempts integer not null default 0,
  add column reset_code_sent_at timestamptz;

-- The public reset-request route counts an address's recent requests (its rate limit).
create index audit_log_reset_requests on audit_log (ip, at) where action = 'auth.reset_requested';
