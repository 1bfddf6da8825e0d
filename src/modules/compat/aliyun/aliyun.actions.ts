// Alibaba Cloud SMS (dysmsapi 2017-05-25) actions on Hongyan: each maps its parameters to the
// messages, signatures and templates use cases and answers Aliyun's response shape. Business
// refusals answer HTTP 200 with Code other than "OK", as Aliyun does; the SDK returns them.
import type { CountryCode } from 'libphonenumber-js';
import type { AppContext } from '../../../app/context.ts';
import { AppError } from '../../../shared/errors.ts';
import type { Scope } from '../../credentials/credentials.models.ts';
import { applyForSignature } from '../../compliance/signatures/signatures.usecases.ts';
import { listSignatures } from '../../compliance/signatures/signatures.repository.ts';
import type { SignatureSource } from '../../compliance/signatures/signatures.models.ts';
import { submitTemplate } from '../../compliance/templates/templates.usecases.ts';
import { findTemplate } from '../../compliance/templates/templates.repository.ts';
import { templateRules } from '../../compliance/templates/rules-adapter.ts';
import type { TemplateType } from '../../compliance/templates/templates.models.ts';
import { normalizePhone } from '../../messages/phone.models.ts';
import { maskSentCodes } from '../../messages/sent-codes.ts';
import { sendToRecipients } from '../compat.messages.ts';
import {
  aliyunCodeOf,
  aliyunSendStatus,
  aliyunTemplateCode,
  aliyunTemplateToHongyan,
  hongyanTemplateToAliyun,
  parseAliyunTemplateParam,
  templateIdOf,
} from '../compat.models.ts';
import { countMessagesPerDay, findMessagesToRecipient } from '../compat.repository.ts';
import { addDays, cstDateTime, cstDayStart } from '../compat.time.ts';
import type { VendorPrincipal } from '../compat.auth.ts';

export type AliyunBody = Record<string, unknown> & { Code: string; Message: string };
type Action = (ctx: AppContext, principal: VendorPrincipal, p: Record<string, string>) => Promise<AliyunBody>;

const OK = { Code: 'OK', Message: 'OK' };

function fail(code: string, message: string): AliyunBody {
  return { Code: code, Message: message };
}

function refused(error: { code: string; message: string; statusCode: number }): AliyunBody {
  return fail(aliyunCodeOf(error.code, error.statusCode), `${error.message} (${error.code})`);
}

function positiveInt(text: string | undefined, fallback: number, max: number): number | null {
  if (text === undefined || text === '') return fallback;
  if (!/^\d{1,6}$/.test(text)) return null;
  const n = Number(text);
  return n >= 1 && n <= max ? n : null;
}

