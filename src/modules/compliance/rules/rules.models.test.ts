import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeWord } from './normalize.ts';
import { DEFAULT_RULE_SETS } from './default-rules.ts';
import {
  compileRules,
  evaluateContent,
  type EvaluateInput,
  type MessageType,
  type RuleSetData,
  type Subject,
  verdictError,
} from './rules.models.ts';

const rules = compileRules(DEFAULT_RULE_SETS);

function check(
  content: string,
  type: MessageType = 'notification',
  subject: Subject = 'message',
  maxParts?: number,
) {
  const input: EvaluateInput = { content, type, subject };
  if (maxParts !== undefined) input.maxParts = maxParts;
  return evaluateContent(input, rules);
}

/** [rule, severity, matched text] of each finding, for compact tables. */
function summary(content: string, type?: MessageType, subject?: Subject, maxParts?: number) {
  return check(content, type, subject, maxParts).findings.map((f) => [f.rule, f.severity, f.text]);
}

describe('banned words', () => {
  it.each([
    ['plain', '【鸿雁】欢迎来赌博', '赌博'],
    ['inserted spaces', '【鸿雁】欢迎来赌 博', '赌 博'],
    ['inserted symbols', '【鸿雁】欢迎来赌*_*博', '赌*_*博'],
    ['zero-width characters', '【鸿雁】欢迎来赌\u200b\u200c博', '赌\u200b\u200c博'],
    ['an ideographic space', '【鸿雁】欢迎来赌\u3000博', '赌\u3000博'],
  ])('%s: blocked in every type, span on the original text', (_name, content, matched) => {
    for (const type of ['verification', 'notification', 'marketing'] as const) {
      const finding = check(content, type).findings.find((f) => f.rule === 'banned_word')!;
      expect(finding.severity).toBe('block');
      expect(finding.text).toBe(matched);
      expect(content.slice(finding.start, finding.end)).toBe(matched);
    }
  });

  it('a clean verification message has no finding', () => {
    expect(check('【鸿雁】您的验证码是123456，5分钟内有效。', 'verification')).toEqual({
      blocked: false,
      findings: [],
    });
  });

  it('case and width do not matter, for words entered either way', () => {
    const sets: RuleSetData[] = [{ ...DEFAULT_RULE_SETS[0]!, words: ['ＳＰＡＭ', 'casino'] }];
    const compiled = compileRules(sets);
    const verdict = evaluateContent(
      { content: 'Big Spam at the ＣＡＳＩＮＯ', type: 'notification', subject: 'message' },
      compiled,
    );
    expect(verdict.findings.map((f) => f.text)).toEqual(['Spam', 'ＣＡＳＩＮＯ']);
  });

  it('a Latin word inside a longer Latin word is not that word', () => {
    const compiled = compileRules([{ ...DEFAULT_RULE_SETS[0]!, words: ['sex'] }]);
    const findings = (content: string) =>
      evaluateContent({ content, type: 'notification', subject: 'message' }, compiled).findings.map(
        (f) => f.text,
      );
    expect(findings('Essex office opens')).toEqual([]);
    expect(findings('this extra offer')).toEqual([]); // "this extra" folds to "thisextra"
    expect(findings('no s e x here')).toEqual(['s e x']);
    expect(findings('SEX!')).toEqual(['SEX']);
  });

  it('spans point at the original characters around surrogate pairs and expansions', () => {
    const compiled = compileRules([{ ...DEFAULT_RULE_SETS[0]!, words: ['赌博'] }]);
    const content = '𠀀😀赌😀博㈱';
    const [finding] = evaluateContent(
      { content, type: 'notification', subject: 'message' },
      compiled,
    ).findings;
    expect(finding).toMatchObject({ start: 4, end: 8, text: '赌😀博' });
  });
});

