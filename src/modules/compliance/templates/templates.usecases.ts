import type pg from 'pg';
import {
  type ComplianceSettings,
  DEFAULT_COMPLIANCE_SETTINGS,
  reviewDueFor,
} from '../settings/settings.models.ts';
import { type ReviewDecision, reviewQueueFields } from '../review.models.ts';
import { readComplianceSettings } from '../settings/settings.sql.ts';
import {
  invalidTemplate,
  templateNotEditable,
  templateNotFound,
  templateNotPending,
} from './templates.errors.ts';
import {
  checkTemplateDefinition,
  messageTypeOf,
  type TemplateType,
  type VariableSpec,
} from './templates.models.ts';
import {
  decideTemplate,
  findTemplate,
  insertTemplate,
  resubmitTemplate,
  type TemplateFields,
  type TemplateRow,
} from './templates.repository.ts';

type Queryable = Pick<pg.Pool, 'query'>;

/** The rules engine as templates use it: findings of a text, and whether one blocks. */
export type EvaluateTemplate = (input: {
  content: string;
  type: 'verification' | 'notification' | 'marketing';
}) => { blocked: boolean; findings: { rule: string; severity: string; message: string; text: string }[] };

export interface TemplateInput {
  name: string;
  type: TemplateType;
  content: string;
  variables?: VariableSpec[];
  allow_urls?: boolean;
  allow_phones?: boolean;
}

export function templateView(
  row: TemplateRow,
  _now: Date,
  settings: ComplianceSettings = DEFAULT_COMPLIANCE_SETTINGS,
) {
  const pending = row.status === 'pending';
  return {
    id: String(row.id),
    name: row.name,
    type: row.type,
    content: row.content,
    variables: row.variables,
    allow_urls: row.allow_urls,
    allow_phones: row.allow_phones,
    status: row.status,
    reason: row.reason,
    findings: row.findings,
    submitted_at: row.submitted_at.toISOString(),
    reviewed_at: row.reviewed_at?.toISOString() ?? null,
    decision_expected_by: pending ? reviewDueFor(settings, 'template', row.submitted_at).toISOString() : null,
    created_at: row.created_at.toISOString(),
  };
}

/** A queue item: its age in wall time and in working minutes, its due time, whether overdue. */
export function templateQueueItemView(
  row: TemplateRow & { tenant_name: string },
  now: Date,
  settings: ComplianceSettings,
) {
  return { ...templateView(row, now, settings), ...reviewQueueFields(row, 'template', settings, now) };
}

/**
 * Checks the definition, then runs the rules engine on it (subject 'template'). What it finds is
 * stored with the template and shown to tenant and reviewer; a finding that blocks rejects the
 * template at once (reviewed_by 'rules'), so the tenant can fix and resubmit it.
 */
function prepare(input: TemplateInput, evaluate: EvaluateTemplate | undefined) {
  const check = checkTemplateDefinition(input);
  if (!check.ok) throw invalidTemplate({ message: check.message });
  const verdict = evaluate?.({ content: input.content, type: messageTypeOf(input.type) }) ?? {
    blocked: false,
    findings: [],
  };
  const blocking = verdict.findings.find((f) => f.severity === 'block');
  const fields: TemplateFields = {
    name: input.name,
    type: input.type,
    content: input.content,
    variables: check.variables,
    allowUrls: input.allow_urls ?? false,
    allowPhones: input.allow_phones ?? false,
    findings: verdict.findings,
  };
  return {
    fields,
    status: verdict.blocked ? ('rejected' as const) : ('pending' as const),
    reason: verdict.blocked
      ? `rules engine: ${blocking?.message ?? 'blocked'} (compliance.${blocking?.rule ?? 'rule'})`
      : null,
  };
}

export async function submitTemplate({
  db,
  tenantId,
  input,
  now,
  evaluate,
}: {
  db: Queryable;
  tenantId: number;
  input: TemplateInput;
  now: Date;
  evaluate?: EvaluateTemplate;
}) {
  const { fields, status, reason } = prepare(input, evaluate);
  const row = await insertTemplate(db, {
    ...fields,
    tenantId,
    status,
    reason,
    reviewedBy: status === 'rejected' ? 'rules' : null,
    now,
  });
  return templateView(row, now, await readComplianceSettings(db));
}

export async function resubmit({
  db,
  tenantId,
  id,
  input,
  now,
  evaluate,
}: {
  db: Queryable;
  tenantId: number;
  id: number;
  input: Partial<TemplateInput>;
  now: Date;
  evaluate?: EvaluateTemplate;
}) {
  const current = await findTemplate(db, { tenantId, id });
  if (current === null) throw templateNotFound();
  if (current.status !== 'rejected') throw templateNotEditable({ details: { status: current.status } });
  const merged: TemplateInput = {
    name: input.name ?? current.name,
    type: input.type ?? current.type,
    content: input.content ?? current.content,
    variables: input.variables ?? (input.content === undefined ? current.variables : undefined),
    allow_urls: input.allow_urls ?? current.allow_urls,
    allow_phones: input.allow_phones ?? current.allow_phones,
  };
  const { fields, status, reason } = prepare(merged, evaluate);
  const row = await resubmitTemplate(db, { ...fields, tenantId, id, now, status, reason });
  if (row === null) throw templateNotEditable();
  return templateView(row, now, await readComplianceSettings(db));
}

export async function reviewTemplate({ db, ...decision }: { db: Queryable } & ReviewDecision) {
  const row = await decideTemplate(db, decision);
  if (row !== null) return templateView(row, decision.now);
  const current = await findTemplate(db, { id: decision.id });
  if (current === null) throw templateNotFound();
  throw templateNotPending({ details: { status: current.status } });
}

/** Approved at once: the demo tenant's samples and `hongyan` scripting. */
export async function createApprovedTemplate({
  db,
  tenantId,
  input,
  by = 'operator',
  now = new Date(),
}: {
  db: Queryable;
  tenantId: number;
  input: TemplateInput;
  by?: string;
  now?: Date;
}) {
  const { fields } = prepare(input, undefined);
  return insertTemplate(db, { ...fields, tenantId, status: 'approved', reviewedBy: by, now });
}