function jsonArray(text: string | undefined): unknown[] | null {
  if (text === undefined) return null;
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

const sendSms: Action = async (ctx, principal, p) => {
  const numbers = (p.PhoneNumbers ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  if (numbers.length === 0) return fail('isv.MOBILE_NUMBER_ILLEGAL', 'PhoneNumbers is required.');
  if (numbers.length > 1000) return fail('isv.MOBILE_COUNT_OVER_LIMIT', 'At most 1000 numbers per SendSms.');
  if (!p.SignName) return fail('isv.SMS_SIGNATURE_ILLEGAL', 'SignName is required.');
  const templateId = templateIdOf(p.TemplateCode);
  if (templateId === null)
    return fail('isv.SMS_TEMPLATE_ILLEGAL', 'TemplateCode names no template (SMS_<id>).');
  const params = parseAliyunTemplateParam(p.TemplateParam);
  if (params === null)
    return fail('isv.INVALID_JSON_PARAM', 'TemplateParam must be a JSON object of strings.');
  const sent = await sendToRecipients(ctx, {
    tenantId: principal.tenantId,
    signName: p.SignName,
    templateId,
    recipients: numbers.map((to) => ({ to, params, ...(p.OutId ? { client_ref: p.OutId } : {}) })),
    allOrNothing: true,
  });
  if (!sent.ok) return refused(sent.refusal);
  return { ...OK, BizId: `${sent.value.id}^0` };
};

const sendBatchSms: Action = async (ctx, principal, p) => {
  const numbers = jsonArray(p.PhoneNumberJson);
  const signs = jsonArray(p.SignNameJson);
  const paramsList = p.TemplateParamJson === undefined ? [] : jsonArray(p.TemplateParamJson);
  if (!numbers || numbers.length === 0 || !numbers.every((n) => typeof n === 'string'))
    return fail('isv.MOBILE_NUMBER_ILLEGAL', 'PhoneNumberJson must be a JSON array of numbers as strings.');
  if (numbers.length > 100)
    return fail('isv.MOBILE_COUNT_OVER_LIMIT', 'At most 100 numbers per SendBatchSms.');
  if (!signs || signs.length !== numbers.length || !signs.every((s) => typeof s === 'string' && s !== ''))
    return fail('isv.SMS_SIGNATURE_ILLEGAL', 'SignNameJson must name one signature per number.');
  // One batch has one signature in Hongyan: differing signatures go as separate SendBatchSms calls.
  if (new Set(signs).size > 1)
    return fail(
      'isv.SMS_SIGNATURE_ILLEGAL',
      'Hongyan sends one SendBatchSms with one signature; send each signature separately.',
    );
  if (paramsList === null || (paramsList.length > 0 && paramsList.length !== numbers.length))
    return fail(
      'isv.INVALID_JSON_PARAM',
      'TemplateParamJson must be a JSON array with one object per number.',
    );
  const templateId = templateIdOf(p.TemplateCode);
  if (templateId === null)
    return fail('isv.SMS_TEMPLATE_ILLEGAL', 'TemplateCode names no template (SMS_<id>).');
  const recipients: { to: string; params?: Record<string, string> }[] = [];
  for (let i = 0; i < numbers.length; i++) {
    const params = paramsList.length === 0 ? {} : parseAliyunTemplateParam(JSON.stringify(paramsList[i]));
    if (params === null)
      return fail('isv.INVALID_JSON_PARAM', `TemplateParamJson[${i}] must be an object of strings.`);
    recipients.push({ to: numbers[i] as string, params });
  }
  const sent = await sendToRecipients(ctx, {
    tenantId: principal.tenantId,
    signName: signs[0] as string,
    templateId,
    recipients,
    allOrNothing: true,
  });
  if (!sent.ok) return refused(sent.refusal);
  return { ...OK, BizId: `${sent.value.id}^0` };
};

const querySendDetails: Action = async (ctx, principal, p) => {
  const phone = normalizePhone(p.PhoneNumber ?? '', ctx.config.defaultRegion as CountryCode);
  if (!phone.ok) return fail('isv.MOBILE_NUMBER_ILLEGAL', 'PhoneNumber is not a valid number.');
  const day = cstDayStart(p.SendDate);
  if (day === null) return fail('isv.INVALID_PARAMETERS', 'SendDate must be a date as yyyyMMdd.');
  const pageSize = positiveInt(p.PageSize, 10, 50);
  const page = positiveInt(p.CurrentPage, 1, 100_000);
  if (pageSize === null || page === null)
    return fail('isv.INVALID_PARAMETERS', 'PageSize must be 1 to 50 and CurrentPage at least 1.');
  let batchId: number | null = null;
  if (p.BizId !== undefined && p.BizId !== '') {
    const m = /^(\d{1,15})\^0$/.exec(p.BizId);
    if (!m) return { ...OK, TotalCount: '0', SmsSendDetailDTOs: { SmsSendDetailDTO: [] } };
    batchId = Number(m[1]);
  }
  const { rows: found, total } = await findMessagesToRecipient(ctx.db.pool, {
    tenantId: principal.tenantId,
    recipient: phone.e164,
    from: day,
    to: addDays(day, 1),
    batchId,
    limit: pageSize,
    offset: (page - 1) * pageSize,
  });
  // A Verify API code reads as asterisks, as in GET /v1/messages.
  const rows = await maskSentCodes(ctx.messages, principal.tenantId, found);
  return {
    ...OK,
    // A string in Aliyun's API (the SDK's model types it so).
    TotalCount: String(total),
    SmsSendDetailDTOs: {
      SmsSendDetailDTO: rows.map((m) => ({
        PhoneNum: p.PhoneNumber,
        SendStatus: aliyunSendStatus(m.status),
        ErrCode: m.status === 'delivered' ? 'DELIVERED' : (m.error_code ?? ''),
        TemplateCode: m.template_id === null ? '' : aliyunTemplateCode(m.template_id),
        Content: m.content,
        SendDate: cstDateTime(m.sent_at ?? m.created_at),
        ReceiveDate: m.done_at === null ? '' : cstDateTime(m.done_at),
        OutId: m.client_ref ?? '',
      })),
    },
  };
};

const querySendStatistics: Action = async (ctx, principal, p) => {
  const start = cstDayStart(p.StartDate);
  const end = cstDayStart(p.EndDate);
  if (start === null || end === null || end < start)
    return fail(
      'isv.INVALID_PARAMETERS',
      'StartDate and EndDate must be dates as yyyyMMdd, StartDate first.',
    );
  if (end.getTime() - start.getTime() > 31 * 86_400_000)
    return fail('isv.INVALID_PARAMETERS', 'At most 31 days at a time.');
  const pageSize = positiveInt(p.PageSize, 10, 50);
  const page = positiveInt(p.PageIndex, 1, 100_000);
  if (pageSize === null || page === null)
    return fail('isv.INVALID_PARAMETERS', 'PageSize must be 1 to 50, PageIndex at least 1.');
  const days = await countMessagesPerDay(ctx.db.pool, {
    tenantId: principal.tenantId,
    from: start,
    to: addDays(end, 1),
    timeZone: 'Asia/Shanghai',
  });
  return {
    ...OK,
    Data: {
      TotalSize: days.length,
      TargetList: days.slice((page - 1) * pageSize, page * pageSize).map((d) => ({
        TotalCount: d.total,
        RespondedSuccessCount: d.delivered,
        RespondedFailCount: d.failed,
        NoRespondedCount: d.pending,
        SendDate: d.day,
      })),
    },
  };
};

// Aliyun's SignSource: 0 company, 1 website (ICP), 2 app, 3 public account or mini program,
// 4 e-commerce shop, 5 trademark.
const SIGN_SOURCES: Record<string, SignatureSource> = {
  '0': 'company',
  '1': 'website',
  '2': 'app',
  '3': 'public_account',
  '4': 'other',
  '5': 'trademark',
};

/** Aliyun's review states: 0 under review, 1 approved, 2 rejected. */
function reviewState(status: string): 0 | 1 | 2 {
  return status === 'approved' ? 1 : status === 'rejected' ? 2 : 0;
}

async function appError<T>(work: () => Promise<T>): Promise<T | AliyunBody> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof AppError) return refused(error);
    throw error;
  }
}

