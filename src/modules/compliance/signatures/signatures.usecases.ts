import type pg from 'pg';
import {
  invalidSignatureName,
  signatureExists,
  signatureExtensionsExhausted,
  signatureNameLength,
  signatureNotEditable,
  signatureNotFound,
  signatureNotPending,
  signatureNotApprovedForDefault,
} from './signatures.errors.ts';
import {
  checkSignatureName,
  DEFAULT_NAME_LIMITS,
  type NameLimits,
  type SignatureSource,
} from './signatures.models.ts';
import {
  decideSignature,
  findSignature,
  insertSignature,
  resubmitSignature,
  setDefaultSignature,
  setFreeText,
  type SignatureRow,
} from './signatures.repository.ts';
import { documentView, type SignatureDocumentRow } from './signature-documents.ts';
import {
  type ComplianceSettings,
  DEFAULT_COMPLIANCE_SETTINGS,
  reviewDueFor,
} from '../settings/settings.models.ts';
import { readComplianceSettings } from '../settings/settings.sql.ts';
import { type ReviewDecision, reviewQueueFields } from '../review.models.ts';

/**
 * What tenant and operator see of a signature; a pending one says when to expect a decision
 * (the review desk's working hours, in the compliance settings).
 */
export function signatureView(
  row: SignatureRow,
  now: Date,
  settings: ComplianceSettings = DEFAULT_COMPLIANCE_SETTINGS,
  documents: readonly SignatureDocumentRow[] = [],
) {
  const pending = row.status === 'pending';
  return {
    id: String(row.id),
    name: row.name,
    source: row.source,
    source_detail: row.source_detail,
    status: row.status,
    reason: row.reason,
    extension_code: row.extension_code,
    is_default: row.is_default,
    submitted_at: row.submitted_at.toISOString(),
    reviewed_at: row.reviewed_at?.toISOString() ?? null,
    decision_expected_by: pending
      ? reviewDueFor(settings, 'signature', row.submitted_at).toISOString()
      : null,
    age_minutes: pending ? Math.floor((now.getTime() - row.submitted_at.getTime()) / 60_000) : null,
    documents: documents.filter((d) => Number(d.signature_id) === Number(row.id)).map(documentView),
    created_at: row.created_at.toISOString(),
  };
}

/** A queue item: its age in wall time and in working minutes, its due time, whether overdue. */
export function queueItemView(
  row: SignatureRow & { tenant_name: string },
  now: Date,
  settings: ComplianceSettings,
  documents: readonly SignatureDocumentRow[] = [],
) {
  return {
    ...signatureView(row, now, settings, documents),
    ...reviewQueueFields(row, 'signature', settings, now),
  };
}

function checkName(name: string, limits: NameLimits) {
  const check = checkSignatureName(name, limits);
  if (check.ok) return;
  const details = { min: limits.min, max: limits.max, length: check.length };
  throw check.rule === 'length'
    ? signatureNameLength({ message: check.reason, details })
    : invalidSignatureName({ message: check.reason, details });
}

export async function applyForSignature({
  db,
  tenantId,
  input,
  now,
  settings,
}: {
  db: Pick<pg.Pool, 'query'>;
  tenantId: number;
  input: { name: string; source: SignatureSource; source_detail?: string };
  now: Date;
  /** The platform's compliance settings (read from the database when not given). */
  settings?: ComplianceSettings;
}) {
  const current = settings ?? (await readComplianceSettings(db));
  checkName(input.name, current.signature_name);
  const outcome = await insertSignature(db, {
    tenantId,
    name: input.name,
    source: input.source,
    sourceDetail: input.source_detail ?? '',
    status: 'pending',
    now,
  });
  if (!outcome.ok) throw outcome.reason === 'name_taken' ? signatureExists() : signatureExtensionsExhausted();
  return signatureView(outcome.row, now, current);
}

export async function resubmit({
  db,
  tenantId,
  id,
  input,
  now,
  settings,
}: {
  db: Pick<pg.Pool, 'query'>;
  tenantId: number;
  id: number;
  input: { name?: string; source?: SignatureSource; source_detail?: string };
  now: Date;
  settings?: ComplianceSettings;
}) {
  const platform = settings ?? (await readComplianceSettings(db));
  const current = await findSignature(db, { tenantId, id });
  if (current === null) throw signatureNotFound();
  if (current.status !== 'rejected') throw signatureNotEditable({ details: { status: current.status } });
  const name = input.name ?? current.name;
  checkName(name, platform.signature_name);
  const row = await resubmitSignature(db, {
    tenantId,
    id,
    name,
    source: input.source ?? current.source,
    sourceDetail: input.source_detail ?? current.source_detail,
    now,
  });
  if (row === 'name_taken') throw signatureExists();
  if (row === null) throw signatureNotEditable();
  return signatureView(row, now, platform);
}

export async function reviewSignature({ db, ...decision }: { db: Pick<pg.Pool, 'query'> } & ReviewDecision) {
  const row = await decideSignature(db, decision);
  if (row !== null) return signatureView(row, decision.now);
  const current = await findSignature(db, { id: decision.id });
  if (current === null) throw signatureNotFound();
  throw signatureNotPending({ details: { status: current.status } });
}

export async function chooseDefaultSignature({
  pool,
  tenantId,
  id,
}: {
  pool: pg.Pool;
  tenantId: number;
  id: number;
}) {
  const row = await setDefaultSignature(pool, { tenantId, id });
  if (row !== null) return row;
  const current = await findSignature(pool, { tenantId, id });
  if (current === null) throw signatureNotFound();
  throw signatureNotApprovedForDefault();
}

/**
 * What `hongyan tenant create --signature NAME --free-text`, the demo tenant and the test kits
 * give a tenant: approved signatures (the first is the default) and, if asked, free text.
 */
export async function grantSending({
  db,
  tenantId,
  signatures = [],
  freeText = false,
  by = 'operator',
  now = new Date(),
  limits = DEFAULT_NAME_LIMITS,
}: {
  db: Pick<pg.Pool, 'query'>;
  tenantId: number;
  signatures?: readonly string[];
  freeText?: boolean;
  by?: string;
  now?: Date;
  limits?: NameLimits;
}) {
  const rows: SignatureRow[] = [];
  for (const name of signatures) {
    checkName(name, limits);
    const outcome = await insertSignature(db, {
      tenantId,
      name,
      source: 'other',
      sourceDetail: '',
      status: 'approved',
      reviewedBy: by,
      now,
    });
    if (!outcome.ok)
      throw outcome.reason === 'name_taken' ? signatureExists() : signatureExtensionsExhausted();
    rows.push(outcome.row);
  }
  if (freeText) await setFreeText(db, { tenantId, allowed: true });
  return rows;
}
