// Configuration: every setting is declared once, with its doc, default, environment variable and
// parser. The same declarations validate the environment and the optional config file at boot and
// generate docs/configuration.md, so the reference can never drift from the code (Papra's
// `*.config.ts` habit).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { addressPolicyOf } from '../modules/webhooks/ssrf.models.ts';

type Parser<T> = (raw: string) => T;

export interface SettingDeclaration<T> {
  key: string;
  env: string;
  doc: string;
  default: T;
  /** Human description of accepted values, for errors and docs. */
  accepts: string;
  parse: Parser<T>;
}

function setting<T>(decl: SettingDeclaration<T>): SettingDeclaration<T> {
  return decl;
}

class SettingValueError extends Error {}

const integer =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new SettingValueError(`expected an integer, got "${raw}"`);
    const value = Number(raw);
    if (value < min || value > max) throw new SettingValueError(`expected ${min}..${max}, got ${value}`);
    return value;
  };

/** on/true/1/yes or off/false/0/no, any case: every on-off setting, and the benches' switches. */
export const onOff: Parser<boolean> = (raw) => {
  const v = raw.trim().toLowerCase();
  if (['on', 'true', '1', 'yes'].includes(v)) return true;
  if (['off', 'false', '0', 'no'].includes(v)) return false;
  throw new SettingValueError(`expected on or off, got "${raw}"`);
};

const nonEmpty: Parser<string> = (raw) => {
  if (raw.trim() === '') throw new SettingValueError('must not be empty');
  return raw.trim();
};

const optionalUrl: Parser<string | null> = (raw) => {
  const v = raw.trim();
  if (v === '') return null;
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new SettingValueError('expected a postgres:// URL');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new SettingValueError(`expected a postgres:// URL, got protocol "${url.protocol}"`);
  }
  return v;
};

const host: Parser<string> = (raw) => {
  const v = raw.trim();
  if (!/^[A-Za-z0-9.:_-]+$/.test(v))
    throw new SettingValueError(`expected a host name or address, got "${raw}"`);
  return v;
};

const region: Parser<string> = (raw) => {
  const v = raw.trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(v))
    throw new SettingValueError(`expected a two-letter region code such as CN, got "${raw}"`);
  return v;
};

const logLevel: Parser<string> = (raw) => {
  const v = raw.trim().toLowerCase();
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (!levels.includes(v)) throw new SettingValueError(`expected one of ${levels.join(', ')}, got "${raw}"`);
  return v;
};

