// Tencent Cloud SMS (2021-01-11) actions on Hongyan: SendSms, PullSmsSendStatus and
// DescribeSmsTemplateList, mapped to the messages and templates use cases, in Tencent's response
// shapes. A refusal of the whole request is Response.Error; a refusal of one number is that
// number's Code in SendStatusSet, as Tencent answers.
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import type { AppContext } from '../../../app/context.ts';
import type { Scope } from '../../credentials/credentials.models.ts';
import { findTemplate, listTemplates } from '../../compliance/templates/templates.repository.ts';
import type { VendorPrincipal } from '../compat.auth.ts';
import { sendToRecipients } from '../compat.messages.ts';
import {
  hongyanTemplateToTencent,
  tencentCodeOf,
  tencentParamsToNamed,
  tencentReportStatus,
  templateIdOf,
} from '../compat.models.ts';
import { pullFinalStatuses } from '../compat.repository.ts';
import { cstDateTime } from '../compat.time.ts';

export type TencentResult =
  { ok: true; body: Record<string, unknown> } | { ok: false; code: string; message: string };
type Action = (
  ctx: AppContext,
  principal: VendorPrincipal,
  p: Record<string, unknown>,
) => Promise<TencentResult>;

function stringArray(value: unknown): string[] | null {
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : null;
}

function invalid(message: string): TencentResult {
  return { ok: false, code: 'InvalidParameterValue', message };
}

const sendSms: Action = async (ctx, principal, p) => {
  const numbers = stringArray(p.PhoneNumberSet);
  if (!numbers || numbers.length === 0)
    return { ok: false, code: 'MissingParameter', message: 'PhoneNumberSet is required.' };
  if (numbers.length > 200)
    return {
      ok: false,
      code: 'LimitExceeded.PhoneNumberCountLimit',
      message: 'At most 200 numbers per request.',
    };
  if (typeof p.SignName !== 'string' && p.SignName !== undefined)
    return invalid('SignName must be a string.');
  const templateId = typeof p.TemplateId === 'string' ? templateIdOf(p.TemplateId) : null;
  const template =
    templateId === null
      ? null
      : await findTemplate(ctx.db.pool, { tenantId: principal.tenantId, id: templateId });
  if (!template)
    return {
      ok: false,
      code: 'FailedOperation.TemplateIncorrectOrUnapproved',
      message: 'TemplateId names no template of this account.',
    };
  const values = p.TemplateParamSet === undefined ? [] : stringArray(p.TemplateParamSet);
  if (values === null) return invalid('TemplateParamSet must be an array of strings.');
  const params = tencentParamsToNamed(template.content, values);
  const sent = await sendToRecipients(ctx, {
    tenantId: principal.tenantId,
    signName: p.SignName as string | undefined,
    templateId: template.id,
    recipients: numbers.map((to) => ({ to, params })),
    allOrNothing: false,
  });
  if (!sent.ok)
    return {
      ok: false,
      code: tencentCodeOf(sent.refusal.code, sent.refusal.statusCode),
      message: sent.refusal.message,
    };
  const session = typeof p.SessionContext === 'string' ? p.SessionContext : '';
  return {
    ok: true,
    body: {
      SendStatusSet: sent.value.results.map((r) => {
        const phone = parsePhoneNumberFromString(r.to);
        const base = {
          PhoneNumber: numbers[r.index],
          SessionContext: session,
          IsoCode: phone?.country ?? '',
        };
        if (r.accepted && 'id' in r)
          return { ...base, SerialNo: r.id, Fee: r.parts, Code: 'Ok', Message: 'send success' };
        const error = 'error' in r && r.error ? r.error : { code: 'unknown', message: 'refused' };
        return {
          ...base,
          SerialNo: '',
          Fee: 0,
          Code: tencentCodeOf(error.code, 422),
          Message: `${error.message} (${error.code})`,
        };
      }),
    },
  };
};

const pullSmsSendStatus: Action = async (ctx, principal, p) => {
  const limit = p.Limit === undefined ? 100 : p.Limit;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 100)
    return invalid('Limit must be an integer from 1 to 100.');
  const rows = await pullFinalStatuses(ctx.db.pool, { tenantId: principal.tenantId, limit, window: 10_000 });
  return {
    ok: true,
    body: {
      PullSmsSendStatusSet: rows.map((m) => {
        const phone = parsePhoneNumberFromString(m.recipient);
        return {
          UserReceiveTime: cstDateTime(m.done_at ?? m.updated_at),
          CountryCode: phone?.countryCallingCode ?? '',
          SubscriberNumber: phone?.nationalNumber ?? m.recipient,
          PhoneNumber: m.recipient,
          SerialNo: String(m.id),
          ReportStatus: tencentReportStatus(m.status) ?? 'FAIL',
          Description: m.status === 'delivered' ? 'DELIVRD' : (m.error_code ?? m.status),
          SessionContext: '',
        };
      }),
    },
  };
};

/** Tencent's template StatusCode: 0 approved, 1 under review, -1 rejected. */
function statusCode(status: string): 0 | 1 | -1 {
  return status === 'approved' ? 0 : status === 'rejected' ? -1 : 1;
}

const describeSmsTemplateList: Action = async (ctx, principal, p) => {
  if (p.International !== 0 && p.International !== 1) return invalid('International must be 0 or 1.');
  const ids = p.TemplateIdSet;
  if (ids !== undefined && (!Array.isArray(ids) || !ids.every((i) => Number.isInteger(i))))
    return invalid('TemplateIdSet must be an array of integers.');
  const limit = p.Limit ?? 100;
  const offset = p.Offset ?? 0;
  if (typeof limit !== 'number' || typeof offset !== 'number' || limit < 1 || limit > 100 || offset < 0)
    return invalid('Limit must be 1 to 100 and Offset at least 0.');
  const international = p.International === 1;
  const wanted = ids === undefined ? null : new Set((ids as number[]).map(Number));
  const templates = (await listTemplates(ctx.db.pool, principal.tenantId)).filter(
    (t) => (t.type === 'international') === international && (wanted === null || wanted.has(Number(t.id))),
  );
  const page = wanted === null ? templates.slice(offset, offset + limit) : templates;
  return {
    ok: true,
    body: {
      DescribeTemplateStatusSet: page.map((t) => ({
        TemplateId: Number(t.id),
        International: international ? 1 : 0,
        StatusCode: statusCode(t.status),
        ReviewReply: t.reason ?? '',
        TemplateName: t.name,
        CreateTime: Math.floor(t.created_at.getTime() / 1000),
        TemplateContent: hongyanTemplateToTencent(t.content),
      })),
    },
  };
};

export const TENCENT_ACTIONS: Record<string, { scope: Scope; run: Action }> = {
  SendSms: { scope: 'send', run: sendSms },
  PullSmsSendStatus: { scope: 'read', run: pullSmsSendStatus },
  DescribeSmsTemplateList: { scope: 'templates', run: describeSmsTemplateList },
};
