// `hongyan billing package|order` through the real CLI: `node bin/hongyan.js ...` as a child process.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../../test/helpers/db.ts';
import { createOrder } from './orders.usecases.ts';

const run = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '../../../../bin/hongyan.js');
let t: Awaited<ReturnType<typeof createTestDatabase>>;

async function hongyan(args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      env: { ...process.env, DATABASE_URL: t.url, HONGYAN_LOG_LEVEL: 'silent' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => t.drop());

// Each command is a new Node process loading TypeScript: seconds apiece on a loaded machine.
describe('hongyan billing package|order', { timeout: 180_000 }, () => {
  it('adds and lists packages, lists and confirms an order once, with --json', async () => {
    const added = await hongyan([
      'billing',
      'package',
      'add',
      '--name',
      '1万条',
      '--parts',
      '10000',
      '--price',
      '450.00',
      '--validity-days',
      '365',
      '--json',
    ]);
    expect(added.code, added.stderr).toBe(0);
    const pkg = JSON.parse(added.stdout);
    expect(pkg).toMatchObject({
      name: '1万条',
      parts: 10000,
      price: '450.00',
      currency: 'CNY',
      enabled: true,
    });
    const listed = await hongyan(['billing', 'package', 'list']);
    expect(listed.stdout).toContain(`${pkg.id}\t1万条\t10000 parts\t450.00 CNY\t365 days`);

    const tenant = JSON.parse((await hongyan(['tenant', 'create', '--name', '命令行商店', '--json'])).stdout);
    const tenantId = tenant.tenant.id as number;
    const order = await createOrder({
      db: t.db.pool,
      tenantId,
      packageId: pkg.id,
      actor: 'test',
      now: new Date(),
    });
    const open = JSON.parse(
      (await hongyan(['billing', 'order', 'list', '--status', 'created', '--json'])).stdout,
    );
    expect(open).toEqual([expect.objectContaining({ id: order.id, tenant_id: tenantId, status: 'created' })]);

    const before = JSON.parse(
      (await hongyan(['billing', 'balance', '--tenant', String(tenantId), '--json'])).stdout,
    );
    const first = await hongyan([
      'billing',
      'order',
      'confirm',
      String(order.id),
      '--reference',
      'ALIPAY-123',
      '--json',
    ]);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({
      credited: true,
      order: { status: 'credited', payment_reference: 'ALIPAY-123' },
    });
    const again = await hongyan(['billing', 'order', 'confirm', String(order.id)]);
    expect(again.stdout).toContain('already credited; nothing changed');
    const after = JSON.parse(
      (await hongyan(['billing', 'balance', '--tenant', String(tenantId), '--json'])).stdout,
    );
    expect(after.available - before.available).toBe(10000);
  });

  it('refuses bad input with exit 2 and a missing order with its error code', async () => {
    const bad = await hongyan([
      'billing',
      'package',
      'add',
      '--name',
      'x',
      '--parts',
      '10',
      '--price',
      '1.999',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--price');
    const missing = await hongyan(['billing', 'order', 'confirm', '999999', '--json']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout).error.code).toBe('billing.order_not_found');
  });
});
