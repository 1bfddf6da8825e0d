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

/** Per message; the rule sets are taken once per request, so a batch sees one version of them. */
export async function messageRules(provider: RulesProvider): Promise<ContentRules> {
  const rules = await provider.current();
  return ({ text, type }) => {
    const verdict = evaluateContent({ content: text, type, subject: 'message' }, rules);
    if (!verdict.blocked) return null;
    const error = verdictError(verdict);
    return { code: error.code, message: error.message, details: error.details, error };
  };
}