export const settings = {
  databaseUrl: setting<string | null>({
    key: 'databaseUrl',
    env: 'DATABASE_URL',
    doc: 'PostgreSQL connection URL. Unset: Hongyan starts and owns a private PostgreSQL server under the data folder.',
    default: null,
    accepts: 'a postgres:// URL, or empty',
    parse: optionalUrl,
  }),
  dataDir: setting<string>({
    key: 'dataDir',
    env: 'HONGYAN_DATA_DIR',
    doc: 'Folder for the embedded PostgreSQL server and other local state.',
    default: './data',
    accepts: 'a path',
    parse: nonEmpty,
  }),
  masterKey: setting<string | null>({
    key: 'masterKey',
    env: 'HONGYAN_MASTER_KEY',
    doc: 'Master key sealing secrets at rest (API credential secrets, channel passwords) with AES-256-GCM: the base64 of 32 random bytes (`openssl rand -base64 32`); several comma-separated keys during a rotation, the first sealing and the others still opening older values. Unset: `<data>/master.key`, generated at first use (mode 0600), also when DATABASE_URL is set; every node sharing a database needs the same key.',
    default: null,
    accepts: 'base64 of 32 bytes, comma-separated, or empty',
    parse: (raw) => {
      const v = raw.trim();
      if (v === '') return null;
      for (const part of v.split(',')) {
        if (Buffer.from(part.trim(), 'base64').length !== 32)
          throw new SettingValueError('each key must be the base64 of exactly 32 bytes');
      }
      return v;
    },
  }),
  credentialRateLimit: setting<number>({
    key: 'credentialRateLimit',
    env: 'HONGYAN_CREDENTIAL_RATE_LIMIT',
    doc: 'Requests per second a signed API credential may make, unless the credential sets its own (`rate_limit`); above it the answer is 429 `auth.rate_limited` with Retry-After. Counted per node (an in-process token bucket holding one second of requests).',
    default: 1000,
    accepts: 'an integer 1..1000000',
    parse: integer(1, 1_000_000),
  }),
  signatureWindowSeconds: setting<number>({
    key: 'signatureWindowSeconds',
    env: 'HONGYAN_SIGNATURE_WINDOW_SECONDS',
    doc: "How far a signed request's X-Hy-Timestamp may be from the server's clock, either way; nonces are remembered this long (see docs/api-signing.md).",
    default: 300,
    accepts: 'an integer 10..3600',
    parse: integer(10, 3600),
  }),
  httpHost: setting<string>({
    key: 'httpHost',
    env: 'HONGYAN_HTTP_HOST',
    doc: 'Address the HTTP API and console listen on.',
    default: '127.0.0.1',
    accepts: 'a host name or IP address',
    parse: host,
  }),
  httpPort: setting<number>({
    key: 'httpPort',
    env: 'HONGYAN_HTTP_PORT',
    doc: 'Port of the HTTP API and console (0 picks a free port).',
    default: 8080,
    accepts: 'an integer 0..65535',
    parse: integer(0, 65535),
  }),
  httpHeadersTimeoutMs: setting<number>({
    key: 'httpHeadersTimeoutMs',
    env: 'HONGYAN_HTTP_HEADERS_TIMEOUT_MS',
    doc: 'A request whose headers are not complete after this many milliseconds is answered 408 and its connection closed (slowloris).',
    default: 10_000,
    accepts: 'an integer 100..600000',
    parse: integer(100, 600_000),
  }),
  httpRequestTimeoutMs: setting<number>({
    key: 'httpRequestTimeoutMs',
    env: 'HONGYAN_HTTP_REQUEST_TIMEOUT_MS',
    doc: 'A request whose body is not complete after this many milliseconds is answered 408 and its connection closed: a client that declares a body and never sends it cannot hold a connection.',
    default: 30_000,
    accepts: 'an integer 100..600000',
    parse: integer(100, 600_000),
  }),
  httpIdleTimeoutMs: setting<number>({
    key: 'httpIdleTimeoutMs',
    env: 'HONGYAN_HTTP_IDLE_TIMEOUT_MS',
    doc: 'A connection with no traffic in either direction for this many milliseconds is closed, even in the middle of a request.',
    default: 60_000,
    accepts: 'an integer 100..3600000',
    parse: integer(100, 3_600_000),
  }),
  httpKeepAliveTimeoutMs: setting<number>({
    key: 'httpKeepAliveTimeoutMs',
    env: 'HONGYAN_HTTP_KEEP_ALIVE_TIMEOUT_MS',
    doc: 'A keep-alive connection idle between requests for this many milliseconds is closed. Longer than the usual 60 s of load balancers, so that they close first.',
    default: 72_000,
    accepts: 'an integer 100..3600000',
    parse: integer(100, 3_600_000),
  }),
  httpMaxConnectionsPerAddress: setting<number>({
    key: 'httpMaxConnectionsPerAddress',
    env: 'HONGYAN_HTTP_MAX_CONNECTIONS_PER_ADDRESS',
    doc: 'Open HTTP connections allowed from one client address; one more is answered 429 and closed, so one client cannot use up the file limit. Behind a reverse proxy every client has its address: raise it or set 0 (no cap).',
    default: 1000,
    accepts: 'an integer 0..1000000 (0: no cap)',
    parse: integer(0, 1_000_000),
  }),
  simulator: setting<boolean>({
    key: 'simulator',
    env: 'HONGYAN_SIMULATOR',
    doc: 'Run the built-in carrier simulator inside `hongyan start` and use it as the default channel on a fresh install.',
    default: true,
    accepts: 'on or off',
    parse: onOff,
  }),
  console: setting<boolean>({
    key: 'console',
    env: 'HONGYAN_CONSOLE',
    doc: "Serve the web console at / from `hongyan start` (API role), building web/ with Vite first when its bundle is missing or older than its sources (into web/dist, or the data directory when the checkout is read-only), in a child process that exits when the bundle is written, so the server does not keep the build's memory.",
    default: true,
    accepts: 'on or off',
    parse: onOff,
  }),
  simulatorHost: setting<string>({
    key: 'simulatorHost',
    env: 'HONGYAN_SIMULATOR_HOST',
    doc: 'Address the embedded carrier simulator listens on.',
    default: '127.0.0.1',
    accepts: 'a host name or IP address',
    parse: host,
  }),
  simulatorPort: setting<number>({
    key: 'simulatorPort',
    env: 'HONGYAN_SIMULATOR_PORT',
    doc: 'SMPP port of the embedded carrier simulator.',
    default: 2775,
    accepts: 'an integer 0..65535',
    parse: integer(0, 65535),
  }),
  simulatorProfile: setting<string>({
    key: 'simulatorProfile',
    env: 'HONGYAN_SIMULATOR_PROFILE',
    doc: 'Profile of the embedded carrier simulator: a built-in name (`sequential`, `realistic`, `flaky`, ...) used for every bind, or a JSON file of profiles (see src/modules/simulator/README.md). Empty: `default`, everything delivered within a second. Its receipts and replies not yet acknowledged are kept across restarts in `<data>/simulator` (a folder per database under it when DATABASE_URL is set).',
    default: '',
    accepts: 'a profile name, a path to a .json file, or empty',
    parse: (raw) => raw.trim(),
  }),
  smppServer: setting<boolean>({
    key: 'smppServer',
    env: 'HONGYAN_SMPP_SERVER',
    doc: 'Run the SMPP server customers bind to (in the `api` role; docs/smpp-server.md).',
    default: true,
    accepts: 'on or off',
    parse: onOff,
  }),
  smppHost: setting<string>({
    key: 'smppHost',
    env: 'HONGYAN_SMPP_HOST',
    doc: 'Address the customer SMPP server listens on (plain TCP and TLS).',
    default: '127.0.0.1',
    accepts: 'a host name or IP address',
    parse: host,
  }),
  smppPort: setting<number>({
    key: 'smppPort',
    env: 'HONGYAN_SMPP_PORT',
    doc: 'Plain TCP port of the customer SMPP server (0 picks a free port).',
    default: 2776,
    accepts: 'an integer 0..65535',
    parse: integer(0, 65535),
  }),
  smppTlsPort: setting<number>({
    key: 'smppTlsPort',
    env: 'HONGYAN_SMPP_TLS_PORT',
    doc: 'TLS port of the customer SMPP server, used when `smppTlsCert` and `smppTlsKey` are set.',
    default: 3550,
    accepts: 'an integer 0..65535',
    parse: integer(0, 65535),
  }),
  smppTlsCert: setting<string>({
    key: 'smppTlsCert',
    env: 'HONGYAN_SMPP_TLS_CERT',
    doc: 'PEM certificate (chain) file of the customer SMPP server; empty: no TLS listener.',
    default: '',
    accepts: 'a file path, or empty',
    parse: (raw) => raw.trim(),
  }),
  smppTlsKey: setting<string>({
    key: 'smppTlsKey',
    env: 'HONGYAN_SMPP_TLS_KEY',
    doc: 'PEM private key file of the customer SMPP server; empty: no TLS listener.',
    default: '',
    accepts: 'a file path, or empty',
    parse: (raw) => raw.trim(),
  }),
  smppConcatTimeoutMs: setting<number>({
    key: 'smppConcatTimeoutMs',
    env: 'HONGYAN_SMPP_CONCAT_TIMEOUT_MS',
    doc: 'How long the parts of a concatenated submit wait for the missing ones; then the parts that came are refused (ESME_RSUBMITFAIL).',
    default: 10_000,
    accepts: 'an integer 100..600000',
    parse: integer(100, 600_000),
  }),
  smppOutboxPollMs: setting<number>({
    key: 'smppOutboxPollMs',
    env: 'HONGYAN_SMPP_OUTBOX_POLL_MS',
    doc: 'How often a node looks for receipts and replies owed to the SMPP accounts bound to it, besides being woken by NOTIFY.',
    default: 1000,
    accepts: 'an integer 10..60000',
    parse: integer(10, 60_000),
  }),
  defaultRegion: setting<string>({
    key: 'defaultRegion',
    env: 'HONGYAN_DEFAULT_REGION',
    doc: 'Region used to read phone numbers written without a country code.',
    default: 'CN',
    accepts: 'a two-letter region code',
    parse: region,
  }),
  maxParts: setting<number>({
    key: 'maxParts',
    env: 'HONGYAN_MAX_PARTS',
    doc: 'Longest message accepted, in parts (segments).',
    default: 10,
    accepts: 'an integer 1..255',
    parse: integer(1, 255),
  }),
  receiptWindowHours: setting<number>({
    key: 'receiptWindowHours',
    env: 'HONGYAN_RECEIPT_WINDOW_HOURS',
    doc: 'A sent message with no final delivery receipt after this many hours becomes `unknown` (and stays charged).',
    default: 72,
    accepts: 'an integer 1..720',
    parse: integer(1, 720),
  }),
  replyPartsTimeoutSeconds: setting<number>({
    key: 'replyPartsTimeoutSeconds',
    env: 'HONGYAN_REPLY_PARTS_TIMEOUT_SECONDS',
    doc: 'A reply (MO) in several parts whose parts stop arriving for this long is stored with the parts that arrived, flagged incomplete.',
    default: 600,
    accepts: 'an integer 10..86400',
    parse: integer(10, 86_400),
  }),
  verificationDeadlineSeconds: setting<number>({
    key: 'verificationDeadlineSeconds',
    env: 'HONGYAN_VERIFICATION_DEADLINE_SECONDS',
    doc: 'A verification message the carrier has not taken this long after it was due (created, or its `send_at`) ends `expired` (`dispatch.deadline_passed`): a late code is worthless.',
    default: 600,
    accepts: 'an integer 10..604800',
    parse: integer(10, 604_800),
  }),
  notificationDeadlineSeconds: setting<number>({
    key: 'notificationDeadlineSeconds',
    env: 'HONGYAN_NOTIFICATION_DEADLINE_SECONDS',
    doc: 'The same deadline for notification messages.',
    default: 86_400,
    accepts: 'an integer 10..604800',
    parse: integer(10, 604_800),
  }),
  marketingDeadlineSeconds: setting<number>({
    key: 'marketingDeadlineSeconds',
    env: 'HONGYAN_MARKETING_DEADLINE_SECONDS',
    doc: 'The same deadline for marketing messages.',
    default: 86_400,
    accepts: 'an integer 10..604800',
    parse: integer(10, 604_800),
  }),
  channelSyncIntervalMs: setting<number>({
    key: 'channelSyncIntervalMs',
    env: 'HONGYAN_CHANNEL_SYNC_INTERVAL_MS',
    doc: 'How often a worker re-reads the channels table to bind new or changed channels and unbind removed ones.',
    default: 5000,
    accepts: 'an integer 10..600000',
    parse: integer(10, 600_000),
  }),
  heartbeatIntervalMs: setting<number>({
    key: 'heartbeatIntervalMs',
    env: 'HONGYAN_HEARTBEAT_INTERVAL_MS',
    doc: 'How often a worker node writes its heartbeat in `nodes`.',
    default: 2000,
    accepts: 'an integer 10..60000',
    parse: integer(10, 60_000),
  }),
  nodeDeadAfterMs: setting<number>({
    key: 'nodeDeadAfterMs',
    env: 'HONGYAN_NODE_DEAD_AFTER_MS',
    doc: 'A node whose heartbeat is older than this (or whose liveness lock is free) is dead: its messages in `sending` are queued again, marked `duplicate_risk`. A node that has not beaten for three quarters of it stops claiming and submitting until it beats again, then recovers its own claims. At least twice `heartbeatIntervalMs`.',
    default: 15_000,
    accepts: 'an integer 100..3600000',
    parse: integer(100, 3_600_000),
  }),
  recoveryIntervalMs: setting<number>({
    key: 'recoveryIntervalMs',
    env: 'HONGYAN_RECOVERY_INTERVAL_MS',
    doc: 'How often a worker looks for dead nodes and recovers their messages.',
    default: 5000,
    accepts: 'an integer 10..600000',
    parse: integer(10, 600_000),
  }),
  parkedReceiptsIntervalMs: setting<number>({
    key: 'parkedReceiptsIntervalMs',
    env: 'HONGYAN_PARKED_RECEIPTS_INTERVAL_MS',
    doc: 'How often parked receipts (that matched no message yet) are matched again.',
    default: 1000,
    accepts: 'an integer 10..600000',
    parse: integer(10, 600_000),
  }),
  contentRetentionDays: setting<number>({
    key: 'contentRetentionDays',
    env: 'HONGYAN_CONTENT_RETENTION_DAYS',
    doc: "Days a final message keeps its content before the worker blanks it (metadata is kept); a tenant's own value (tenants.content_retention_days) wins.",
    default: 180,
    accepts: 'an integer 1..36500',
    parse: integer(1, 36_500),
  }),
  contentPurgeIntervalMs: setting<number>({
    key: 'contentPurgeIntervalMs',
    env: 'HONGYAN_CONTENT_PURGE_INTERVAL_MS',
    doc: 'How often the worker blanks the content of messages past their retention period.',
    default: 3_600_000,
    accepts: 'an integer 1000..86400000',
    parse: integer(1000, 86_400_000),
  }),
  contentPurgeBatch: setting<number>({
    key: 'contentPurgeBatch',
    env: 'HONGYAN_CONTENT_PURGE_BATCH',
    doc: 'Messages a content purge statement scans at most (one statement, one short transaction).',
    default: 5000,
    accepts: 'an integer 1..100000',
    parse: integer(1, 100_000),
  }),
  lowBalanceThreshold: setting<number>({
    key: 'lowBalanceThreshold',
    env: 'HONGYAN_LOW_BALANCE_THRESHOLD',
    doc: "Parts below which a tenant gets its one low-balance alert (SMS to the owner's verified phone, console flag, billing event); a tenant may set its own.",
    default: 30,
    accepts: 'an integer 0..1000000000',
    parse: integer(0, 1_000_000_000),
  }),
  batchCompletionIntervalMs: setting<number>({
    key: 'batchCompletionIntervalMs',
    env: 'HONGYAN_BATCH_COMPLETION_INTERVAL_MS',
    doc: 'How often a worker marks the batches whose messages are all final as complete (and writes their batch.completed webhook event).',
    default: 2000,
    accepts: 'an integer 100..3600000',
    parse: integer(100, 3_600_000),
  }),
  lowBalanceCheckIntervalMs: setting<number>({
    key: 'lowBalanceCheckIntervalMs',
    env: 'HONGYAN_LOW_BALANCE_CHECK_INTERVAL_MS',
    doc: 'How often a worker checks balances against their low-balance thresholds (any number of nodes may: one alert is claimed by one of them).',
    default: 60_000,
    accepts: 'an integer 1000..86400000',
    parse: integer(1000, 86_400_000),
  }),
  billing: setting<boolean>({
    key: 'billing',
    env: 'HONGYAN_BILLING',
    doc: 'Charge messages against tenant balances (reserve at acceptance, capture, refund, release: docs/billing.md). Off: every message is accepted without a charge and nothing is reserved; messages accepted while it was on are still captured, refunded or released.',
    default: true,
    accepts: 'on or off',
    parse: onOff,
  }),
  billingExpiryIntervalMs: setting<number>({
    key: 'billingExpiryIntervalMs',
    env: 'HONGYAN_BILLING_EXPIRY_INTERVAL_MS',
    doc: 'How often a worker expires what is left in credit lots past their expiry (one `expire` ledger row per lot); until then those parts are still spent first.',
    default: 60_000,
    accepts: 'an integer 1000..86400000',
    parse: integer(1000, 86_400_000),
  }),
  schedulerIntervalMs: setting<number>({
    key: 'schedulerIntervalMs',
    env: 'HONGYAN_SCHEDULER_INTERVAL_MS',
    doc: 'How often scheduled messages whose time has come are released to the queue.',
    default: 250,
    accepts: 'an integer 10..60000',
    parse: integer(10, 60_000),
  }),
  deadlineSweepIntervalMs: setting<number>({
    key: 'deadlineSweepIntervalMs',
    env: 'HONGYAN_DEADLINE_SWEEP_INTERVAL_MS',
    doc: 'How often queued messages past their deadline are expired when no dispatcher claims them (a claim never sends them either way).',
    default: 30_000,
    accepts: 'an integer 10..3600000',
    parse: integer(10, 3_600_000),
  }),
  directClaims: setting<boolean>({
    key: 'directClaims',
    env: 'HONGYAN_DIRECT_CLAIMS',
    doc: "A single send due now that a node's own dispatcher has room for is written already claimed (`sending`) and handed to a channel after the commit, instead of written `queued` and updated by the next claim: one update of the row fewer. Only while the last claim found the queue drained, so priorities and fair shares are unchanged. Off: every message waits for a claim.",
    default: true,
    accepts: 'on or off',
    parse: onOff,
  }),
  shutdownDrainMs: setting<number>({
    key: 'shutdownDrainMs',
    env: 'HONGYAN_SHUTDOWN_DRAIN_MS',
    doc: 'On stop, how long a worker waits for submissions in flight and the writing of their results; what is left stays `sending` and crash recovery queues it again (`duplicate_risk`).',
    default: 10_000,
    accepts: 'an integer 0..600000',
    parse: integer(0, 600_000),
  }),
  dbPoolSize: setting<number>({
    key: 'dbPoolSize',
    env: 'HONGYAN_DB_POOL_SIZE',
    doc: 'Connections in the PostgreSQL pool of one Hongyan process.',
    default: 20,
    accepts: 'an integer 2..500',
    parse: integer(2, 500),
  }),
  exportMaxRows: setting<number>({
    key: 'exportMaxRows',
    env: 'HONGYAN_EXPORT_MAX_ROWS',
    doc: 'Most rows one GET /v1/messages/export returns (newest first); narrow the filters to export more.',
    default: 100_000,
    accepts: 'an integer 1..1000000',
    parse: integer(1, 1_000_000),
  }),
  documentMaxBytes: setting<number>({
    key: 'documentMaxBytes',
    env: 'HONGYAN_DOCUMENT_MAX_BYTES',
    doc: 'Largest qualification document (business licence, ID, industry licence) a tenant may upload, in bytes; a larger one is refused with 413.',
    default: 10 * 1024 * 1024,
    accepts: 'an integer 1024..104857600',
    parse: integer(1024, 100 * 1024 * 1024),
  }),
  registrationsPerAddressPerHour: setting<number>({
    key: 'registrationsPerAddressPerHour',
    env: 'HONGYAN_REGISTRATIONS_PER_ADDRESS_PER_HOUR',
    doc: 'Self-registrations (POST /v1/auth/register) one source address may make per hour on one node; more answer 429.',
    default: 10,
    accepts: 'an integer 1..100000',
    parse: integer(1, 100_000),
  }),
  sessionIdleMinutes: setting<number>({
    key: 'sessionIdleMinutes',
    env: 'HONGYAN_SESSION_IDLE_MINUTES',
    doc: 'A console session unused for this many minutes ends; the member logs in again.',
    default: 30,
    accepts: 'an integer 1..10080',
    parse: integer(1, 10_080),
  }),
  sessionAbsoluteHours: setting<number>({
    key: 'sessionAbsoluteHours',
    env: 'HONGYAN_SESSION_ABSOLUTE_HOURS',
    doc: 'A console session ends this many hours after login, however active.',
    default: 12,
    accepts: 'an integer 1..720',
    parse: integer(1, 720),
  }),
  sessionCookieSecure: setting<boolean>({
    key: 'sessionCookieSecure',
    env: 'HONGYAN_SESSION_COOKIE_SECURE',
    doc: 'Mark session cookies `Secure` (sent over https only). Turn on when Hongyan is served over https (behind a TLS proxy); off by default because a fresh install answers on plain http://127.0.0.1.',
    default: false,
    accepts: 'on or off',
    parse: onOff,
  }),
  loginFreeFailures: setting<number>({
    key: 'loginFreeFailures',
    env: 'HONGYAN_LOGIN_FREE_FAILURES',
    doc: 'Wrong passwords (or codes) allowed for an account or an address before each next attempt is delayed; the delay then doubles from `loginBackoffBaseMs` up to `loginBackoffMaxMs`.',
    default: 3,
    accepts: 'an integer 0..100',
    parse: integer(0, 100),
  }),
  loginBackoffBaseMs: setting<number>({
    key: 'loginBackoffBaseMs',
    env: 'HONGYAN_LOGIN_BACKOFF_BASE_MS',
    doc: 'First delay imposed after the free login failures.',
    default: 1000,
    accepts: 'an integer 1..3600000',
    parse: integer(1, 3_600_000),
  }),
  loginBackoffMaxMs: setting<number>({
    key: 'loginBackoffMaxMs',
    env: 'HONGYAN_LOGIN_BACKOFF_MAX_MS',
    doc: 'Longest delay between login attempts short of a lockout.',
    default: 60_000,
    accepts: 'an integer 1..3600000',
    parse: integer(1, 3_600_000),
  }),
  loginLockoutAfter: setting<number>({
    key: 'loginLockoutAfter',
    env: 'HONGYAN_LOGIN_LOCKOUT_AFTER',
    doc: 'Consecutive login failures that lock an account for `loginLockoutMinutes` (logged to the audit log).',
    default: 10,
    accepts: 'an integer 1..1000',
    parse: integer(1, 1000),
  }),
  loginAddressLockoutAfter: setting<number>({
    key: 'loginAddressLockoutAfter',
    env: 'HONGYAN_LOGIN_ADDRESS_LOCKOUT_AFTER',
    doc: 'Login failures from one client address, over any accounts, that lock that address out of login for `loginLockoutMinutes`. Behind a reverse proxy every client shares its address: raise it.',
    default: 50,
    accepts: 'an integer 1..100000',
    parse: integer(1, 100_000),
  }),
  loginLockoutMinutes: setting<number>({
    key: 'loginLockoutMinutes',
    env: 'HONGYAN_LOGIN_LOCKOUT_MINUTES',
    doc: 'How long a lockout lasts; failures older than this are forgotten.',
    default: 15,
    accepts: 'an integer 1..10080',
    parse: integer(1, 10_080),
  }),
  shortLinkBaseUrl: setting<string>({
    key: 'shortLinkBaseUrl',
    env: 'HONGYAN_SHORT_LINK_BASE_URL',
    doc: "Where campaign short links point: the short domain (and path) that reaches this server's `GET /s/:code`, e.g. `https://t.example.cn/s`. A link is this, `/`, and an 8-character code; it counts toward the message length as written.",
    default: 'http://127.0.0.1:8080/s',
    accepts: 'an absolute http(s) URL without query or fragment',
    parse: (raw) => {
      const v = raw.trim().replace(/\/+$/, '');
      let url: URL;
      try {
        url = new URL(v);
      } catch {
        throw new SettingValueError(`expected an absolute http(s) URL, got "${raw}"`);
      }
      if (!['http:', 'https:'].includes(url.protocol) || url.search !== '' || url.hash !== '')
        throw new SettingValueError(`expected an http(s) URL without query or fragment, got "${raw}"`);
      return v;
    },
  }),
  campaignIntervalMs: setting<number>({
    key: 'campaignIntervalMs',
    env: 'HONGYAN_CAMPAIGN_INTERVAL_MS',
    doc: 'How often a worker looks for campaign runs that are due, runs to admit in chunks, and A/B tests to decide.',
    default: 1000,
    accepts: 'an integer 50..60000',
    parse: integer(50, 60_000),
  }),
  statsIntervalMs: setting<number>({
    key: 'statsIntervalMs',
    env: 'HONGYAN_STATS_INTERVAL_MS',
    doc: 'How often a worker adds newly final messages, clicks and opt-outs to the daily statistics (GET /v1/stats/daily).',
    default: 10_000,
    accepts: 'an integer 100..3600000',
    parse: integer(100, 3_600_000),
  }),
  audienceFileRetentionDays: setting<number>({
    key: 'audienceFileRetentionDays',
    env: 'HONGYAN_AUDIENCE_FILE_RETENTION_DAYS',
    doc: 'Days an uploaded campaign audience file (`POST /v1/campaigns/audience-files`) is kept after its upload; the worker removes it within about 10 minutes after that, and its id then answers `404 campaigns.audience_file_not_found`. Campaigns already created from it keep their own copy of its recipients.',
    default: 7,
    accepts: 'an integer 1..3650',
    parse: integer(1, 3650),
  }),
  contactsImportMaxBytes: setting<number>({
    key: 'contactsImportMaxBytes',
    env: 'HONGYAN_CONTACTS_IMPORT_MAX_BYTES',
    doc: 'Largest contact import file (CSV or XLSX) accepted by `POST /v1/contacts/imports`; a larger upload is refused (413) with nothing stored.',
    default: 200 * 1024 * 1024,
    accepts: 'an integer 1024..2147483647',
    parse: integer(1024, 2_147_483_647),
  }),
  contactsImportMaxRows: setting<number>({
    key: 'contactsImportMaxRows',
    env: 'HONGYAN_CONTACTS_IMPORT_MAX_ROWS',
    doc: 'Most data rows one contact import reads; a longer file ends the job `failed`, saying that only the first rows were imported.',
    default: 1_000_000,
    accepts: 'an integer 1..10000000',
    parse: integer(1, 10_000_000),
  }),
  contactsImportChunkRows: setting<number>({
    key: 'contactsImportChunkRows',
    env: 'HONGYAN_CONTACTS_IMPORT_CHUNK_ROWS',
    doc: 'Rows of a contact import committed per transaction (contacts, error rows and progress together); a restarted job resumes after the last committed chunk.',
    default: 2000,
    accepts: 'an integer 1..50000',
    parse: integer(1, 50_000),
  }),
  contactsImportLeaseSeconds: setting<number>({
    key: 'contactsImportLeaseSeconds',
    env: 'HONGYAN_CONTACTS_IMPORT_LEASE_SECONDS',
    doc: 'How long a node holds a contact import without a heartbeat before another node takes it over and resumes it.',
    default: 60,
    accepts: 'an integer 5..3600',
    parse: integer(5, 3600),
  }),
  contactsEngagementIntervalSeconds: setting<number>({
    key: 'contactsEngagementIntervalSeconds',
    env: 'HONGYAN_CONTACTS_ENGAGEMENT_INTERVAL_SECONDS',
    doc: "How often a worker brings contacts' last_engaged_at up to date from the deliveries and replies recorded since it last looked.",
    default: 60,
    accepts: 'an integer 1..86400',
    parse: integer(1, 86_400),
  }),
  webhookIntervalMs: setting<number>({
    key: 'webhookIntervalMs',
    env: 'HONGYAN_WEBHOOK_INTERVAL_MS',
    doc: 'How often a worker looks for webhook deliveries that are due (a backlog is worked without pause).',
    default: 200,
    accepts: 'an integer 10..60000',
    parse: integer(10, 60_000),
  }),
  webhookBatchMax: setting<number>({
    key: 'webhookBatchMax',
    env: 'HONGYAN_WEBHOOK_BATCH_MAX',
    doc: 'Most events in one webhook POST (`{"events":[...]}`).',
    default: 100,
    accepts: 'an integer 1..1000',
    parse: integer(1, 1000),
  }),
  webhookClaimMax: setting<number>({
    key: 'webhookClaimMax',
    env: 'HONGYAN_WEBHOOK_CLAIM_MAX',
    doc: 'Most webhook deliveries one worker claims at a time (then sends them, a few POSTs at once).',
    default: 2000,
    accepts: 'an integer 1..100000',
    parse: integer(1, 100_000),
  }),
  webhookConcurrency: setting<number>({
    key: 'webhookConcurrency',
    env: 'HONGYAN_WEBHOOK_CONCURRENCY',
    doc: "Webhook POSTs a worker has in flight at once (a message's events always share one POST, so they keep their order).",
    default: 16,
    accepts: 'an integer 1..1000',
    parse: integer(1, 1000),
  }),
  webhookRetryBaseMs: setting<number>({
    key: 'webhookRetryBaseMs',
    env: 'HONGYAN_WEBHOOK_RETRY_BASE_MS',
    doc: 'First wait after a failed webhook POST; it doubles at each failure up to `webhookRetryMaxMs`.',
    default: 10_000,
    accepts: 'an integer 100..3600000',
    parse: integer(100, 3_600_000),
  }),
  webhookRetryMaxMs: setting<number>({
    key: 'webhookRetryMaxMs',
    env: 'HONGYAN_WEBHOOK_RETRY_MAX_MS',
    doc: 'Longest wait between two attempts of a webhook delivery.',
    default: 3_600_000,
    accepts: 'an integer 1000..86400000',
    parse: integer(1000, 86_400_000),
  }),
  webhookRetryHours: setting<number>({
    key: 'webhookRetryHours',
    env: 'HONGYAN_WEBHOOK_RETRY_HOURS',
    doc: 'A webhook delivery still failing this many hours after its event is dead-lettered (listed, replayable).',
    default: 24,
    accepts: 'an integer 1..720',
    parse: integer(1, 720),
  }),
  webhookConnectTimeoutMs: setting<number>({
    key: 'webhookConnectTimeoutMs',
    env: 'HONGYAN_WEBHOOK_CONNECT_TIMEOUT_MS',
    doc: 'A webhook receiver not connected within this many milliseconds is a failed attempt.',
    default: 5000,
    accepts: 'an integer 100..60000',
    parse: integer(100, 60_000),
  }),
  webhookResponseTimeoutMs: setting<number>({
    key: 'webhookResponseTimeoutMs',
    env: 'HONGYAN_WEBHOOK_RESPONSE_TIMEOUT_MS',
    doc: 'A webhook POST whose whole response has not arrived within this many milliseconds is a failed attempt.',
    default: 10_000,
    accepts: 'an integer 100..120000',
    parse: integer(100, 120_000),
  }),
  webhookMaxResponseBytes: setting<number>({
    key: 'webhookMaxResponseBytes',
    env: 'HONGYAN_WEBHOOK_MAX_RESPONSE_BYTES',
    doc: 'A webhook response body longer than this is cut off and the attempt counts as failed.',
    default: 65_536,
    accepts: 'an integer 0..10485760',
    parse: integer(0, 10 * 1024 * 1024),
  }),
  webhookAllowRanges: setting<string>({
    key: 'webhookAllowRanges',
    env: 'HONGYAN_WEBHOOK_ALLOW_RANGES',
    doc: 'Address ranges webhooks may reach although they point inside (loopback, private, link-local, CGNAT, multicast, cloud metadata), comma-separated CIDRs such as `10.1.0.0/16,127.0.0.1/32`. Empty: none; checked on the address each connection actually reaches.',
    default: '',
    accepts: 'comma-separated IPv4/IPv6 addresses or CIDR ranges, or empty',
    parse: (raw) => {
      try {
        addressPolicyOf(raw);
      } catch (error) {
        throw new SettingValueError((error as Error).message);
      }
      return raw.trim();
    },
  }),
  verificationWindowSeconds: setting<number>({
    key: 'verificationWindowSeconds',
    env: 'HONGYAN_VERIFICATION_WINDOW_SECONDS',
    doc: 'Window of the OTP pumping protection: verification sends within it whose code was never approved are counted.',
    default: 3600,
    accepts: 'an integer 60..604800',
    parse: integer(60, 604_800),
  }),
  verificationTenantMax: setting<number>({
    key: 'verificationTenantMax',
    env: 'HONGYAN_VERIFICATION_TENANT_MAX',
    doc: 'Most verification sends with no successful check a tenant may make within the window (`verifications.velocity` above it).',
    default: 1000,
    accepts: 'an integer 1..10000000',
    parse: integer(1, 10_000_000),
  }),
  verificationPrefixMax: setting<number>({
    key: 'verificationPrefixMax',
    env: 'HONGYAN_VERIFICATION_PREFIX_MAX',
    doc: 'Most verification sends with no successful check a tenant may make to one number prefix within the window (premium-rate pumping).',
    default: 30,
    accepts: 'an integer 1..10000000',
    parse: integer(1, 10_000_000),
  }),
  verificationPrefixDigits: setting<number>({
    key: 'verificationPrefixDigits',
    env: 'HONGYAN_VERIFICATION_PREFIX_DIGITS',
    doc: 'Digits of the E.164 number (country code included) that make its prefix for the pumping protection (7: +86 138 1234…).',
    default: 7,
    accepts: 'an integer 2..15',
    parse: integer(2, 15),
  }),
  metricsToken: setting<string>({
    key: 'metricsToken',
    env: 'HONGYAN_METRICS_TOKEN',
    doc: 'Bearer token GET /metrics requires (docs/metrics.md). Empty: /metrics answers only requests from loopback.',
    default: '',
    accepts: 'a string (empty: loopback only)',
    parse: (raw) => raw.trim(),
  }),
  metricsScanMessages: setting<number>({
    key: 'metricsScanMessages',
    env: 'HONGYAN_METRICS_SCAN_MESSAGES',
    doc: 'How many of the newest messages (by id) `hongyan_messages_recent` counts by state and type at each scrape.',
    default: 100_000,
    accepts: 'an integer 1000..10000000',
    parse: integer(1000, 10_000_000),
  }),
  metricsCountCap: setting<number>({
    key: 'metricsCountCap',
    env: 'HONGYAN_METRICS_COUNT_CAP',
    doc: 'Queue depths, open states and the webhook backlog are each counted up to this many rows per scrape.',
    default: 1_000_000,
    accepts: 'an integer 1000..100000000',
    parse: integer(1000, 100_000_000),
  }),
  logLevel: setting<string>({
    key: 'logLevel',
    env: 'HONGYAN_LOG_LEVEL',
    doc: 'Log level (pino).',
    default: 'info',
    accepts: 'fatal, error, warn, info, debug, trace or silent',
    parse: logLevel,
  }),
} as const;

