import { type KeyRingSource, seal } from '../../shared/secrets.ts';
import {
  deliveryNotFound,
  endpointNotFound,
  formatEvents,
  invalidUrl,
  replayRefused,
  urlRefused,
} from './webhooks.errors.ts';
import type { AddressPolicy } from './ssrf.models.ts';
import {
  formatAllowsEvents,
  generateWebhookSecret,
  urlProblem,
  type WebhookFormat,
} from './webhooks.models.ts';
import type { AttemptRow, DeliveryRow, EndpointRow, WebhooksRepository } from './webhooks.repository.ts';
import { checkUrlTarget } from './webhooks.sender.ts';

export interface WebhookDeps {
  repository: WebhooksRepository;
  keyRing: KeyRingSource;
  policy: AddressPolicy;
  now: () => Date;
  /** Resolves a host name (tests pass a fake resolver). */
  resolve?: Parameters<typeof checkUrlTarget>[2];
}

export function toEndpointView(e: EndpointRow) {
  return {
    id: String(e.id),
    url: e.url,
    events: e.events,
    description: e.description,
    format: e.format,
    enabled: e.enabled,
    created_at: e.created_at.toISOString(),
    updated_at: e.updated_at.toISOString(),
  };
}

export function toDeliveryView(d: DeliveryRow) {
  return {
    id: String(d.id),
    endpoint_id: d.endpoint_id === null ? null : String(d.endpoint_id),
    callback_url: d.callback_url,
    event_id: `evt_${d.event_id}`,
    event_type: d.event_type,
    message_id: d.message_id === null ? null : String(d.message_id),
    state: d.state,
    attempts: d.attempts,
    next_attempt_at: d.state === 'pending' ? d.next_attempt_at.toISOString() : null,
    last_status: d.last_status,
    last_error: d.last_error,
    replay_of: d.replay_of === null ? null : String(d.replay_of),
    created_at: d.created_at.toISOString(),
    done_at: d.done_at?.toISOString() ?? null,
  };
}

function toAttemptView(a: AttemptRow) {
  return {
    id: String(a.id),
    at: a.at.toISOString(),
    status_code: a.status_code,
    error: a.error,
    duration_ms: a.duration_ms,
    events_in_post: a.delivery_ids.length,
  };
}

/** Refuses a URL that is malformed or that resolves inside (checked again at every connect). */
export async function checkWebhookUrl(url: string, deps: Pick<WebhookDeps, 'policy' | 'resolve'>) {
  const problem = urlProblem(url);
  if (problem) throw invalidUrl({ details: { reason: problem } });
  const refused = await checkUrlTarget(url, deps.policy, deps.resolve);
  if (refused) throw urlRefused({ details: refused });
}

export async function createEndpoint({
  tenantId,
  input,
  deps,
}: {
  tenantId: number;
  input: { url: string; events: string[]; description?: string; format?: WebhookFormat };
  deps: WebhookDeps;
}) {
  const format = input.format ?? 'hongyan';
  if (!formatAllowsEvents(format, input.events)) throw formatEvents();
  await checkWebhookUrl(input.url, deps);
  const secret = generateWebhookSecret();
  const row = await deps.repository.insertEndpoint({
    tenantId,
    url: input.url,
    events: [...new Set(input.events)],
    description: input.description ?? '',
    format,
    secretSealed: seal(deps.keyRing(), secret),
    now: deps.now(),
  });
  return { endpoint: toEndpointView(row), secret };
}

export async function updateEndpoint({
  tenantId,
  id,
  input,
  deps,
}: {
  tenantId: number;
  id: number;
  input: { url?: string; events?: string[]; description?: string; enabled?: boolean; format?: WebhookFormat };
  deps: WebhookDeps;
}) {
  if (input.url !== undefined) await checkWebhookUrl(input.url, deps);
  // The format and the events may come from the request or the stored endpoint: the table's
  // constraint judges the result (two changes at once cannot pass it either).
  const row = await deps.repository
    .updateEndpoint(
      tenantId,
      id,
      { ...input, ...(input.events ? { events: [...new Set(input.events)] } : {}) },
      deps.now(),
    )
    .catch((error: unknown) => {
      const e = error as { code?: string; constraint?: string };
      if (e.code === '23514' && e.constraint === 'webhook_endpoints_vendor_events')
        throw formatEvents({ cause: error });
      throw error;
    });
  if (!row) throw endpointNotFound();
  return toEndpointView(row);
}

export async function rotateEndpointSecret({
  tenantId,
  id,
  deps,
}: {
  tenantId: number;
  id: number;
  deps: WebhookDeps;
}) {
  const secret = generateWebhookSecret();
  const row = await deps.repository.updateEndpoint(
    tenantId,
    id,
    { secretSealed: seal(deps.keyRing(), secret) },
    deps.now(),
  );
  if (!row) throw endpointNotFound();
  return { endpoint: toEndpointView(row), secret };
}

export async function getEndpoint({
  tenantId,
  id,
  deps,
}: {
  tenantId: number;
  id: number;
  deps: WebhookDeps;
}) {
  const row = await deps.repository.getEndpoint(tenantId, id);
  if (!row) throw endpointNotFound();
  return toEndpointView(row);
}

export async function deleteEndpoint({
  tenantId,
  id,
  deps,
}: {
  tenantId: number;
  id: number;
  deps: WebhookDeps;
}) {
  if (!(await deps.repository.deleteEndpoint(tenantId, id, deps.now()))) throw endpointNotFound();
}

export async function getDelivery({
  tenantId,
  id,
  deps,
}: {
  tenantId: number;
  id: number;
  deps: WebhookDeps;
}) {
  const row = await deps.repository.getDelivery(tenantId, id);
  if (!row) throw deliveryNotFound();
  const attempts = await deps.repository.attemptsOf(tenantId, row.attempt_ids);
  return { ...toDeliveryView(row), payload: row.payload, attempt_log: attempts.map(toAttemptView) };
}

export async function replayDelivery({
  tenantId,
  id,
  deps,
}: {
  tenantId: number;
  id: number;
  deps: WebhookDeps;
}) {
  const row = await deps.repository.replayDelivery(tenantId, id, deps.now());
  if (row) return toDeliveryView(row);
  if (!(await deps.repository.getDelivery(tenantId, id))) throw deliveryNotFound();
  throw replayRefused();
}

export async function rotateCallbackSecret({ tenantId, deps }: { tenantId: number; deps: WebhookDeps }) {
  const secret = generateWebhookSecret();
  await deps.repository.setCallbackSecret(tenantId, seal(deps.keyRing(), secret), deps.now());
  return { secret };
}
