// The rule sets through the real server: staff permissions, edits that take effect at once on this
// node, all-or-nothing imports with line numbers, export that import reads back, and the check
// endpoints for staff and tenants.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../../test/helpers/db.ts';
import { type Browser, loginAs, newMember, newStaff, withSession } from '../../accounts/accounts.testkit.ts';
import { DEFAULT_RULE_SETS } from './default-rules.ts';
import { loadRuleSets } from './rules.repository.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
let admin: Browser;
let support: Browser;
let tenant: Awaited<ReturnType<typeof newTenant>>;

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app, ctx } = await buildTestApp(t.db));
  await newStaff(t.db, 'boss', 'admin');
  await newStaff(t.db, 'helper', 'support');
  admin = (await loginAs(app, 'boss', 'staff password 1')).browser!;
  support = (await loginAs(app, 'helper', 'staff password 1')).browser!;
  tenant = await newTenant(ctx, 'Rules tenant');
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

const base = '/v1/operator/compliance/rule-sets';
const as = (who: Browser) => withSession(who);

async function check(content: string, type = 'notification', headers = tenant.auth) {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/compliance/check',
    headers,
    payload: { content, type },
  });
  expect(res.statusCode).toBe(200);
  return res.json() as {
    blocked: boolean;
    findings: { rule: string; severity: string; text: string; code: string }[];
  };
}

describe('the seeded rule sets', () => {
  it('migration 0011 seeds exactly the default sets of default-rules.ts', async () => {
    const { sets } = await loadRuleSets(t.db.pool);
    const plain = (s: (typeof DEFAULT_RULE_SETS)[number]) => ({
      id: s.id,
      name: s.name,
      kind: s.kind,
      severity: s.severity,
      enabled: s.enabled,
      types: [...s.types],
      subjects: [...s.subjects],
      words: [...s.words].sort(),
    });
    expect(sets.map((s) => ({ ...plain(s), words: [...s.words].sort() }))).toEqual(
      DEFAULT_RULE_SETS.map(plain),
    );
  });

  it('lists the sets with their word counts to any staff role', async () => {
    const res = await app.inject({ method: 'GET', url: base, headers: as(support) });
    expect(res.statusCode).toBe(200);
    const contact = res.json().data.find((s: { id: string }) => s.id === 'contact_diversion');
    expect(contact).toMatchObject({ kind: 'contact_diversion', severity: 'block', enabled: true });
    expect(contact.word_count).toBe(
      DEFAULT_RULE_SETS.find((s) => s.id === 'contact_diversion')!.words.length,
    );
  });
});

describe('permissions', () => {
  it('support staff may read but not change a set (403 auth.forbidden)', async () => {
    const res = await app.inject({
      method: 'PATCH',
      url: `${base}/banned_words`,
      headers: as(support),
      payload: { enabled: false },
    });
    expect({ status: res.statusCode, code: res.json().error.code }).toEqual({
      status: 403,
      code: 'auth.forbidden',
    });
  });

  it('a tenant key and a tenant owner get 403 on the operator routes', async () => {
    const owner = await newMember(t.db, tenant.tenantId, 'owner@rules.cn', 'owner');
    const browser = (await loginAs(app, owner.email, owner.password)).browser!;
    for (const headers of [tenant.auth, withSession(browser)]) {
      const res = await app.inject({ method: 'GET', url: base, headers });
      expect(res.statusCode).toBe(403);
    }
  });

  it('the tenant check needs messages.send: a viewer gets 403, staff get 403', async () => {
    const viewer = await newMember(t.db, tenant.tenantId, 'viewer@rules.cn', 'viewer');
    const browser = (await loginAs(app, viewer.email, viewer.password)).browser!;
    for (const headers of [withSession(browser), as(admin)]) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/compliance/check',
        headers,
        payload: { content: 'x', type: 'notification' },
      });
      expect(res.statusCode).toBe(403);
    }
  });
});

describe('checking a text', () => {
  it('a tenant sees each finding with its code, severity and matched text', async () => {
    const verdict = await check('【鸿雁】全网第一！加 微 信 领取', 'marketing');
    expect(verdict.blocked).toBe(true);
    expect(verdict.findings.map((f) => [f.code, f.severity, f.text])).toEqual([
      ['compliance.absolute_claim', 'block', '全网第一'],
      ['compliance.contact_diversion', 'block', '加 微 信'],
      ['compliance.missing_opt_out', 'block', ''],
    ]);
  });

  it('staff check templates too (subject template)', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/operator/compliance/check',
      headers: as(support),
      payload: { content: '【鸿雁】您好#content#', type: 'notification', subject: 'template' },
    });
    expect(res.json().findings.map((f: { rule: string }) => f.rule)).toEqual(['themeless_template']);
  });

  it('max_parts checks the length', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/compliance/check',
      headers: tenant.auth,
      payload: { content: `【鸿雁】${'长'.repeat(80)}`, type: 'notification', max_parts: 1 },
    });
    expect(res.json().findings.map((f: { rule: string }) => f.rule)).toEqual(['too_long']);
  });
});

