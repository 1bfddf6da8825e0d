// Errors of the content rules: one code per rule that can block (compliance.<rule>), and those of
// the operator's rule-set API.
import { type AppError, createError, type ErrorFactory } from '../../../shared/errors.ts';
import type { Verdict } from './rules.models.ts';

const refused = (rule: string, message: string) =>
  createError({ code: `compliance.${rule}`, statusCode: 422, message });

export const RULE_ERRORS: Record<string, ErrorFactory> = {
  banned_word: refused('banned_word', 'The text contains a banned word.'),
  prohibited_industry: refused(
    'prohibited_industry',
    'The text names an industry that may not be sent marketing messages.',
  ),
  contact_diversion: refused(
    'contact_diversion',
    'The text diverts recipients to another contact channel (加QQ, 加微信, VX), refused in every type.',
  ),
  double_signature: refused(
    'double_signature',
    'The text holds more than one 【signature】; handsets drop such messages.',
  ),
  themeless_template: refused(
    'themeless_template',
    'The template has no theme of its own beyond variables and greetings (您好#content#).',
  ),
  absolute_claim: refused('absolute_claim', 'Marketing text with an absolute claim (最佳, 唯一, 国家级).'),
  missing_opt_out: refused(
    'missing_opt_out',
    'A marketing text must say how to opt out (回T退订, 拒收请回复R, reply STOP).',
  ),
  too_long: refused('too_long', 'The text takes more parts than allowed.'),
};

export const ruleSetNotFound = createError({
  code: 'compliance.rule_set_not_found',
  statusCode: 404,
  message: 'No such rule set.',
});
export const invalidRuleWords = createError({
  code: 'compliance.invalid_words',
  statusCode: 400,
  message: 'Some words cannot be used; nothing was changed. details.lines lists each with its line number.',
});

/**
 * The error for a blocking verdict: the first blocking finding names the code, `details.findings`
 * lists every finding (warnings included) with its matched text and span.
 */
export function verdictError(verdict: Verdict): AppError {
  const first = verdict.findings.find((f) => f.severity === 'block');
  if (!first) throw new TypeError('verdictError: the verdict blocks nothing');
  const factory = RULE_ERRORS[first.rule] ?? RULE_ERRORS.banned_word!;
  return factory({
    message: first.message,
    details: {
      rule: first.rule,
      text: first.text,
      start: first.start,
      end: first.end,
      findings: verdict.findings,
    },
  });
}
