// The rules engine (compliance/rules) as signatures and templates use it: a template's findings at
// submission (subject 'template'), and each final message text at send (subject 'message').
import { evaluateContent, verdictError } from '../rules/rules.models.ts';
import type { RulesProvider } from '../rules/rules.provider.ts';
import type { ContentRules } from './send-content.models.ts';
import type { EvaluateTemplate } from './templates.usecases.ts';

export async function templateRules(provider: RulesProvider): Promise<EvaluateTemplate> {
  const rules = await provider.current();
  return ({ content, type }) => evaluateContent({ content, type, subject: 'template' }, rules);
}

/**
 * Per message; the rule sets are taken once per request, so a batch sees one version of them. The
 * last text's answer is kept: a batch without variables asks about one text 10,000 times, and the
 * answer is a function of the text, the type and these rule sets alone.
 */
export async function messageRules(provider: RulesProvider): Promise<ContentRules> {
  const rules = await provider.current();
  let last: { text: string; type: string; answer: ReturnType<ContentRules> } | null = null;
  return ({ text, type }) => {
    if (last !== null && last.text === text && last.type === type) return last.answer;
    const verdict = evaluateContent({ content: text, type, subject: 'message' }, rules);
    let answer: ReturnType<ContentRules> = null;
    if (verdict.blocked) {
      const error = verdictError(verdict);
      answer = { code: error.code, message: error.message, details: error.details, error };
    }
    last = { text, type, answer };
    return answer;
  };
}