describe('evasions (property)', () => {
  const compiled = compileRules([{ ...DEFAULT_RULE_SETS[0]!, words: ['赌博', '代开发票', 'casino'] }]);
  const separators = [' ', '\u3000', '\u200b', '\u200d', '\ufeff', '*', '.', '-', '_', '！', '♥', '😀'];
  const toFullWidth = (c: string) => (/[a-z]/i.test(c) ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c);

  it('a banned word with separators, full-width letters and case changes inside is found, its span exact', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('赌博', '代开发票', 'casino'),
        fc.array(fc.array(fc.constantFrom(...separators), { maxLength: 3 }), { minLength: 8, maxLength: 8 }),
        fc.array(fc.constantFrom('plain', 'upper', 'full'), { minLength: 8, maxLength: 8 }),
        fc.string({ unit: fc.constantFrom('您', '好', '的', '，'), maxLength: 6 }),
        fc.string({ unit: fc.constantFrom('您', '好', '的', '。'), maxLength: 6 }),
        (word, gaps, styles, before, after) => {
          const disguised = [...word]
            .map((c, i) => {
              const style = styles[i]!;
              const shaped = style === 'upper' ? c.toUpperCase() : style === 'full' ? toFullWidth(c) : c;
              return i === 0 ? shaped : gaps[i]!.join('') + shaped;
            })
            .join('');
          const content = `【鸿雁】${before}${disguised}${after}`;
          const verdict = evaluateContent({ content, type: 'notification', subject: 'message' }, compiled);
          const finding = verdict.findings.find((f) => f.rule === 'banned_word');
          expect(finding).toBeDefined();
          expect(content.slice(finding!.start, finding!.end)).toBe(finding!.text);
          expect(finding!.text).toBe(disguised);
          expect(normalizeWord(finding!.text)).toBe(normalizeWord(word));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('prohibited industries', () => {
  it.each([
    ['房产', '【鸿雁】精装房产特惠，回T退订'],
    ['贷款', '【鸿雁】低息贷款当天到账，回T退订'],
    ['移民', '【鸿雁】投资移民咨询，回T退订'],
    ['成人用品', '【鸿雁】成人用品五折，回T退订'],
    ['股票', '【鸿雁】股票内幕，回T退订'],
    ['KTV', '【鸿雁】ktv欢唱半价，回T退订'],
  ])('%s blocks marketing', (_word, content) => {
    const verdict = check(content, 'marketing');
    expect(verdict.blocked).toBe(true);
    expect(verdict.findings.map((f) => f.rule)).toEqual(['prohibited_industry']);
  });

  it('a bank may still notify about a loan (marketing only)', () => {
    expect(check('【鸿雁】您的贷款本月已还清。', 'notification').findings).toEqual([]);
  });
});

describe('contact diversion', () => {
  it.each([
    ['加QQ', '【鸿雁】详情加QQ 123456'],
    ['加 q q', '【鸿雁】详情加 q q 123456'],
    ['加微信', '【鸿雁】详情加微信领取'],
    ['full-width ＶＸ', '【鸿雁】详情ＶＸ：abc123'],
    ['加V', '【鸿雁】详情加V领取'],
    ['微信号', '【鸿雁】微信号 hy001'],
    ['vx in Latin text', 'Add vx: abc123'],
  ])('%s blocks in every type, templates and messages', (_name, content) => {
    for (const type of ['verification', 'notification', 'marketing'] as const) {
      for (const subject of ['template', 'message'] as const) {
        const verdict = check(content, type, subject);
        expect(verdict.blocked).toBe(true);
        expect(verdict.findings.some((f) => f.rule === 'contact_diversion' && f.severity === 'block')).toBe(
          true,
        );
      }
    }
  });

  it('"NOV. Xmas" holds no VX', () => {
    expect(check('NOV. Xmas greetings').findings).toEqual([]);
  });

  it('a longer match hides the shorter one inside it (加微信 over 加微)', () => {
    expect(summary('【鸿雁】请加微信')).toEqual([['contact_diversion', 'block', '加微信']]);
  });
});

describe('double signature', () => {
  it.each(['verification', 'notification', 'marketing'] as const)(
    'a second 【…】 anywhere blocks %s',
    (type) => {
      const content = '【鸿雁】您的验证码是1234【别家】';
      const verdict = check(content, type);
      expect(verdict.findings.filter((f) => f.rule === 'double_signature')).toEqual([
        expect.objectContaining({ severity: 'block', start: 14, end: 18, text: '【别家】' }),
      ]);
    },
  );

  it('one signature is fine', () => {
    expect(check('【鸿雁】您的订单已发货').findings).toEqual([]);
  });
});

describe('theme-less templates', () => {
  it.each([
    ['您好#content#', true],
    ['【鸿雁】您好#content#', true],
    ['亲爱的用户#content#', true],
    ['{content}', true],
    ['尊敬的{name}：{content}', true],
    ['Hi {name}, {content}', true],
    ['【鸿雁】您的验证码是{code}，5分钟内有效', false],
    ['【鸿雁】您的订单{order}已发货', false],
  ])('%s → theme-less: %s', (content, themeless) => {
    const verdict = check(content, 'notification', 'template');
    expect(verdict.findings.some((f) => f.rule === 'themeless_template')).toBe(themeless);
  });

  it('applies to templates, not to message text', () => {
    expect(check('您好#content#', 'notification', 'message').findings).toEqual([]);
  });
});

describe('absolute claims', () => {
  it.each([
    ['最佳', 'block'],
    ['唯一', 'block'],
    ['国家级', 'block'],
    ['最高级', 'block'],
    ['NO.1', 'block'],
    ['第一', 'warn'],
  ])('%s in marketing: %s', (word, severity) => {
    const content = `【鸿雁】本店${word}好货，回T退订`;
    expect(summary(content, 'marketing')).toEqual([['absolute_claim', severity, word]]);
  });

  it('全网第一 blocks once: the warning for 第一 inside it is dropped', () => {
    expect(summary('【鸿雁】全网第一，回T退订', 'marketing')).toEqual([
      ['absolute_claim', 'block', '全网第一'],
    ]);
  });

  it('notifications may say 唯一', () => {
    expect(check('【鸿雁】这是您唯一的取件码1234', 'notification').findings).toEqual([]);
  });
});

describe('marketing opt-out text', () => {
  it.each([
    ['回T退订', false],
    ['退订回T', false],
    ['拒收请回复R', false],
    ['回复 TD 退订', false],
    ['退订回Ｎ', false],
    ['回复QX退订', false],
    ['Reply STOP to opt out', false],
    ['', true],
    ['欢迎光临', true],
  ])('"%s" → missing: %s', (tail, missing) => {
    const verdict = check(`【鸿雁】周末全场八折。${tail}`, 'marketing');
    const finding = verdict.findings.find((f) => f.rule === 'missing_opt_out');
    expect(finding !== undefined).toBe(missing);
    if (finding) expect(finding.severity).toBe('block');
  });

  it('only marketing needs it', () => {
    expect(check('【鸿雁】您的订单已发货', 'notification').findings).toEqual([]);
  });
});

describe('length', () => {
  it('more parts than allowed blocks, the span is what does not fit', () => {
    const content = `【鸿雁】${'很'.repeat(70)}`; // 74 UCS-2 units: two parts
    const verdict = check(content, 'notification', 'message', 1);
    const finding = verdict.findings.find((f) => f.rule === 'too_long')!;
    expect(finding.severity).toBe('block');
    expect(finding.start).toBe(70);
    expect(finding.text).toBe(content.slice(70));
    expect(check(content, 'notification', 'message', 2).findings).toEqual([]);
  });

  it('no limit given: no part check', () => {
    expect(check('很'.repeat(1000)).findings).toEqual([]);
  });
});

describe('rule sets', () => {
  it('the operator can turn a block into a warning, and a disabled set finds nothing', () => {
    const warn = compileRules(
      DEFAULT_RULE_SETS.map((s) =>
        s.kind === 'contact_diversion' ? { ...s, severity: 'warn' as const } : s,
      ),
    );
    const verdict = evaluateContent(
      { content: '【鸿雁】加微信', type: 'notification', subject: 'message' },
      warn,
    );
    expect(verdict).toMatchObject({
      blocked: false,
      findings: [{ rule: 'contact_diversion', severity: 'warn' }],
    });
    const off = compileRules(
      DEFAULT_RULE_SETS.map((s) => ({ ...s, enabled: s.kind !== 'contact_diversion' })),
    );
    expect(
      evaluateContent({ content: '【鸿雁】加微信', type: 'notification', subject: 'message' }, off).findings,
    ).toEqual([]);
  });

  it('findings are in text order, each with its own rule', () => {
    const verdict = check('【鸿雁】赌博加微信【二】', 'marketing');
    expect(verdict.findings.map((f) => [f.rule, f.start])).toEqual([
      ['banned_word', 4],
      ['contact_diversion', 6],
      ['double_signature', 9],
      ['missing_opt_out', 12],
    ]);
  });
});

describe('verdictError', () => {
  it('the first blocking finding names the code; details list every finding', () => {
    const verdict = check('【鸿雁】第一！加微信', 'marketing');
    const error = verdictError(verdict);
    expect(error.code).toBe('compliance.contact_diversion');
    expect(error.statusCode).toBe(422);
    expect(error.details).toMatchObject({
      rule: 'contact_diversion',
      text: '加微信',
      start: 7,
      end: 10,
      findings: [
        { rule: 'absolute_claim', severity: 'warn' },
        { rule: 'contact_diversion' },
        { rule: 'missing_opt_out' },
      ],
    });
  });

  it('refuses a verdict that blocks nothing', () => {
    expect(() => verdictError({ blocked: false, findings: [] })).toThrow(TypeError);
  });
});
