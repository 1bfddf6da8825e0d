// Proof documents of a signature (a business licence, a trademark certificate, an app listing):
// PDF, JPEG or PNG, typed by their first bytes as tenant qualification documents are, kept in the
// same DocumentStore. The tenant adds them, and deletes a wrong one, while the signature is
// pending or rejected (an approved signature keeps the proof it was approved on); the tenant and
// the operator reviewing it read them; another tenant finds nothing.
import { createHash, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { audit } from '../../accounts/audit.ts';
import type { DocumentStore } from '../../tenants/document-store.ts';
import { sniffDocumentType } from '../../tenants/tenants.models.ts';
import {
  signatureDocumentNotFound,
  signatureDocumentsFull,
  signatureDocumentType,
  signatureNotEditable,
  signatureNotFound,
} from './signatures.errors.ts';
import { findSignature } from './signatures.repository.ts';

type Queryable = Pick<pg.Pool, 'query'>;

/** A signature holds at most this many documents (a guard against filling the store). */
export const MAX_DOCUMENTS_PER_SIGNATURE = 10;

export interface SignatureDocumentRow {
  id: string;
  signature_id: string;
  tenant_id: string;
  content_type: string;
  size_bytes: number;
  sha256: string;
  storage_key: string;
  created_at: Date;
}

export function documentView(row: SignatureDocumentRow) {
  return {
    id: String(row.id),
    content_type: row.content_type,
    size_bytes: row.size_bytes,
    sha256: row.sha256,
    created_at: row.created_at.toISOString(),
  };
}

/** What the audit log keeps of a document (its bytes stay in the store). */
const auditedDocument = (doc: SignatureDocumentRow) => ({
  document: String(doc.id),
  content_type: doc.content_type,
  size_bytes: doc.size_bytes,
  sha256: doc.sha256,
});

export const documentViewSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    content_type: { type: 'string', enum: ['application/pdf', 'image/jpeg', 'image/png'] },
    size_bytes: { type: 'integer' },
    sha256: { type: 'string' },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const;

/** The documents of these signatures, oldest first. */
export async function listSignatureDocuments(
  db: Queryable,
  signatureIds: readonly (number | string)[],
): Promise<SignatureDocumentRow[]> {
  if (signatureIds.length === 0) return [];
  const { rows } = await db.query<SignatureDocumentRow>(
    `select d.* from signature_documents d
      where d.signature_id = any($1::bigint[]) order by d.signature_id, d.id`,
    [signatureIds.map(Number)],
  );
  return rows;
}

export async function uploadSignatureDocument({
  db,
  store,
  tenantId,
  signatureId,
  bytes,
  by,
  now,
}: {
  db: Queryable;
  store: DocumentStore;
  tenantId: number;
  signatureId: number;
  bytes: Buffer;
  by: { actor: string; ip: string | null };
  now: Date;
}) {
  const signature = await findSignature(db, { tenantId, id: signatureId });
  if (signature === null) throw signatureNotFound();
  if (signature.status === 'approved') throw signatureNotEditable({ details: { status: signature.status } });
  const type = sniffDocumentType(bytes);
  if (!type) throw signatureDocumentType();
  const storageKey = `tenant-${tenantId}/signature-${signatureId}/${randomUUID()}.${type.extension}`;
  // The file first: a row never names a key with nothing behind it (an orphan file is harmless).
  await store.put(storageKey, bytes);
  // The count is checked in the insert; two concurrent uploads may pass it together, which is
  // one document over the guard at worst, not a way to fill the store.
  const { rows } = await db.query<SignatureDocumentRow>(
    `insert into signature_documents (signature_id, tenant_id, content_type, size_bytes, sha256, storage_key, created_at)
     select $1, $2, $3, $4, $5, $6, $7
      where (select count(*) from signature_documents where signature_id = $1) < $8
     returning *`,
    [
      signatureId,
      tenantId,
      type.contentType,
      bytes.length,
      createHash('sha256').update(bytes).digest('hex'),
      storageKey,
      now,
      MAX_DOCUMENTS_PER_SIGNATURE,
    ],
  );
  const doc = rows[0];
  if (!doc) throw signatureDocumentsFull({ details: { max: MAX_DOCUMENTS_PER_SIGNATURE } });
  await audit(
    db,
    {
      actor: by.actor,
      tenantId,
      action: 'signature.document_uploaded',
      target: `signature:${signatureId}`,
      after: auditedDocument(doc),
      ip: by.ip,
    },
    now,
  );
  return documentView(doc);
}

/** Deletes a document of a pending or rejected signature of the tenant: its row, then its file. */
export async function deleteSignatureDocument({
  db,
  store,
  tenantId,
  signatureId,
  documentId,
  by,
  now,
}: {
  db: Queryable;
  store: DocumentStore;
  tenantId: number;
  signatureId: number;
  documentId: number;
  by: { actor: string; ip: string | null };
  now: Date;
}): Promise<void> {
  const signature = await findSignature(db, { tenantId, id: signatureId });
  if (signature === null) throw signatureNotFound();
  if (signature.status === 'approved') throw signatureNotEditable({ details: { status: signature.status } });
  // The status is checked again in the delete: an approval between the two reads keeps the proof.
  const { rows } = await db.query<SignatureDocumentRow>(
    `delete from signature_documents d using signatures s
      where d.id = $1 and d.signature_id = $2 and s.id = d.signature_id and s.tenant_id = $3
        and s.status <> 'approved'
     returning d.*`,
    [documentId, signatureId, tenantId],
  );
  const doc = rows[0];
  if (!doc) {
    const again = await findSignature(db, { tenantId, id: signatureId });
    if (again?.status === 'approved') throw signatureNotEditable({ details: { status: again.status } });
    throw signatureDocumentNotFound();
  }
  // The row first: a file left by a failure here is an orphan, never a row naming nothing.
  await store.remove(doc.storage_key);
  await audit(
    db,
    {
      actor: by.actor,
      tenantId,
      action: 'signature.document_deleted',
      target: `signature:${signatureId}`,
      before: auditedDocument(doc),
      ip: by.ip,
    },
    now,
  );
}

/**
 * One document of a live signature, with its bytes. With `tenantId` (a tenant's request) the
 * signature must be that tenant's: another tenant's id finds nothing. Without (the operator
 * reviewing it), any tenant's.
 */
export async function readSignatureDocument({
  db,
  store,
  tenantId,
  signatureId,
  documentId,
}: {
  db: Queryable;
  store: DocumentStore;
  tenantId: number | null;
  signatureId: number;
  documentId: number;
}) {
  const { rows } = await db.query<SignatureDocumentRow>(
    `select d.* from signature_documents d join signatures s on s.id = d.signature_id
      where d.id = $1 and d.signature_id = $2 and s.deleted_at is null
        and ($3::bigint is null or s.tenant_id = $3)`,
    [documentId, signatureId, tenantId],
  );
  const doc = rows[0];
  const bytes = doc && (await store.get(doc.storage_key));
  if (!doc || !bytes) throw signatureDocumentNotFound();
  return { doc, bytes };
}
