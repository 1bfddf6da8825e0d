// A running Hongyan (api, worker and carrier simulator roles on real sockets, database of its own)
// with one tenant ready for the vendor SDKs: credit, the approved signature 鸿雁, an approved
// verification template {code}, and a signed credential with every scope. For test/compat-*.test.ts.
import { rmSync } from 'node:fs';
import { loadConfig } from '../../app/config.ts';
import { type RunningHongyan, startHongyan } from '../../app/start.ts';
import { createDb, type Db } from '../../db/pool.ts';
import { type KeyRingSource, lazyKeyRing, loadKeyRing } from '../../shared/secrets.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { createAccountsRepository } from '../accounts/accounts.repository.ts';
import { createTenant } from '../accounts/accounts.usecases.ts';
import { creditForTests } from '../billing/billing.testkit.ts';
import { grantSending } from '../compliance/signatures/signatures.usecases.ts';
import { createApprovedTemplate } from '../compliance/templates/templates.usecases.ts';
import { SCOPES } from '../credentials/credentials.models.ts';
import { createCredentialsRepository } from '../credentials/credentials.repository.ts';
import { createCredential } from '../credentials/credentials.usecases.ts';
import { isFinalStatus } from '../messages/messages.models.ts';

export interface CompatHongyan {
  hongyan: RunningHongyan;
  httpUrl: string;
  /** host:port of the HTTP server, for SDKs configured with a host rather than a URL. */
  hostPort: string;
  db: Db;
  tenantId: number;
  bearer: string;
  appKey: string;
  appSecret: string;
  twilioSid: string;
  templateId: number;
  keyRing: KeyRingSource;
  stop(): Promise<void>;
}

export async function startCompatHongyan(name: string): Promise<CompatHongyan> {
  const t = await createTestDatabase();
  const config = loadConfig({
    env: {
      DATABASE_URL: t.url,
      HONGYAN_HTTP_PORT: '0',
      HONGYAN_SIMULATOR_PORT: '0',
      HONGYAN_SMPP_PORT: '0',
      HONGYAN_LOG_LEVEL: 'silent',
      HONGYAN_DATA_DIR: `${process.env.TMPDIR ?? '/tmp'}/hy-${name}-${process.pid}`,
      HONGYAN_WEBHOOK_ALLOW_RANGES: '127.0.0.1/32',
      HONGYAN_WEBHOOK_INTERVAL_MS: '20',
    },
    configFile: null,
  });
  const hongyan = await startHongyan({
    config,
    roles: ['api', 'worker', 'simulator'],
    installSignalHandlers: false,
    json: true,
  });
  const db = createDb({ connectionString: t.url, max: 3 });
  const created = await createTenant({ name, repository: createAccountsRepository(db.kysely) });
  const tenantId = created.tenant.id;
  await creditForTests(db.pool, tenantId);
  await grantSending({ db: db.pool, tenantId, signatures: ['鸿雁'], freeText: true });
  const template = await createApprovedTemplate({
    db: db.pool,
    tenantId,
    input: {
      name: 'Login code',
      type: 'verification',
      content: '您的验证码是{code}，5分钟内有效。',
      variables: [{ name: 'code', kind: 'code' }],
    },
  });
  const keyRing = lazyKeyRing(() => loadKeyRing({ masterKey: config.masterKey, dataDir: config.dataDir }));
  const { credential, appSecret } = await createCredential({
    tenantId,
    name: 'sdk',
    scopes: [...SCOPES],
    repository: createCredentialsRepository(db.pool),
    keyRing,
  });
  const httpUrl = hongyan.httpUrl!;
  return {
    hongyan,
    httpUrl,
    hostPort: new URL(httpUrl).host,
    db,
    tenantId,
    bearer: created.apiKey.key,
    appKey: credential.app_key,
    appSecret,
    twilioSid: credential.twilio_account_sid,
    templateId: Number(template.id),
    keyRing,
    async stop() {
      await hongyan.stop();
      await db.close();
      await t.drop();
      rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
}

/** Hongyan's own view of a message (GET /v1/messages/:id). */
export async function hongyanMessage(
  h: CompatHongyan,
  id: string,
): Promise<{ status: string; to: string; content: string }> {
  const res = await fetch(`${h.httpUrl}/v1/messages/${id}`, {
    headers: { authorization: `Bearer ${h.bearer}` },
  });
  if (res.status !== 200) throw new Error(`GET /v1/messages/${id} answered ${res.status}`);
  return (await res.json()) as { status: string; to: string; content: string };
}

/** Polls until each message is final in Hongyan; answers their statuses by id. */
export async function waitUntilFinal(h: CompatHongyan, ids: string[], timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const views = await Promise.all(ids.map((id) => hongyanMessage(h, id)));
    if (views.every((v) => isFinalStatus(v.status))) return new Map(ids.map((id, i) => [id, views[i]!]));
    if (Date.now() > deadline)
      throw new Error(
        `not final after ${timeoutMs} ms: ${views.map((v, i) => `${ids[i]}=${v.status}`).join(', ')}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * A pass-through HTTP recorder in front of Hongyan: SDKs are pointed at it, it forwards each
 * request byte for byte (Host header included, which signatures cover) and keeps it, so a test
 * can send the very same signed request again.
 */
export async function startRecorder(targetUrl: string) {
  const http = await import('node:http');
  const target = new URL(targetUrl);
  const recorded: RecordedRequest[] = [];
  const send = (r: RecordedRequest) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        { host: target.hostname, port: target.port, method: r.method, path: r.url, headers: r.headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
        },
      );
      req.on('error', reject);
      req.end(r.body);
    });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: { ...req.headers },
        body: Buffer.concat(chunks),
      };
      recorded.push(r);
      send(r).then(
        (answer) => res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body),
        () => res.writeHead(502).end(),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    recorded,
    /** Sends a recorded request again, unchanged. */
    replay: send,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * Another tenant of the same Hongyan, with the approved signature 鸿雁 and a template, and a
 * credential of the given scopes; with no credit unless asked.
 */
export async function addTenant(
  h: CompatHongyan,
  { name, credit, scopes }: { name: string; credit: boolean; scopes: string[] },
) {
  const created = await createTenant({ name, repository: createAccountsRepository(h.db.kysely) });
  const tenantId = created.tenant.id;
  if (credit) await creditForTests(h.db.pool, tenantId);
  await grantSending({ db: h.db.pool, tenantId, signatures: ['鸿雁'], freeText: true });
  const template = await createApprovedTemplate({
    db: h.db.pool,
    tenantId,
    input: {
      name: 'Code',
      type: 'verification',
      content: '验证码{code}',
      variables: [{ name: 'code', kind: 'code' }],
    },
  });
  const { credential, appSecret } = await createCredential({
    tenantId,
    name: 'sdk',
    scopes,
    repository: createCredentialsRepository(h.db.pool),
    keyRing: h.keyRing,
  });
  return {
    tenantId,
    appKey: credential.app_key,
    appSecret,
    credentialId: credential.id,
    templateId: Number(template.id),
  };
}