const addSmsSign: Action = async (ctx, principal, p) => {
  const source = SIGN_SOURCES[p.SignSource ?? '0'];
  if (!p.SignName || source === undefined)
    return fail('isv.INVALID_PARAMETERS', 'SignName is required and SignSource must be 0 to 5.');
  const outcome = await appError(() =>
    applyForSignature({
      db: ctx.db.pool,
      tenantId: principal.tenantId,
      input: { name: p.SignName!, source, source_detail: p.Remark ?? '' },
      now: ctx.clock.now(),
    }),
  );
  if ('Code' in outcome) return outcome;
  return { ...OK, SignName: outcome.name };
};

const querySmsSign: Action = async (ctx, principal, p) => {
  const found = (await listSignatures(ctx.db.pool, principal.tenantId)).find((s) => s.name === p.SignName);
  if (!found) return fail('isv.SMS_SIGN_ILLEGAL', 'No such signature.');
  return {
    ...OK,
    SignName: found.name,
    SignStatus: reviewState(found.status),
    Reason: found.reason ?? '',
    CreateDate: cstDateTime(found.created_at),
  };
};

// Aliyun's TemplateType: 0 verification code, 1 notification, 2 marketing, 3 international.
const TEMPLATE_TYPES: TemplateType[] = ['verification', 'notification', 'marketing', 'international'];

const addSmsTemplate: Action = async (ctx, principal, p) => {
  const type = TEMPLATE_TYPES[Number(p.TemplateType ?? 'x')];
  if (!/^[0-3]$/.test(p.TemplateType ?? '') || type === undefined || !p.TemplateName || !p.TemplateContent)
    return fail(
      'isv.INVALID_PARAMETERS',
      'TemplateType (0 to 3), TemplateName and TemplateContent are required.',
    );
  const outcome = await appError(async () =>
    submitTemplate({
      db: ctx.db.pool,
      tenantId: principal.tenantId,
      input: { name: p.TemplateName!, type, content: aliyunTemplateToHongyan(p.TemplateContent!) },
      now: ctx.clock.now(),
      evaluate: await templateRules(ctx.rules),
    }),
  );
  if ('Code' in outcome) return outcome;
  return { ...OK, TemplateCode: aliyunTemplateCode(outcome.id) };
};

const querySmsTemplate: Action = async (ctx, principal, p) => {
  const id = templateIdOf(p.TemplateCode);
  const found = id === null ? null : await findTemplate(ctx.db.pool, { tenantId: principal.tenantId, id });
  if (!found) return fail('isv.SMS_TEMPLATE_ILLEGAL', 'No such template.');
  return {
    ...OK,
    TemplateCode: aliyunTemplateCode(found.id),
    TemplateName: found.name,
    TemplateType: TEMPLATE_TYPES.indexOf(found.type),
    TemplateContent: hongyanTemplateToAliyun(found.content),
    TemplateStatus: reviewState(found.status),
    Reason: found.reason ?? '',
    CreateDate: cstDateTime(found.created_at),
  };
};

export const ALIYUN_ACTIONS: Record<string, { scope: Scope; run: Action }> = {
  SendSms: { scope: 'send', run: sendSms },
  SendBatchSms: { scope: 'send', run: sendBatchSms },
  QuerySendDetails: { scope: 'read', run: querySendDetails },
  QuerySendStatistics: { scope: 'read', run: querySendStatistics },
  AddSmsSign: { scope: 'templates', run: addSmsSign },
  QuerySmsSign: { scope: 'templates', run: querySmsSign },
  AddSmsTemplate: { scope: 'templates', run: addSmsTemplate },
  QuerySmsTemplate: { scope: 'templates', run: querySmsTemplate },
};
