// Own sessions through the real server: a member lists only their live sessions, ends one of them
// (that cookie stops working, the others keep working), and cannot end another account's session.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import { fakeClock, loginAs, newMember, newStaff, withSession } from './accounts.testkit.ts';
import { hashToken } from './sessions.models.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
const clock = fakeClock();

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app, ctx } = await buildTestApp(t.db, { clock }));
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

const list = (headers: Record<string, string>) =>
  app.inject({ method: 'GET', url: '/v1/auth/sessions', headers });
const end = (headers: Record<string, string>, id: string) =>
  app.inject({ method: 'DELETE', url: `/v1/auth/sessions/${id}`, headers });

describe('own sessions', () => {
  it('lists only the caller’s own sessions, marking the current one', async () => {
    const tenant = await newTenant(ctx, 'S1');
    const m = await newMember(t.db, tenant.tenantId, 'list@s1.cn', 'viewer');
    const other = await newMember(t.db, tenant.tenantId, 'other@s1.cn', 'viewer');
    const laptop = (await loginAs(app, m.email, m.password)).browser!;
    const phone = (await loginAs(app, m.email, m.password)).browser!;
    await loginAs(app, other.email, other.password);
    const res = await list(withSession(laptop, false));
    expect(res.statusCode).toBe(200);
    const sessions = res.json().sessions as { id: string; current: boolean }[];
    expect(sessions.map((s) => s.id).sort()).toEqual(
      [hashToken(laptop.sessionId).toString('hex'), hashToken(phone.sessionId).toString('hex')].sort(),
    );
    expect(sessions.find((s) => s.current)?.id).toBe(hashToken(laptop.sessionId).toString('hex'));
  });

  it('ends one own session: that cookie is refused, the other still works, and it is audited', async () => {
    const tenant = await newTenant(ctx, 'S2');
    const m = await newMember(t.db, tenant.tenantId, 'end@s2.cn', 'sender');
    const laptop = (await loginAs(app, m.email, m.password)).browser!;
    const phone = (await loginAs(app, m.email, m.password)).browser!;
    const phoneId = hashToken(phone.sessionId).toString('hex');
    const res = await end(withSession(laptop), phoneId);
    expect(res.statusCode).toBe(204);
    expect((await list(withSession(phone, false))).statusCode).toBe(401);
    expect((await list(withSession(laptop, false))).statusCode).toBe(200);
    const { rows } = await t.db.pool.query(
      "select actor, action from audit_log where action = 'auth.session_revoked'",
    );
    expect(rows).toContainEqual({ actor: `member:${m.id}`, action: 'auth.session_revoked' });
    expect((await end(withSession(laptop), phoneId)).json().error.code).toBe('auth.session_not_found');
  });

  it("cannot end another account's session: 404, and that session keeps working", async () => {
    const tenant = await newTenant(ctx, 'S3');
    const m = await newMember(t.db, tenant.tenantId, 'me@s3.cn', 'owner');
    await newStaff(t.db, 'victim-staff', 'support');
    const mine = (await loginAs(app, m.email, m.password)).browser!;
    const theirs = (await loginAs(app, 'victim-staff', 'staff password 1')).browser!;
    const res = await end(withSession(mine), hashToken(theirs.sessionId).toString('hex'));
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('auth.session_not_found');
    expect((await list(withSession(theirs, false))).statusCode).toBe(200);
  });

  it('refuses an API key: sessions belong to console logins', async () => {
    const tenant = await newTenant(ctx, 'S4');
    const res = await list(tenant.auth);
    expect(res.statusCode).toBe(403);
  });
});
