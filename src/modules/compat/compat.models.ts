// Pure mappings shared by the vendor-compatible APIs: each vendor's template syntax to Hongyan's
// {name} placeholders, Hongyan's error codes to each vendor's, and message states to each vendor's
// status words. No I/O.
import { placeholdersOf } from '../compliance/templates/templates.models.ts';

/** Aliyun's `${code}` placeholders become Hongyan's `{code}`; anything else is left as written. */
export function aliyunTemplateToHongyan(content: string): string {
  return content.replace(/\$\{([A-Za-z_][A-Za-z0-9_]{0,63})\}/g, '{$1}');
}

/** Hongyan's `{code}` placeholders shown in Aliyun's `${code}` syntax. */
export function hongyanTemplateToAliyun(content: string): string {
  return content.replace(/\{([A-Za-z_][A-Za-z0-9_]{0,63})\}/g, '${$1}');
}

/** Hongyan's named placeholders shown as Tencent's positional `{1}`, `{2}`… in order of first use. */
export function hongyanTemplateToTencent(content: string): string {
  const names = placeholdersOf(content);
  return content.replace(/\{([A-Za-z_][A-Za-z0-9_]{0,63})\}/g, (whole, name: string) => {
    const i = names.indexOf(name);
    return i < 0 ? whole : `{${i + 1}}`;
  });
}

/**
 * Tencent's TemplateParamSet (positional) as Hongyan params: the n-th value fills the template's
 * n-th distinct placeholder, in order of first use. Values past the last placeholder are ignored
 * by Tencent too; missing ones are left out, so the template reports the missing variable.
 */
export function tencentParamsToNamed(content: string, values: readonly string[]): Record<string, string> {
  const names = placeholdersOf(content);
  const params: Record<string, string> = {};
  names.forEach((name, i) => {
    const v = values[i];
    if (v !== undefined) params[name] = v;
  });
  return params;
}

/**
 * Aliyun's TemplateParam: a JSON object of strings (or numbers). Null when it is not one, so the
 * caller answers isv.INVALID_JSON_PARAM.
 */
export function parseAliyunTemplateParam(text: string | undefined): Record<string, string> | null {
  if (text === undefined || text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === 'string' || typeof v === 'number') out[k] = String(v);
    else return null;
  }
  return out;
}

/** A vendor's template id as a Hongyan template id: Aliyun `SMS_123` or `123`, Tencent `123`. */
export function templateIdOf(code: string | undefined): number | null {
  if (code === undefined) return null;
  const m = /^(?:SMS_)?([0-9]{1,15})$/.exec(code.trim());
  return m ? Number(m[1]) : null;
}

export function aliyunTemplateCode(id: number | string): string {
  return `SMS_${id}`;
}

// Where a Hongyan code names a family of refusals, the first matching prefix decides.
const ALIYUN_CODES: [string, string][] = [
  ['messages.invalid_recipient', 'isv.MOBILE_NUMBER_ILLEGAL'],
  ['protection.invalid_phone', 'isv.MOBILE_NUMBER_ILLEGAL'],
  ['compliance.signature_', 'isv.SMS_SIGNATURE_ILLEGAL'],
  ['compliance.double_signature', 'isv.SMS_SIGNATURE_ILLEGAL'],
  ['signatures.', 'isv.SMS_SIGNATURE_ILLEGAL'],
  ['templates.missing_param', 'isv.TEMPLATE_MISSING_PARAMETERS'],
  ['messages.missing_variable', 'isv.TEMPLATE_MISSING_PARAMETERS'],
  ['templates.invalid_param', 'isv.TEMPLATE_PARAMS_ILLEGAL'],
  ['templates.', 'isv.SMS_TEMPLATE_ILLEGAL'],
  ['billing.insufficient_quota', 'isv.AMOUNT_NOT_ENOUGH'],
  ['limit.', 'isv.BUSINESS_LIMIT_CONTROL'],
  ['compliance.opt_out', 'isv.BUSINESS_LIMIT_CONTROL'],
  ['compliance.blacklisted', 'isv.BUSINESS_LIMIT_CONTROL'],
  ['compliance.quiet_hours', 'isv.BUSINESS_LIMIT_CONTROL'],
  ['compliance.', 'isv.BLACK_KEY_CONTROL_LIMIT'],
  ['messages.content_too_long', 'isv.PARAM_LENGTH_LIMIT'],
  ['batches.too_large', 'isv.MOBILE_COUNT_OVER_LIMIT'],
  ['tenants.', 'isv.ACCOUNT_ABNORMAL'],
];

