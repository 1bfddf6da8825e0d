// Reading stored replies: a tenant's (the API) and the operator's (the CLI, unattributed ones).
import type { Kysely, Selectable } from 'kysely';
import type { Database, InboundMessagesTable } from '../../db/schema.ts';

export type ReplyRow = Selectable<InboundMessagesTable>;

/** Whose replies: one tenant's, the unattributed ones (operator), or all (operator). */
export type ReplyScope = { tenantId: number } | 'unattributed' | 'all';

export async function listReplies(
  kysely: Kysely<Database>,
  { scope, beforeId, limit }: { scope: ReplyScope; beforeId?: number; limit: number },
): Promise<ReplyRow[]> {
  let q = kysely.selectFrom('inbound_messages').selectAll();
  if (scope === 'unattributed') q = q.where('tenant_id', 'is', null);
  else if (scope !== 'all') q = q.where('tenant_id', '=', scope.tenantId);
  if (beforeId !== undefined) q = q.where('id', '<', beforeId);
  return q.orderBy('id', 'desc').limit(limit).execute();
}

/** What the operator sees of a reply: where it came from, why it has (no) tenant, its bytes. */
export function toOperatorReplyView(r: ReplyRow) {
  return {
    id: String(r.id),
    tenant_id: r.tenant_id === null ? null : String(r.tenant_id),
    attribution: r.attribution,
    candidate_tenant_ids: r.candidate_tenant_ids?.map(String) ?? null,
    channel_id: r.channel_id === null ? null : String(r.channel_id),
    from: r.sender,
    to: r.destination,
    content: r.content,
    sanitized: r.sanitized,
    raw_hex: r.raw_hex,
    data_coding: r.data_coding,
    parts: r.parts,
    incomplete: r.incomplete,
    received_at: r.received_at.toISOString(),
  };
}

export function operatorReplyLine(v: ReturnType<typeof toOperatorReplyView>): string {
  const who =
    v.tenant_id !== null
      ? `tenant ${v.tenant_id}`
      : v.attribution === 'ambiguous'
        ? `unattributed (tenants ${v.candidate_tenant_ids!.join(', ')} messaged this handset)`
        : 'unattributed (no tenant messaged this handset)';
  const flags = [v.incomplete ? 'incomplete' : '', v.sanitized ? `raw ${v.raw_hex}` : ''].filter(Boolean);
  return `${v.id}\t${v.received_at}\t${v.from} -> ${v.to}\t${who}\t${JSON.stringify(v.content)}${
    flags.length > 0 ? `\t${flags.join(' ')}` : ''
  }`;
}
