// Pure rules of templates (模板): their variables, what a template may look like, and rendering
// a template with one recipient's params. Compiled once per request, then applied per recipient.

export const TEMPLATE_TYPES = ['verification', 'notification', 'marketing', 'international'] as const;
export type TemplateType = (typeof TEMPLATE_TYPES)[number];

export const VARIABLE_KINDS = ['code', 'number', 'text'] as const;
export type VariableKind = (typeof VARIABLE_KINDS)[number];

export interface VariableSpec {
  name: string;
  kind: VariableKind;
  /** text and number: the longest value, in characters (default 20). code: always 4–8 digits. */
  max_length?: number;
}

export const DEFAULT_MAX_LENGTH = 20;

/** The core's {name} syntax (messages.models.ts renderTemplate). */
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]{0,63})\}/g;

/** Message type a template's messages travel as: international ones as notifications. */
export function messageTypeOf(type: TemplateType): 'verification' | 'notification' | 'marketing' {
  return type === 'international' ? 'notification' : type;
}

export function placeholdersOf(content: string): string[] {
  return [...new Set([...content.matchAll(PLACEHOLDER)].map((m) => m[1]!))];
}

export type DefinitionCheck =
  { ok: true; variables: VariableSpec[] } | { ok: false; code: 'templates.invalid'; message: string };

/**
 * A template's declared variables, completed: every placeholder gets a spec (undeclared ones are
 * text of at most 20 characters, or a code when named `code`); declaring a variable the content
 * does not use, a signature inside the template, or a verification template without a code
 * variable is refused. Theme-less templates (您好{content}) are the rules engine's to find.
 */
export function checkTemplateDefinition({
  type,
  content,
  variables = [],
}: {
  type: TemplateType;
  content: string;
  variables?: readonly VariableSpec[];
}): DefinitionCheck {
  const bad = (message: string): DefinitionCheck => ({ ok: false, code: 'templates.invalid', message });
  if (content.trim() === '') return bad('the content is empty');
  if (/[【】]/.test(content)) {
    return bad('a template holds no signature: the signature is named when sending (sign_name)');
  }
  const used = placeholdersOf(content);
  const declared = new Map<string, VariableSpec>();
  for (const v of variables) {
    if (declared.has(v.name)) return bad(`variable {${v.name}} is declared twice`);
    if (!used.includes(v.name)) return bad(`variable {${v.name}} is declared but not in the content`);
    if (v.max_length !== undefined && (v.max_length < 1 || v.max_length > 200)) {
      return bad(`variable {${v.name}}: max_length is 1–200`);
    }
    declared.set(v.name, v);
  }
  const complete = used.map(
    (name): VariableSpec => declared.get(name) ?? { name, kind: name === 'code' ? 'code' : 'text' },
  );
  if (type === 'verification' && !complete.some((v) => v.kind === 'code')) {
    return bad('a verification template carries its code in a variable of kind code, e.g. {code}');
  }
  return { ok: true, variables: complete };
}

// A URL: a scheme, www., or a host with a known-looking top-level domain.
const URL_LIKE = /(https?:\/\/|www\.|[a-z0-9-]+\.(com|cn|net|org|top|xyz|cc|io|me|vip|info|shop|site)\b)/i;
// A phone number standing alone: a mobile (1[3-9] + 9 digits, +86 allowed), a landline with its area
// code, a 400/800 service number. Order and tracking numbers (SF1234567890) are not phones.
const PHONE_LIKE =
  /(?<!\d)(?:(?:\+?86[\s-]?)?1[3-9]\d{9}|0\d{2,3}[\s-]?\d{7,8}|[48]00[\s-]?\d{3}[\s-]?\d{4})(?!\d)/;
const CODE = /^\d{4,8}$/;
const NUMBER = /^-?\d+(\.\d+)?$/;

export type ParamError = { code: 'templates.missing_param' | 'templates.invalid_param'; message: string };

export interface CompiledTemplate {
  templateId: number;
  variables: readonly VariableSpec[];
  render(
    params: Record<string, string | number> | undefined,
  ): { ok: true; text: string } | ({ ok: false } & ParamError);
}

export function compileTemplate(template: {
  id: number;
  content: string;
  variables: readonly VariableSpec[];
  allow_urls: boolean;
  allow_phones: boolean;
}): CompiledTemplate {
  const specs = new Map(template.variables.map((v) => [v.name, v]));
  // Split once: literal pieces and variable names alternate, so rendering is a join.
  const pieces = template.content.split(PLACEHOLDER);
  return {
    templateId: template.id,
    variables: template.variables,
    render(params) {
      let text = '';
      for (let i = 0; i < pieces.length; i++) {
        if (i % 2 === 0) {
          text += pieces[i];
          continue;
        }
        const name = pieces[i]!;
        const raw = params?.[name];
        if (raw === undefined)
          return { ok: false, code: 'templates.missing_param', message: `no value for {${name}}` };
        const value = String(raw);
        const problem = checkParam(value, specs.get(name) ?? { name, kind: 'text' }, template);
        if (problem !== null) {
          return { ok: false, code: 'templates.invalid_param', message: `{${name}}: ${problem}` };
        }
        text += value;
      }
      return { ok: true, text };
    },
  };
}

function checkParam(
  value: string,
  spec: VariableSpec,
  template: { allow_urls: boolean; allow_phones: boolean },
): string | null {
  if (spec.kind === 'code') return CODE.test(value) ? null : 'a code is 4–8 digits';
  const max = spec.max_length ?? DEFAULT_MAX_LENGTH;
  if ([...value].length > max) return `at most ${max} characters`;
  if (value.trim() === '') return 'empty';
  if (spec.kind === 'number') return NUMBER.test(value) ? null : 'a number';
  if (/[【】]/.test(value)) return 'no 【 or 】: a value cannot carry a signature';
  if (!template.allow_urls && URL_LIKE.test(value)) return 'no links (the template does not allow them)';
  if (!template.allow_phones && PHONE_LIKE.test(value)) {
    return 'no phone numbers (the template does not allow them)';
  }
  return null;
}
