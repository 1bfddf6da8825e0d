// One query per send request: the tenant's free-text permission, its approved signatures and the
// template it names. Read at every request (no cache), so that a deleted template or a revoked
// signature stops being usable at once, on every node. Concurrent requests of one tenant for the
// same template share the query in flight (a request that arrives while it runs takes its answer,
// as if it had arrived a moment earlier): under a flood of single sends that is one query per
// round trip per tenant instead of one per request.
import type pg from 'pg';
import { prepared } from '../../../db/prepared.ts';
import {
  compileSendContent,
  type ContentRules,
  type SendComposer,
  type SendPolicy,
  type SendRequest,
} from './send-content.models.ts';
import { templateNotUsable } from './templates.errors.ts';
import type { TemplateType, VariableSpec } from './templates.models.ts';

type Queryable = Pick<pg.Pool, 'query'>;

export async function loadSendPolicy(
  db: Queryable,
  { tenantId, templateId }: { tenantId: number; templateId: number | null },
): Promise<SendPolicy> {
  const result = await db.query<{
    free_text: boolean;
    signatures: { id: number; name: string; is_default: boolean }[];
    template: {
      id: number;
      type: TemplateType;
      status: string;
      content: string;
      variables: VariableSpec[];
      allow_urls: boolean;
      allow_phones: boolean;
    } | null;
  }>(
    prepared(
      'load-send-policy',
      `select t.free_text,
              coalesce((select json_agg(json_build_object('id', s.id, 'name', s.name, 'is_default', s.is_default))
                          from signatures s
                         where s.tenant_id = t.id and s.status = 'approved' and s.deleted_at is null), '[]') as signatures,
              (select json_build_object('id', p.id, 'type', p.type, 'status', p.status, 'content', p.content,
                        'variables', p.variables, 'allow_urls', p.allow_urls, 'allow_phones', p.allow_phones)
                 from templates p
                where p.id = $2 and p.tenant_id = t.id and p.deleted_at is null) as template
         from tenants t where t.id = $1`,
      [tenantId, templateId],
    ),
  );
  const row = result.rows[0];
  if (row === undefined) return { freeText: false, signatures: [], template: null };
  return {
    freeText: row.free_text,
    signatures: row.signatures.map((s) => ({ id: Number(s.id), name: s.name, isDefault: s.is_default })),
    template: row.template === null ? null : { ...row.template, id: Number(row.template.id) },
  };
}

/** A template id as the API takes it (a string of digits, or a number); null when it is none. */
export function parseTemplateId(value: string | number | undefined): number | null {
  if (value === undefined) return null;
  const text = String(value);
  return /^[0-9]{1,15}$/.test(text) ? Number(text) : -1;
}

/** Loads what the request needs (one query) and compiles it; request-level refusals throw. */
export async function prepareSendComposer({
  db,
  tenantId,
  request,
  rules,
}: {
  db: Queryable;
  tenantId: number;
  request: SendRequest;
  rules?: ContentRules;
}): Promise<SendComposer> {
  const templateId = parseTemplateId(request.template_id);
  if (templateId === -1) throw templateNotUsable({ details: { status: 'not_found' } });
  const policy = await loadSharedSendPolicy(db, { tenantId, templateId });
  return compileSendContent({ request, policy, rules });
}

const inFlight = new WeakMap<Queryable, Map<string, Promise<SendPolicy>>>();

/** loadSendPolicy, with one query in flight per (pool, tenant, template); never kept after it ends. */
export function loadSharedSendPolicy(
  db: Queryable,
  args: { tenantId: number; templateId: number | null },
): Promise<SendPolicy> {
  let running = inFlight.get(db);
  if (running === undefined) {
    running = new Map();
    inFlight.set(db, running);
  }
  const key = `${args.tenantId}:${args.templateId ?? ''}`;
  const shared = running.get(key);
  if (shared !== undefined) return shared;
  const loading = loadSendPolicy(db, args).finally(() => {
    if (running.get(key) === loading) running.delete(key);
  });
  running.set(key, loading);
  return loading;
}
