// What a send request's content becomes: the template (or free text) rendered with a recipient's
// params, the signature put in front, and the content rules applied to the final text. Compiled
// once per request from what one query loaded (send-content.ts); then applied per recipient with
// no I/O, so a 10,000-recipient batch costs no query per recipient.
import { AppError, type ErrorFactory } from '../../../shared/errors.ts';
import { contentEmpty } from '../../messages/messages.errors.ts';
import { renderTemplate, type MessageType } from '../../messages/messages.models.ts';
import { doubleSignature, signatureNotApproved, signatureRequired } from '../signatures/signatures.errors.ts';
import { type ApprovedSignature, signContent, signatureBook } from '../signatures/signatures.models.ts';
import {
  contentWithTemplate,
  invalidParam,
  missingParam,
  templateNotUsable,
  templateRequired,
} from './templates.errors.ts';
import { compileTemplate, messageTypeOf, type TemplateType, type VariableSpec } from './templates.models.ts';

export interface SendPolicy {
  freeText: boolean;
  signatures: ApprovedSignature[];
  /** The template named by the request, if it exists for this tenant and is not deleted. */
  template: {
    id: number;
    type: TemplateType;
    status: string;
    content: string;
    variables: VariableSpec[];
    allow_urls: boolean;
    allow_phones: boolean;
  } | null;
}

export interface SendRequest {
  content?: string;
  sign_name?: string;
  template_id?: string | number;
  type?: MessageType;
}

/** A finding that blocks, from the rules engine: its code names the rule. */
export type ContentVerdict = { code: string; message: string; details?: unknown; error?: AppError } | null;
export type ContentRules = (input: {
  text: string;
  type: MessageType;
  templateId: number | null;
}) => ContentVerdict;

export type Composed =
  | { ok: true; text: string; signatureId: number | null; templateId: number | null }
  | { ok: false; code: string; message: string; details?: unknown; error?: AppError };

export interface SendComposer {
  /** The template's message type, which wins over the request's. */
  type: MessageType | undefined;
  templateId: number | null;
  /** What the batch row records as its content. */
  source: string;
  /**
   * One recipient's message. `renderVars`: free text's {name} placeholders are filled from
   * `params` (batches); a single send's free text is taken as written.
   */
  compose(params: Record<string, string | number> | undefined, renderVars?: boolean): Composed;
}

/** Without a composer (the platform's own messages), the content goes as written. */
export function composeWith(
  composer: SendComposer | undefined,
  content: string | undefined,
  params: Record<string, string | number> | undefined,
  renderVars = false,
): Composed {
  if (composer === undefined) return { ok: true, text: content ?? '', signatureId: null, templateId: null };
  return composer.compose(params, renderVars);
}

/** The error a single send answers with for a refusal that a batch reports per recipient. */
export function refusalError(refusal: Extract<Composed, { ok: false }>): AppError {
  if (refusal.error !== undefined) return refusal.error;
  const factory = REFUSALS[refusal.code];
  if (factory !== undefined) return factory({ message: refusal.message, details: refusal.details });
  return new AppError({
    code: refusal.code,
    statusCode: 422,
    message: refusal.message,
    details: refusal.details,
  });
}

/** Refusal codes the composer returns, with their factories (for a single send's thrown error). */
export const REFUSALS: Record<string, ErrorFactory> = {
  [doubleSignature.code]: doubleSignature,
  [signatureNotApproved.code]: signatureNotApproved,
  [signatureRequired.code]: signatureRequired,
  [missingParam.code]: missingParam,
  [invalidParam.code]: invalidParam,
};

/**
 * Request-level refusals are thrown (no template of that id, template not approved, free text
 * not allowed, a sign_name that is not approved); what depends on a recipient's params is
 * returned per recipient by compose().
 */
export function compileSendContent({
  request,
  policy,
  rules,
}: {
  request: SendRequest;
  policy: SendPolicy;
  rules?: ContentRules;
}): SendComposer {
  const book = signatureBook(policy.signatures);
  if (request.sign_name !== undefined && !book.byName.has(request.sign_name)) {
    throw signatureNotApproved({
      message: `【${request.sign_name}】 is not an approved signature of this tenant`,
    });
  }
  const hasContent = request.content !== undefined;
  if (request.template_id !== undefined) {
    if (hasContent) throw contentWithTemplate();
    const template = policy.template;
    if (template === null || template.status !== 'approved') {
      throw templateNotUsable({ details: { status: template?.status ?? 'not_found' } });
    }
    const compiled = compileTemplate(template);
    const type = messageTypeOf(template.type);
    return {
      type,
      templateId: template.id,
      source: template.content,
      compose(params) {
        const rendered = compiled.render(params);
        if (!rendered.ok) return rendered;
        return finish(rendered.text, type, template.id);
      },
    };
  }
  if (!hasContent) throw contentWithTemplate();
  if (!policy.freeText) throw templateRequired();
  const content = request.content!;
  // Empty before the signature is put in front, where it would no longer look empty.
  if (content.trim() === '') throw contentEmpty();
  const type: MessageType = request.type ?? 'notification';
  return {
    type: undefined,
    templateId: null,
    source: content,
    compose(vars, renderVars) {
      if (!renderVars) return finish(content, type, null);
      const rendered = renderTemplate(content, vars);
      if (!rendered.ok) {
        return {
          ok: false,
          code: 'messages.missing_variable',
          message: `no value for {${rendered.missing}}`,
        };
      }
      return finish(rendered.text, type, null);
    },
  };

  function finish(body: string, type: MessageType, templateId: number | null): Composed {
    const signed = signContent(body, request.sign_name, book);
    if (!signed.ok) return { ok: false, code: signed.code, message: signed.message };
    const verdict = rules?.({ text: signed.text, type, templateId }) ?? null;
    if (verdict !== null) return { ok: false, ...verdict };
    return { ok: true, text: signed.text, signatureId: signed.signatureId, templateId };
  }
}