describe('editing a set', () => {
  it('turning a set to warn takes effect at once and is audited', async () => {
    const res = await app.inject({
      method: 'PATCH',
      url: `${base}/contact_diversion`,
      headers: as(admin),
      payload: { severity: 'warn' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ severity: 'warn', version: 2 });
    const verdict = await check('【鸿雁】请加微信');
    expect(verdict).toMatchObject({
      blocked: false,
      findings: [{ rule: 'contact_diversion', severity: 'warn' }],
    });
    const audit = await t.db.pool.query(
      `select actor, before, after from audit_log where action = 'compliance.rule_set_changed' and target = 'rule_set:contact_diversion'`,
    );
    expect(audit.rows).toEqual([
      expect.objectContaining({
        before: { severity: 'block', enabled: true },
        after: { severity: 'warn', enabled: true },
      }),
    ]);
    await app.inject({
      method: 'PATCH',
      url: `${base}/contact_diversion`,
      headers: as(admin),
      payload: { severity: 'block' },
    });
    expect((await check('【鸿雁】请加微信')).blocked).toBe(true);
  });

  it('an unknown set is 404 compliance.rule_set_not_found', async () => {
    const res = await app.inject({ method: 'GET', url: `${base}/nope`, headers: as(admin) });
    expect({ status: res.statusCode, code: res.json().error.code }).toEqual({
      status: 404,
      code: 'compliance.rule_set_not_found',
    });
  });

  it('added words block at once; removed words no longer do', async () => {
    expect((await check('【鸿雁】今晚看烟花')).blocked).toBe(false);
    const added = await app.inject({
      method: 'POST',
      url: `${base}/banned_words/words`,
      headers: as(admin),
      payload: { words: ['烟花', '烟花', '爆竹'] },
    });
    expect(added.json()).toMatchObject({ added: 2 });
    const verdict = await check('【鸿雁】今晚看烟 花');
    expect(verdict.findings).toEqual([expect.objectContaining({ rule: 'banned_word', text: '烟 花' })]);
    const removed = await app.inject({
      method: 'POST',
      url: `${base}/banned_words/words/remove`,
      headers: as(admin),
      payload: { words: ['烟花'] },
    });
    expect(removed.json()).toMatchObject({ removed: 1 });
    expect((await check('【鸿雁】今晚看烟花')).blocked).toBe(false);
  });

  it('a word that is only symbols is refused with its position; nothing is added', async () => {
    const res = await app.inject({
      method: 'POST',
      url: `${base}/banned_words/words`,
      headers: as(admin),
      payload: { words: ['禁词甲', '***'] },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({
      code: 'compliance.invalid_words',
      details: { lines: [{ line: 2, text: '***', reason: 'no_letters' }] },
    });
    expect((await check('禁词甲')).blocked).toBe(false);
  });

  it('each word edit that changes the set moves its version once and is audited; one that changes nothing does neither', async () => {
    const url = `${base}/prohibited_industries`;
    const version = async () =>
      (await app.inject({ method: 'GET', url, headers: as(admin) })).json().version as number;
    const edit = async (path: string, payload: string | { words: string[] }, counts: object) => {
      const res = await app.inject({
        method: 'POST',
        url: `${url}${path}`,
        headers: typeof payload === 'string' ? { ...as(admin), 'content-type': 'text/plain' } : as(admin),
        payload,
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject(counts);
    };
    const before = await version();
    await edit('/words', { words: ['审计词甲', '审计词乙'] }, { added: 2 });
    await edit('/words', { words: ['审计词甲'] }, { added: 0 });
    await edit('/words/remove', { words: ['审计词乙', '不在集里'] }, { removed: 1 });
    await edit('/words/remove', { words: ['不在集里'] }, { removed: 0 });
    await edit('/import', '审计词丙\n审计词甲\n', { words: 2, added: 1, removed: 0 });
    await edit('/import', '审计词丙\n', { words: 1, added: 0, removed: 0 });
    expect(await version()).toBe(before + 3);
    const audit = await t.db.pool.query(
      `select actor, action, before, after from audit_log
        where target = 'rule_set:prohibited_industries' and action like 'compliance.rule_words_%' order by id`,
    );
    const actor = audit.rows[0]?.actor;
    expect(actor).toMatch(/^staff:\d+$/);
    expect(audit.rows).toEqual([
      {
        actor,
        action: 'compliance.rule_words_added',
        before: null,
        after: { added: 2, words: ['审计词甲', '审计词乙'] },
      },
      {
        actor,
        action: 'compliance.rule_words_removed',
        before: { removed: 1, words: ['审计词乙', '不在集里'] },
        after: null,
      },
      {
        actor,
        action: 'compliance.rule_words_imported',
        before: null,
        after: { mode: 'add', format: 'text', words: 2, added: 1, removed: 0 },
      },
    ]);
  });
});

describe('import and export', () => {
  const upload = (setId: string, body: string, type = 'text/plain', mode = 'add') =>
    app.inject({
      method: 'POST',
      url: `${base}/${setId}/import?mode=${mode}`,
      headers: { ...as(admin), 'content-type': `${type}; charset=utf-8` },
      payload: body,
    });

  it('imports a text list: every word blocks, duplicates and blank lines are skipped', async () => {
    const res = await upload('banned_words', '甲乙丙\n\n丁戊己\r\n甲乙丙\n');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ words: 2, added: 2, removed: 0 });
    expect((await check('看 丁戊己')).findings.map((f) => f.text)).toEqual(['丁戊己']);
  });

  it('a list with bad lines is refused whole, each bad line named by its number', async () => {
    const before = (
      await app.inject({ method: 'GET', url: `${base}/banned_words`, headers: as(admin) })
    ).json();
    const res = await upload('banned_words', `好词一\n!!!\n好词二\n${'长'.repeat(101)}\n`);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details.lines).toEqual([
      { line: 2, text: '!!!', reason: 'no_letters' },
      { line: 4, text: '长'.repeat(101), reason: 'too_long' },
    ]);
    const after = (
      await app.inject({ method: 'GET', url: `${base}/banned_words`, headers: as(admin) })
    ).json();
    expect(after.words).toEqual(before.words);
    expect(after.version).toBe(before.version);
  });

  it('imports CSV (first column, header skipped) and replace mode makes the set exactly the list', async () => {
    const res = await upload(
      'absolute_claims_review',
      'word,note\n"第一",x\n首家\n"新""词""",y\n',
      'text/csv',
      'replace',
    );
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ words: 3, added: 1 });
    const set = (
      await app.inject({ method: 'GET', url: `${base}/absolute_claims_review`, headers: as(admin) })
    ).json();
    expect([...set.words].sort()).toEqual(['新"词"', '第一', '首家'].sort());
  });

  it('a body that is not UTF-8 is refused (400) and changes nothing', async () => {
    const version = async () =>
      (await app.inject({ method: 'GET', url: `${base}/banned_words`, headers: as(admin) })).json().version;
    const before = await version();
    const res = await app.inject({
      method: 'POST',
      url: `${base}/banned_words/import`,
      headers: { ...as(admin), 'content-type': 'text/plain' },
      payload: Buffer.from([0xe8, 0xb5, 0x0a, 0xff, 0x0a]),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('request.invalid_encoding');
    expect(await version()).toBe(before);
  });

  it('a PATCH that changes nothing is refused (400)', async () => {
    const res = await app.inject({
      method: 'PATCH',
      url: `${base}/banned_words`,
      headers: as(admin),
      payload: {},
    });
    expect(res.statusCode).toBe(400);
  });

  it('export is one word per line and imports back to the same set', async () => {
    const exported = await app.inject({
      method: 'GET',
      url: `${base}/contact_diversion/export`,
      headers: as(support),
    });
    expect(exported.statusCode).toBe(200);
    expect(exported.headers['content-type']).toMatch(/^text\/plain/);
    const lines = exported.body.trimEnd().split('\n');
    expect(lines.length).toBe(DEFAULT_RULE_SETS.find((s) => s.id === 'contact_diversion')!.words.length);
    const again = await upload('contact_diversion', exported.body, 'text/plain', 'replace');
    expect(again.json()).toMatchObject({ words: lines.length, added: 0, removed: 0 });
  });

  it('100,000 words import in one request, and 100,001 are refused', async () => {
    const words = Array.from({ length: 100_000 }, (_, i) => `词${i.toString(36)}号`);
    const res = await upload('prohibited_industries', `${words.join('\n')}\n`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ words: 100_000, added: 100_000 });
    expect(
      (await check(`【鸿雁】${words[54_321]} 回T退订`, 'marketing')).findings.map((f) => f.rule),
    ).toEqual(['prohibited_industry']);
    const tooMany = await upload('prohibited_industries', `${words.join('\n')}\n多一个\n`);
    expect(tooMany.json().error.code).toBe('compliance.invalid_words');
  });
});
