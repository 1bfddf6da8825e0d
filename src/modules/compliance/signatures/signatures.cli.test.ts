// `hongyan tenant create --signature … --free-text`, `hongyan signature …` and `hongyan template …`
// through the real interface: `node bin/hongyan.js` as a child process.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../../test/helpers/db.ts';
import { submitTemplate } from '../templates/templates.usecases.ts';

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

describe('signature and template commands', { timeout: 180_000 }, () => {
  it('create a tenant with approved signatures and free text, list them, and review a template', async () => {
    const created = await hongyan([
      'tenant',
      'create',
      '--name',
      'Scripted',
      '--signature',
      '鸿雁',
      '--signature',
      '雁书',
      '--free-text',
      '--json',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const tenant = JSON.parse(created.stdout).tenant;
    expect(tenant).toMatchObject({ signatures: ['鸿雁', '雁书'], free_text: true });
    const row = await t.db.pool.query('select free_text from tenants where id = $1', [tenant.id]);
    expect(row.rows[0].free_text).toBe(true);

    const listed = JSON.parse(
      (await hongyan(['signature', 'list', '--status', 'approved', '--json'])).stdout,
    );
    expect(
      listed.map((s: { name: string; is_default: boolean; extension_code: string }) => [
        s.name,
        s.is_default,
        s.extension_code,
      ]),
    ).toEqual([
      ['鸿雁', true, '01'],
      ['雁书', false, '02'],
    ]);

    const tpl = await submitTemplate({
      db: t.db.pool,
      tenantId: tenant.id,
      input: { name: 'n', type: 'notification', content: '订单{order}已发货' },
      now: new Date(),
    });
    expect((await hongyan(['template', 'reject', tpl.id])).code).toBe(2); // no --reason
    const approved = await hongyan(['template', 'approve', tpl.id, '--json']);
    expect(approved.code, approved.stderr).toBe(0);
    expect(JSON.parse(approved.stdout).template).toMatchObject({ id: tpl.id, status: 'approved' });
    const again = await hongyan(['template', 'approve', tpl.id]);
    expect(again.code).not.toBe(0);
    expect(again.stdout).toContain('error templates.not_pending'); // an AppError is printed as a result
  });
});
