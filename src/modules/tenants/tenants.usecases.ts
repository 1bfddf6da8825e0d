// Onboarding use cases: self-registration, the review and suspension decisions (each audited),
// and qualification documents kept in a DocumentStore.
import { createHash, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { withTransaction } from '../../db/pool.ts';
import { tenantNotFound } from '../accounts/accounts.errors.ts';
import { audit, type Queryable } from '../accounts/audit.ts';
import { addMember } from '../accounts/members.usecases.ts';
import type { DocumentStore } from './document-store.ts';
import {
  type DocumentKind,
  isValidCreditCode,
  nextStatus,
  sniffDocumentType,
  type TenantAction,
  TRANSITIONS,
} from './tenants.models.ts';
import {
  documentNotFound,
  documentTypeRefused,
  invalidCreditCode,
  invalidTransition,
} from './tenants.errors.ts';
import {
  changeStatus,
  findDocument,
  findTenant,
  insertDocument,
  insertPendingTenant,
  type Profile,
} from './tenants.repository.ts';

const PAST: Record<TenantAction, string> = {
  approve: 'approved',
  reject: 'rejected',
  resubmit: 'resubmitted',
  suspend: 'suspended',
  activate: 'activated',
};

export interface By {
  actor: string;
  ip: string | null;
}

/** A new tenant awaiting review, with its owner, in one transaction (a taken email leaves no tenant). */
export async function registerTenant({
  pool,
  profile,
  email,
  password,
  ip,
  now,
}: {
  pool: Pick<pg.Pool, 'connect'>;
  profile: Profile;
  email: string;
  password: string;
  ip: string | null;
  now: Date;
}) {
  if (!isValidCreditCode(profile.credit_code)) throw invalidCreditCode();
  return withTransaction(pool, async (client) => {
    const tenant = await insertPendingTenant(client, profile, now);
    const { member } = await addMember({
      db: client,
      tenantId: tenant.id,
      email,
      role: 'owner',
      password,
      by: { actor: 'anonymous', role: null, ip },
      now,
    });
    await audit(
      client,
      {
        actor: 'anonymous',
        tenantId: tenant.id,
        action: 'tenant.registered',
        target: `tenant:${tenant.id}`,
        after: profile,
        ip,
      },
      now,
    );
    return { tenant, member };
  });
}

/** Approve, reject, resubmit, suspend or activate: allowed only from the statuses TRANSITIONS names. */
export async function changeTenantStatus({
  db,
  tenantId,
  action,
  reason = null,
  by,
  now,
}: {
  db: Queryable;
  tenantId: number;
  action: TenantAction;
  reason?: string | null;
  by: By;
  now: Date;
}) {
  const before = await findTenant(db, tenantId);
  if (!before) throw tenantNotFound();
  if (nextStatus(before.status, action) === null) {
    throw invalidTransition({ message: `A tenant that is ${before.status} cannot be ${action}d.` });
  }
  const { from, to } = TRANSITIONS[action];
  const after = await changeStatus(db, {
    id: tenantId,
    from,
    to,
    reason,
    now,
    review: action === 'approve' || action === 'reject',
  });
  // Another decision landed between the read and the update.
  if (!after) throw invalidTransition();
  await audit(
    db,
    {
      actor: by.actor,
      tenantId,
      action: `tenant.${PAST[action]}`,
      target: `tenant:${tenantId}`,
      before: { status: before.status },
      after: { status: after.status, reason },
      ip: by.ip,
    },
    now,
  );
  return after;
}

export async function uploadDocument({
  db,
  store,
  tenantId,
  kind,
  bytes,
  by,
  now,
}: {
  db: Queryable;
  store: DocumentStore;
  tenantId: number;
  kind: DocumentKind;
  bytes: Buffer;
  by: By;
  now: Date;
}) {
  const type = sniffDocumentType(bytes);
  if (!type) throw documentTypeRefused();
  const storageKey = `tenant-${tenantId}/${randomUUID()}.${type.extension}`;
  // The file first: a row never names a key with nothing behind it (an orphan file is harmless).
  await store.put(storageKey, bytes);
  const doc = await insertDocument(
    db,
    {
      tenant_id: tenantId,
      kind,
      content_type: type.contentType,
      size_bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      storage_key: storageKey,
    },
    now,
  );
  await audit(
    db,
    {
      actor: by.actor,
      tenantId,
      action: 'tenant.document_uploaded',
      target: `document:${doc.id}`,
      after: { kind, content_type: doc.content_type, size_bytes: doc.size_bytes, sha256: doc.sha256 },
      ip: by.ip,
    },
    now,
  );
  return doc;
}

export async function readDocument({
  db,
  store,
  tenantId,
  documentId,
}: {
  db: Queryable;
  store: DocumentStore;
  tenantId: number;
  documentId: number;
}) {
  const doc = await findDocument(db, tenantId, documentId);
  const bytes = doc && (await store.get(doc.storage_key));
  if (!doc || !bytes) throw documentNotFound();
  return { doc, bytes };
}