type Settings = typeof settings;
export type Config = { [K in keyof Settings]: Settings[K]['default'] } & { configFile: string | null };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Build the configuration from (in increasing precedence) defaults, the config file and the
 * environment. Every bad value is reported at once, each with the setting's name and source.
 */
export function loadConfig({
  env = process.env,
  configFile = env.HONGYAN_CONFIG ?? null,
  cwd = process.cwd(),
}: {
  env?: NodeJS.ProcessEnv;
  configFile?: string | null;
  cwd?: string;
} = {}): Config {
  const problems: string[] = [];
  let fileValues: Record<string, unknown> = {};
  let resolvedFile: string | null = null;
  if (configFile) {
    resolvedFile = path.resolve(cwd, configFile);
    try {
      const parsed: unknown = JSON.parse(readFileSync(resolvedFile, 'utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        problems.push(`${resolvedFile}: expected a JSON object of settings`);
      } else {
        fileValues = parsed as Record<string, unknown>;
      }
    } catch (error) {
      problems.push(`${resolvedFile}: cannot read config file: ${(error as Error).message}`);
    }
    for (const key of Object.keys(fileValues)) {
      if (!(key in settings)) {
        problems.push(
          `${resolvedFile}: unknown setting "${key}" (known: ${Object.keys(settings).join(', ')})`,
        );
      }
    }
  }

  const config: Record<string, unknown> = { configFile: resolvedFile };
  for (const [key, decl] of Object.entries(settings) as [string, SettingDeclaration<unknown>][]) {
    const envValue = env[decl.env];
    let raw: string | undefined;
    let source: string;
    if (envValue !== undefined) {
      raw = envValue;
      source = `environment variable ${decl.env}`;
    } else if (key in fileValues) {
      const v = fileValues[key];
      raw = v === null ? '' : String(v);
      source = `"${key}" in ${resolvedFile}`;
    } else {
      config[key] = decl.default;
      continue;
    }
    try {
      config[key] = decl.parse(raw);
    } catch (error) {
      if (!(error instanceof SettingValueError)) throw error;
      problems.push(`${source}: ${error.message} (accepts ${decl.accepts})`);
    }
  }
  if (
    problems.length === 0 &&
    (config.heartbeatIntervalMs as number) * 2 > (config.nodeDeadAfterMs as number)
  )
    problems.push(
      `heartbeatIntervalMs (${String(config.heartbeatIntervalMs)}) must be at most half of nodeDeadAfterMs (${String(config.nodeDeadAfterMs)}): a node stops sending when it has not beaten for three quarters of it`,
    );
  if (problems.length > 0) throw new ConfigError(problems);
  config.dataDir = path.resolve(cwd, config.dataDir as string);
  return config as Config;
}

/** Markdown reference of every setting, generated from the declarations above. */
export function renderConfigReference(): string {
  const lines = [
    '# Configuration reference',
    '',
    'Generated by `npm run docs:config` from `src/app/config.ts`; do not edit by hand.',
    '',
    'Settings come from the environment, or from a JSON config file named by `HONGYAN_CONFIG` (or',
    '`--config FILE`) whose keys are the setting names below. The environment wins over the file.',
    'A bad value stops the start with a message naming the setting and what it accepts.',
    '',
    '| setting | environment | default | accepts | meaning |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const decl of Object.values(settings) as SettingDeclaration<unknown>[]) {
    const def = decl.default === null ? '(unset)' : `\`${String(decl.default)}\``;
    lines.push(`| \`${decl.key}\` | \`${decl.env}\` | ${def} | ${decl.accepts} | ${decl.doc} |`);
  }
  return `${lines.join('\n')}\n`;
}
