-- Signed API credentials (AppKey + AppSecret). The secret is sealed with the master key
-- (src/shared/secrets.ts), not hashed: the server recomputes each request's HMAC with it.
-- Rotation makes a new credential that names the one it replaces (`rotated_from`); both work
-- until the old one is revoked, and each keeps its own last use, which tells when clients moved.
create table api_credentials (
  id bigint generated always as identity primary key,
  tenant_id bigint not null references tenants (id),
  name text not null,
  app_key text not null unique,
  secret_sealed text not null,
  scopes text[] not null,
  allow_cidrs text[] not null default '{}',
  -- Requests per second; null: the node's default (HONGYAN_CREDENTIAL_RATE_LIMIT).
  rate_limit integer check (rate_limit > 0),
  rotated_from bigint references api_credentials (id),
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  last_used_address text,
  revoked_at timestamptz
);
create index api_credentials_tenant on api_credentials (tenant_id, id);

-- Nonces of signed requests seen within the clock window, shared by every node. Unlogged: after
-- a crash PostgreSQL empties it, which reopens replays only for requests signed in the last
-- window before the crash; every write skips the WAL on the hot path. Rows older than twice the
-- window are deleted by the verifier, at most once a minute per node, with a sequential scan: an
-- index on seen_at would cost every signed request a second index insertion to save a scan of at
-- most ten minutes of nonces once a minute.
create unlogged table api_nonces (
  app_key text not null,
  nonce text not null,
  seen_at timestamptz not null default now(),
  primary key (app_key, nonce)
);
