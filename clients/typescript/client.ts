// A small typed client of the Hongyan API: fetch only, no dependencies. Authenticates with a
// tenant API key (bearer) or signs every request with an AppKey/AppSecret (docs/api-signing.md).
// Errors come back as HongyanError with the API's stable code (docs/errors.md).
import { signRequest } from './signing.ts';

export type Auth = { apiKey: string } | { appKey: string; appSecret: string };
export type MessageType = 'verification' | 'notification' | 'marketing';

export interface SendMessage {
  to: string;
  content?: string;
  type?: MessageType;
  client_ref?: string;
  send_at?: string;
  sign_name?: string;
  template_id?: string;
  params?: Record<string, string | number>;
  callback_url?: string;
}
export interface SentMessage {
  id: string;
  to: string;
  type: MessageType;
  status: string;
  parts: number;
  encoding: string;
  client_ref: string | null;
  send_at: string | null;
  created_at: string;
}
export interface Message extends SentMessage {
  content?: string;
  error_code?: string | null;
  [field: string]: unknown;
}
export interface SendBatch {
  content?: string;
  type?: MessageType;
  send_at?: string;
  sign_name?: string;
  template_id?: string;
  all_or_nothing?: boolean;
  recipients: { to: string; params?: Record<string, string | number>; client_ref?: string }[];
}
export interface Batch {
  id: string;
  total: number;
  accepted: number;
  rejected: number;
  [field: string]: unknown;
}
export interface StartVerification {
  to: string;
  purpose?: string;
  code_length?: number;
  ttl_seconds?: number;
  language?: 'zh-CN' | 'en';
  template_id?: string;
  sign_name?: string;
  params?: Record<string, string | number>;
}
export interface Verification {
  id: string;
  to: string;
  purpose: string;
  status: 'pending' | 'approved' | 'expired' | 'max_attempts';
  code_length: number;
  attempts: number;
  attempts_remaining: number;
  sends: number;
  message_id: string | null;
  expires_at: string;
  created_at: string;
  resent?: boolean;
}
export interface VerificationCheck {
  id: string;
  to: string;
  purpose: string;
  status: 'approved' | 'denied' | 'expired' | 'max_attempts';
  attempts_remaining: number;
}
export type WebhookEvent =
  | 'message.status'
  | 'message.reply'
  | 'batch.completed'
  | 'template.reviewed'
  | 'signature.reviewed'
  | 'balance.low'
  | 'optout.added';
export interface WebhookEndpoint {
  id: string;
  url: string;
  events: WebhookEvent[];
  [field: string]: unknown;
}

export class HongyanError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'HongyanError';
  }
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** Every route the client calls (a test checks each against the OpenAPI document). */
export const ROUTES = {
  sendMessage: ['POST', '/v1/messages'],
  getMessage: ['GET', '/v1/messages/{id}'],
  listMessages: ['GET', '/v1/messages'],
  cancelMessage: ['POST', '/v1/messages/{id}/cancel'],
  sendBatch: ['POST', '/v1/batches'],
  getBatch: ['GET', '/v1/batches/{id}'],
  startVerification: ['POST', '/v1/verifications'],
  checkVerification: ['POST', '/v1/verifications/check'],
  getVerification: ['GET', '/v1/verifications/{id}'],
  createWebhookEndpoint: ['POST', '/v1/webhooks/endpoints'],
  listWebhookEndpoints: ['GET', '/v1/webhooks/endpoints'],
  deleteWebhookEndpoint: ['DELETE', '/v1/webhooks/endpoints/{id}'],
  listWebhookDeliveries: ['GET', '/v1/webhooks/deliveries'],
  replayWebhookDelivery: ['POST', '/v1/webhooks/deliveries/{id}/replay'],
} as const satisfies Record<string, readonly [Method, string]>;

type RouteName = keyof typeof ROUTES;

export class HongyanClient {
  private readonly baseUrl: string;
  private readonly auth: Auth;
  private readonly fetchImpl: typeof fetch;

  constructor({
    baseUrl,
    auth,
    fetch: fetchImpl = globalThis.fetch,
  }: {
    baseUrl: string;
    auth: Auth;
    fetch?: typeof fetch;
  }) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.auth = auth;
    this.fetchImpl = fetchImpl;
  }

  sendMessage(message: SendMessage, options: { idempotencyKey?: string } = {}): Promise<SentMessage> {
    return this.call('sendMessage', {}, message, options.idempotencyKey);
  }
  getMessage(id: string): Promise<Message> {
    return this.call('getMessage', { id });
  }
  listMessages(
    query: Record<string, string> = {},
  ): Promise<{ data: Message[]; next_cursor?: string | null }> {
    return this.call('listMessages', {}, undefined, undefined, query);
  }
  cancelMessage(id: string): Promise<Message> {
    return this.call('cancelMessage', { id });
  }
  sendBatch(batch: SendBatch, options: { idempotencyKey?: string } = {}): Promise<Batch> {
    return this.call('sendBatch', {}, batch, options.idempotencyKey);
  }
  getBatch(id: string): Promise<Batch> {
    return this.call('getBatch', { id });
  }
  startVerification(input: StartVerification): Promise<Verification> {
    return this.call('startVerification', {}, input);
  }
  checkVerification(input: { to: string; code: string; purpose?: string }): Promise<VerificationCheck> {
    return this.call('checkVerification', {}, input);
  }
  getVerification(id: string): Promise<Verification> {
    return this.call('getVerification', { id });
  }
  createWebhookEndpoint(input: {
    url: string;
    events: WebhookEvent[];
    description?: string;
  }): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    return this.call('createWebhookEndpoint', {}, input);
  }
  listWebhookEndpoints(): Promise<{ data: WebhookEndpoint[] }> {
    return this.call('listWebhookEndpoints', {});
  }
  deleteWebhookEndpoint(id: string): Promise<unknown> {
    return this.call('deleteWebhookEndpoint', { id });
  }
  listWebhookDeliveries(query: Record<string, string> = {}): Promise<{ data: Record<string, unknown>[] }> {
    return this.call('listWebhookDeliveries', {}, undefined, undefined, query);
  }
  replayWebhookDelivery(id: string): Promise<unknown> {
    return this.call('replayWebhookDelivery', { id });
  }

  private async call<T>(
    route: RouteName,
    params: Record<string, string>,
    body?: unknown,
    idempotencyKey?: string,
    query: Record<string, string> = {},
  ): Promise<T> {
    const [method, pattern] = ROUTES[route];
    const path = pattern.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name] ?? ''));
    const search = new URLSearchParams(query).toString();
    const target = search === '' ? path : `${path}?${search}`;
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (text !== undefined) headers['content-type'] = 'application/json';
    if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
    if ('apiKey' in this.auth) headers.authorization = `Bearer ${this.auth.apiKey}`;
    else Object.assign(headers, await signRequest({ ...this.auth, method, target, body: text }));
    const res = await this.fetchImpl(`${this.baseUrl}${target}`, { method, headers, body: text });
    const raw = await res.text();
    const json: unknown = raw === '' ? undefined : JSON.parse(raw);
    if (!res.ok) {
      const error = (json as { error?: { code?: string; message?: string; details?: unknown } } | undefined)
        ?.error;
      const retry = res.headers.get('retry-after');
      throw new HongyanError(
        res.status,
        error?.code ?? 'http.error',
        error?.message ?? `HTTP ${res.status}`,
        error?.details,
        retry === null ? undefined : Number(retry),
      );
    }
    return json as T;
  }
}

export { signRequest, canonicalString } from './signing.ts';
export { verifyWebhookSignature, type WebhookBatch } from './webhooks.ts';