const TENCENT_CODES: [string, string][] = [
  ['messages.invalid_recipient', 'InvalidParameterValue.IncorrectPhoneNumber'],
  ['protection.invalid_phone', 'InvalidParameterValue.IncorrectPhoneNumber'],
  ['compliance.signature_', 'FailedOperation.SignatureIncorrectOrUnapproved'],
  ['compliance.double_signature', 'FailedOperation.SignatureIncorrectOrUnapproved'],
  ['signatures.', 'FailedOperation.SignatureIncorrectOrUnapproved'],
  ['templates.missing_param', 'InvalidParameterValue.TemplateParameterFormatError'],
  ['messages.missing_variable', 'InvalidParameterValue.TemplateParameterFormatError'],
  ['templates.invalid_param', 'InvalidParameterValue.TemplateParameterFormatError'],
  ['templates.', 'FailedOperation.TemplateIncorrectOrUnapproved'],
  ['billing.insufficient_quota', 'FailedOperation.InsufficientBalanceInSmsPackage'],
  ['limit.', 'LimitExceeded.PhoneNumberDailyLimit'],
  ['compliance.opt_out', 'FailedOperation.PhoneNumberInBlacklist'],
  ['compliance.blacklisted', 'FailedOperation.PhoneNumberInBlacklist'],
  ['compliance.quiet_hours', 'FailedOperation.FailResolvePacket'],
  ['compliance.', 'FailedOperation.ContainSensitiveWord'],
  ['messages.content_too_long', 'InvalidParameterValue.ContentLengthLimit'],
  ['batches.too_large', 'LimitExceeded.PhoneNumberCountLimit'],
];

const TWILIO_CODES: [string, number][] = [
  ['messages.invalid_recipient', 21211],
  ['protection.invalid_phone', 21211],
  ['compliance.opt_out', 21610],
  ['compliance.blacklisted', 21610],
  ['messages.content_empty', 21602],
  ['messages.content_too_long', 21617],
  ['billing.insufficient_quota', 20005],
  ['limit.', 14107],
  ['compliance.signature_', 21703],
  ['templates.', 21703],
  ['compliance.', 30007],
  ['webhooks.', 21609],
];

function lookup<T>(table: [string, T][], code: string): T | undefined {
  const family = (prefix: string) => prefix.endsWith('.') || prefix.endsWith('_');
  return table.find(([prefix]) => code === prefix || (family(prefix) && code.startsWith(prefix)))?.[1];
}

export function aliyunCodeOf(code: string, statusCode: number): string {
  return lookup(ALIYUN_CODES, code) ?? (statusCode >= 500 ? 'isp.SYSTEM_ERROR' : 'isv.INVALID_PARAMETERS');
}

export function tencentCodeOf(code: string, statusCode: number): string {
  return lookup(TENCENT_CODES, code) ?? (statusCode >= 500 ? 'InternalError' : 'InvalidParameterValue');
}

export function twilioCodeOf(code: string, statusCode: number): number {
  return lookup(TWILIO_CODES, code) ?? (statusCode >= 500 ? 20500 : 21000);
}

/**
 * Aliyun's SendStatus in QuerySendDetails: 1 waiting for a receipt, 2 failed, 3 delivered.
 * A message not yet final is 1 (Aliyun's "等待回执").
 */
export function aliyunSendStatus(status: string): 1 | 2 | 3 {
  if (status === 'delivered') return 3;
  if (['undelivered', 'expired', 'rejected', 'failed', 'unknown', 'canceled'].includes(status)) return 2;
  return 1;
}

/** Twilio's message status for a Hongyan state. */
export function twilioStatus(status: string): string {
  switch (status) {
    case 'accepted':
    case 'held':
      return status === 'held' ? 'scheduled' : 'accepted';
    case 'queued':
      return 'queued';
    case 'sending':
      return 'sending';
    case 'sent':
      return 'sent';
    case 'delivered':
      return 'delivered';
    case 'undelivered':
    case 'expired':
    case 'unknown':
      return 'undelivered';
    case 'canceled':
      return 'canceled';
    default:
      return 'failed';
  }
}

/** Tencent's ReportStatus: SUCCESS once delivered, FAIL when it ended otherwise; null while pending. */
export function tencentReportStatus(status: string): 'SUCCESS' | 'FAIL' | null {
  const s = aliyunSendStatus(status);
  return s === 3 ? 'SUCCESS' : s === 2 ? 'FAIL' : null;
}

/** A Twilio message SID for a Hongyan message id ("SM" + 32 hex), and back. */
export function twilioMessageSid(id: number | string): string {
  return `SM${BigInt(id).toString(16).padStart(32, '0')}`;
}

export function messageIdOfTwilioSid(sid: string): number | null {
  if (!/^SM[0-9a-f]{32}$/.test(sid)) return null;
  const id = Number.parseInt(sid.slice(2), 16);
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}
