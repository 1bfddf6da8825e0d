// Changes of channels, routes, ported numbers and circuit breakers made with the CLI are in the
// audit log, read back through the operator audit API as an operator would (the API's own
// changes: src/modules/routing/routing.routes.test.ts). The CLI runs as a real process.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, loginAs, newStaff, withSession } from '../src/modules/accounts/accounts.testkit.ts';
import { buildTestApp } from './helpers/app.ts';
import { createTestDatabase } from './helpers/db.ts';

const run = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '../bin/hongyan.js');

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let admin: Browser;

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app } = await buildTestApp(t.db));
  await newStaff(t.db, 'boss', 'admin');
  admin = (await loginAs(app, 'boss', 'staff password 1')).browser!;
});
afterAll(async () => {
  await app?.close();
  await t?.drop();
});

interface AuditRow {
  id: number;
  actor: string;
  action: string;
  target: string | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

describe('audit of routing changes made with the CLI', () => {
  it('channel add/set/enable/disable/remove, route add/remove, port/unport and route breaker each write an audit row naming the CLI', async () => {
    const env = { ...process.env, DATABASE_URL: t.url, HONGYAN_LOG_LEVEL: 'silent' };
    const cli = async (...args: string[]) =>
      JSON.parse((await run(process.execPath, [BIN, ...args, '--json'], { env })).stdout);

    const channel = await cli(
      'channel',
      'add',
      '--name',
      'cli-a',
      '--host',
      '127.0.0.1',
      '--system-id',
      'a',
      '--password',
      'pw12345',
    );
    await cli('channel', 'add', '--name', 'cli-b', '--host', '127.0.0.1', '--system-id', 'b');
    await cli('channel', 'set', 'cli-a', '--weight', '4');
    await cli('channel', 'set', 'cli-a', '--disable');
    await cli('channel', 'set', 'cli-a', '--enable');
    const breaker = await cli('route', 'breaker', 'cli-a', '--degrade-below', '0.8', '--probe-share', '0.05');
    expect(breaker).toMatchObject({
      channel: 'cli-a',
      degrade_below: 0.8,
      recover_above: 0.95,
      probe_share: 0.05,
    });
    // A refused breaker change: the stable code on stdout, exit 1, nothing written.
    const refused = await run(
      process.execPath,
      [BIN, 'route', 'breaker', 'cli-a', '--recover-above', '0.5', '--json'],
      { env },
    ).catch((e: { code: number; stdout: string }) => e);
    expect((refused as { code: number }).code).toBe(1);
    expect(JSON.parse((refused as { stdout: string }).stdout).error.code).toBe('routing.invalid_breaker');
    const route = await cli('route', 'add', '--channels', 'cli-a:3>cli-b', '--network', 'cmcc');
    await cli('route', 'remove', String(route.id));
    await cli('route', 'port', '--number', '+8613900000002', '--network', 'ctcc', '--note', 'ported');
    await cli('route', 'unport', '--number', '+8613900000002');
    await cli('channel', 'remove', 'cli-b');

    const res = await app.inject({
      method: 'GET',
      url: '/v1/operator/audit?limit=500',
      headers: withSession(admin),
    });
    expect(res.statusCode, res.body).toBe(200);
    const rows = (res.json().data as AuditRow[])
      .filter((r) => r.action.startsWith('channel.') || r.action.startsWith('route.'))
      .reverse();
    expect(rows.map((r) => r.action)).toEqual([
      'channel.created',
      'channel.created',
      'channel.changed',
      'channel.disabled',
      'channel.enabled',
      'channel.breaker_changed',
      'route.created',
      'route.removed',
      'route.number_ported',
      'route.number_unported',
      'channel.removed',
    ]);
    for (const r of rows) expect(r.actor).toBe('operator-cli');
    const byAction = (a: string) => rows.find((r) => r.action === a)!;
    expect(byAction('channel.created')).toMatchObject({
      target: `channel:${channel.id}`,
      after: { name: 'cli-a', password_changed: true },
    });
    expect(JSON.stringify(rows)).not.toContain('pw12345');
    expect(byAction('channel.changed')).toMatchObject({ before: { weight: 1 }, after: { weight: 4 } });
    expect(byAction('channel.disabled').after).toMatchObject({ enabled: false });
    expect(byAction('channel.breaker_changed')).toMatchObject({
      before: { degrade_below: 0.9, probe_share: 0.02 },
      after: { degrade_below: 0.8, probe_share: 0.05 },
    });
    expect(byAction('route.created')).toMatchObject({
      target: `route:${route.id}`,
      after: {
        carrier: 'cmcc',
        channels: expect.arrayContaining([expect.objectContaining({ channel: 'cli-a', weight: 3 })]),
      },
    });
    expect(byAction('route.number_ported')).toMatchObject({
      target: 'number:+8613900000002',
      after: { carrier: 'ctcc', note: 'ported' },
    });
    expect(byAction('channel.removed').before).toMatchObject({ name: 'cli-b' });
  }, 300_000);
});
