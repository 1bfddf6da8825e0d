// Single sends, signed (HMAC, docs/api-signing.md) against bearer: the same in-process server
// and database, 50 keep-alive clients, alternating phases (bearer, signed, bearer, signed) so
// that a drift of the machine hits both. No worker runs: this measures what the signature adds
// to intake (client-side signing included, since the clients share the process).
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/signed.ts
//   BENCH_PHASE_MS (default 4000), BENCH_CLIENTS (default 50), BENCH_ROUNDS (default 2),
//   BENCH_CONTROL=1 (see bearerHeaders), BENCH_ONLY=bearer|signed
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import pg from 'pg';
import pino from 'pino';
import { loadConfig } from '../src/app/config.ts';
import { createContext } from '../src/app/context.ts';
import { migrate } from '../src/db/migrate.ts';
import { createDb } from '../src/db/pool.ts';
import { buildHttpServer } from '../src/http/server.ts';
import { createTenant } from '../src/modules/accounts/accounts.usecases.ts';
import { canonicalString, sha256Hex, sign } from '../src/modules/credentials/credentials.models.ts';
import { createCredential } from '../src/modules/credentials/credentials.usecases.ts';

const adminUrl = process.env.DATABASE_URL;
if (!adminUrl) throw new Error('set DATABASE_URL to a server where a bench database may be created');
const phaseMs = Number(process.env.BENCH_PHASE_MS ?? 4000);
const clients = Number(process.env.BENCH_CLIENTS ?? 50);

const name = `hy_bench_signed_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`create database ${name}`);
const url = new URL(adminUrl);
url.pathname = `/${name}`;
const db = createDb({ connectionString: url.toString(), max: 20 });
try {
  await migrate(db.pool, () => {});
  const config = loadConfig({
    env: { HONGYAN_LOG_LEVEL: 'silent', HONGYAN_MASTER_KEY: randomBytes(32).toString('base64') },
    configFile: null,
  });
  const ctx = createContext({ config, db, logger: pino({ level: 'silent' }) });
  const app = await buildHttpServer(ctx);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  const { tenant, apiKey } = await createTenant({ name: 'bench', repository: ctx.accounts });
  const { credential, appSecret } = await createCredential({
    tenantId: tenant.id,
    name: 'bench',
    scopes: ['send'],
    rateLimit: 1_000_000,
    repository: ctx.credentials,
    keyRing: ctx.keyRing,
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });

  const body = JSON.stringify({
    to: '13800138000',
    content: '【鸿雁】您的验证码是 123456',
    type: 'verification',
  });
  // BENCH_CONTROL=1: bearer requests also carry four signing-sized headers (X-Hz-*, ignored by the
  // server) computed by the same client-side signing, so that both modes cost the in-process
  // clients the same and the difference left is the server's verification and nonce.
  const bearerHeaders = () =>
    process.env.BENCH_CONTROL === '1'
      ? {
          authorization: `Bearer ${apiKey.key}`,
          ...Object.fromEntries(
            Object.entries(signedHeaders()).map(([k, v]) => [k.replace('x-hy-', 'x-hz-'), v]),
          ),
        }
      : { authorization: `Bearer ${apiKey.key}` };
  const signedHeaders = () => {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = randomBytes(12).toString('base64url');
    const canonical = canonicalString({
      method: 'POST',
      url: '/v1/messages',
      bodySha256: sha256Hex(body),
      timestamp,
      nonce,
    });
    return {
      'x-hy-key': credential.app_key,
      'x-hy-timestamp': timestamp,
      'x-hy-nonce': nonce,
      'x-hy-signature': sign(appSecret, canonical),
    };
  };
  const post = (headers: Record<string, string>) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/v1/messages',
          agent,
          headers: {
            ...headers,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  async function phase(headers: () => Record<string, string>) {
    const until = Date.now() + phaseMs;
    let ok = 0;
    const started = Date.now();
    const cpu = process.cpuUsage();
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (Date.now() < until) {
          const status = await post(headers());
          if (status !== 202) throw new Error(`answered ${status}`);
          ok += 1;
        }
      }),
    );
    const used = process.cpuUsage(cpu);
    return { rate: (ok / (Date.now() - started)) * 1000, cpuUs: (used.user + used.system) / ok };
  }

  await phase(bearerHeaders); // warm-up, not counted
  await phase(signedHeaders);
  const runs = {
    bearer: [] as { rate: number; cpuUs: number }[],
    signed: [] as { rate: number; cpuUs: number }[],
  };
  for (let i = 0; i < Number(process.env.BENCH_ROUNDS ?? 2); i++) {
    // Alternating which goes first, so that neither always follows the other.
    const order = i % 2 === 0 ? (['bearer', 'signed'] as const) : (['signed', 'bearer'] as const);
    for (const mode of order.filter((m) => (process.env.BENCH_ONLY ?? m) === m))
      runs[mode].push(await phase(mode === 'bearer' ? bearerHeaders : signedHeaders));
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const summary = (mode: 'bearer' | 'signed') => ({
    per_s: runs[mode].map((r) => Math.round(r.rate)),
    mean_per_s: Math.round(mean(runs[mode].map((r) => r.rate))),
    // CPU of this process (server and clients) per request: less at the mercy of other
    // processes on the machine than the rate.
    node_cpu_us_per_request: Math.round(mean(runs[mode].map((r) => r.cpuUs))),
  });
  const bearer = summary('bearer');
  const signed = summary('signed');
  console.log(
    JSON.stringify({
      clients,
      phase_ms: phaseMs,
      bearer,
      signed,
      signed_vs_bearer_rate: `${(((signed.mean_per_s - bearer.mean_per_s) / bearer.mean_per_s) * 100).toFixed(1)}%`,
    }),
  );
  agent.destroy();
  await app.close();
} finally {
  await db.close();
  await admin.query(`drop database if exists ${name} with (force)`);
  await admin.end();
}
