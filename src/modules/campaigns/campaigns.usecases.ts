// Campaign use cases: create (validated whole before anything is written), preview (what a run
// would send, to whom, and what it costs, written nowhere), and the state changes.
import type pg from 'pg';
import { withTransaction } from '../../db/pool.ts';
import type { AppError } from '../../shared/errors.ts';
import { unitsOf } from '../billing/charging.ts';
import { loadPriceTable } from '../billing/commerce/commerce.repository.ts';
import { EMPTY_PRICE_TABLE } from '../billing/commerce/rating.models.ts';
import { getBalance } from '../billing/ledger.usecases.ts';
import { expandAudience } from '../contacts/contacts.repository.ts';
import { checkContent } from '../messages/messages.models.ts';
import type { NewMessageRow } from '../messages/messages.repository.ts';
import { shortenUrls, findUrls, newCode, targetProblem } from '../shortlinks/shortlinks.models.ts';
import { maskPhone } from '../../shared/phone-mask.ts';
import { audienceFileRecipients } from './audience-files.ts';
import { shortLinkBaseFor } from '../shortlinks/short-domains.ts';
import type { RunDeps } from './campaign-runs.ts';
import { composersOf } from './campaign-runs.ts';
import {
  abProblem,
  type AbSettings,
  type AudienceRecipient,
  dedupe,
  MAX_PASTED,
  nextRunAfter,
  parsePasted,
  type Schedule,
  scheduleProblem,
} from './campaigns.models.ts';
import {
  audienceEmpty,
  audienceTooLarge,
  campaignNotFound,
  invalidAb,
  invalidLink,
  invalidSchedule,
  invalidTransition,
} from './campaigns.errors.ts';
import {
  type CampaignContent,
  type CampaignRow,
  getCampaign,
  insertCampaign,
  insertCampaignRecipients,
  readPastedRecipients,
  updateCampaignState,
} from './campaigns.sql.ts';

export interface CampaignInput {
  name: string;
  audience: {
    numbers?: string;
    columns?: string[];
    file_id?: string;
    group_ids?: number[];
    segment_ids?: number[];
  };
  content?: string;
  template_id?: string | number;
  sign_name?: string;
  type?: 'notification' | 'marketing';
  params?: Record<string, string | number>;
  schedule?: Schedule;
  throttle_per_minute?: number;
  shorten_links?: boolean;
  ab?: AbSettings;
  draft?: boolean;
}

/** What the input means, checked whole: nothing is written when any of it is wrong. */
export async function validateInput(
  deps: Pick<RunDeps, 'pool' | 'rules' | 'defaultRegion'>,
  tenantId: number,
  input: CampaignInput,
  now: Date,
) {
  const schedule: Schedule = input.schedule ?? { kind: 'now' };
  const problem = scheduleProblem(schedule, now);
  if (problem) throw invalidSchedule({ message: problem, details: { reason: problem } });
  if (input.ab) {
    const abIssue = abProblem(input.ab);
    if (abIssue) throw invalidAb({ message: abIssue });
    if (schedule.kind === 'recurring')
      throw invalidAb({ message: 'an A/B test runs once: not on a recurring schedule' });
  }
  const text = input.audience.numbers ?? '';
  const lineCount = text === '' ? 0 : text.split(/\r\n|\r|\n/).filter((l) => l.trim() !== '').length;
  if (lineCount > MAX_PASTED) throw audienceTooLarge({ details: { lines: lineCount, max: MAX_PASTED } });
  const pasted = parsePasted(text, input.audience.columns ?? [], deps.defaultRegion);
  const pastedCount = pasted.recipients.length;
  // An uploaded file's recipients follow the pasted ones; the campaign keeps its own copy.
  const file =
    input.audience.file_id === undefined
      ? null
      : await audienceFileRecipients(deps.pool, tenantId, Number(input.audience.file_id));
  if (file !== null) pasted.recipients.push(...file.recipients);
  const groupIds = input.audience.group_ids ?? [];
  const segmentIds = input.audience.segment_ids ?? [];
  if (pasted.recipients.length === 0 && groupIds.length === 0 && segmentIds.length === 0)
    throw audienceEmpty({ details: { invalid: pasted.invalid.slice(0, 100) } });
  const content: CampaignContent = {
    ...(input.content === undefined ? {} : { content: input.content }),
    ...(input.template_id === undefined ? {} : { template_id: String(input.template_id) }),
    ...(input.sign_name === undefined ? {} : { sign_name: input.sign_name }),
    ...(input.type === undefined ? {} : { type: input.type }),
    ...(input.params === undefined
      ? {}
      : { params: Object.fromEntries(Object.entries(input.params).map(([k, v]) => [k, String(v)])) }),
  };
  const draft: CampaignRow = {
    id: 0,
    tenant_id: tenantId,
    name: input.name,
    state: 'draft',
    audience: {
      numbers: pastedCount,
      columns: input.audience.columns ?? [],
      ...(file === null
        ? {}
        : {
            file: {
              id: file.file.id,
              file_name: file.file.file_name,
              recipients: file.recipients.length,
              variables: file.file.variables,
            },
          }),
      group_ids: groupIds,
      segment_ids: segmentIds,
    },
    content,
    schedule,
    throttle_per_minute: input.throttle_per_minute ?? null,
    shorten_links: input.shorten_links === true,
    ab: input.ab ? { ...input.ab, seed: input.ab.seed ?? Math.floor(Math.random() * 2 ** 31) } : null,
    next_run_at: null,
    runs_started: 0,
    created_at: now,
    updated_at: now,
  };
  // Template, signature and free-text permission: the same refusals as a batch, thrown here.
  const composers = await composersOf(deps, draft);
  if (draft.shorten_links) {
    for (const source of [content.content, ...(input.ab?.variants.map((v) => v.content) ?? [])]) {
      for (const { url } of findUrls(source ?? '')) {
        const why = targetProblem(url);
        if (why) throw invalidLink({ details: { url: url.slice(0, 200), reason: why } });
      }
    }
  }
  return { draft, pasted, composers };
}

export async function createCampaign(deps: RunDeps, tenantId: number, input: CampaignInput) {
  const now = deps.now();
  const { draft, pasted } = await validateInput(deps, tenantId, input, now);
  const state = input.draft === true ? 'draft' : 'active';
  const campaign = await withTransaction(deps.pool, async (client) => {
    const row = await insertCampaign(client, {
      ...draft,
      state,
      next_run_at: state === 'active' ? nextRunAfter(draft.schedule, now, 0) : null,
    });
    await insertCampaignRecipients(client, row.id, pasted.recipients);
    return row;
  });
  return { campaign, invalid: pasted.invalid };
}

/** draft → active; active → paused; paused → active; any but completed → canceled. */
export async function changeState(
  deps: Pick<RunDeps, 'pool' | 'now'>,
  { tenantId, id, action }: { tenantId: number; id: number; action: 'start' | 'pause' | 'resume' | 'cancel' },
) {
  return withTransaction(deps.pool, async (client) => {
    const c = await getCampaign(client, { tenantId, id, lock: true });
    if (c === null) throw campaignNotFound();
    const now = deps.now();
    const allowed: Record<typeof action, CampaignRow['state'][]> = {
      start: ['draft'],
      pause: ['active'],
      resume: ['paused'],
      cancel: ['draft', 'active', 'paused'],
    };
    if (!allowed[action].includes(c.state)) throw invalidTransition({ details: { state: c.state, action } });
    if (action === 'pause' || action === 'cancel') {
      await updateCampaignState(client, {
        id,
        state: action === 'pause' ? 'paused' : 'canceled',
        nextRunAt: c.next_run_at,
        now,
      });
    } else {
      // A resumed recurring campaign does not make up for the runs it missed while paused.
      const kept = c.next_run_at !== null && c.next_run_at > now ? c.next_run_at : null;
      const next = kept ?? nextRunAfter(c.schedule, now, c.runs_started);
      await updateCampaignState(client, {
        id,
        state: next === null ? 'completed' : 'active',
        nextRunAt: next,
        now,
      });
    }
    return (await getCampaign(client, { tenantId, id }))!;
  });
}

const PREVIEW_SAMPLES = 5;

/**
 * What a run would do, written nowhere: rendered samples, parts, recipients after de-duplication
 * and the exclusions admission would make (the lists and caps steps themselves, run in a
 * transaction that is rolled back), and the cost against the balance.
 */
export async function previewCampaign(
  deps: RunDeps,
  tenantId: number,
  campaign: { row: CampaignRow; pasted: AudienceRecipient[]; invalid: number },
) {
  const c = campaign.row;
  const now = deps.now();
  const composers = await composersOf(deps, c);
  const audience: (AudienceRecipient & { contactId: number | null })[] = campaign.pasted.map((r) => ({
    ...r,
    contactId: null,
  }));
  if (c.audience.group_ids.length > 0 || c.audience.segment_ids.length > 0) {
    const spec = {
      groupIds: c.audience.group_ids,
      segmentIds: c.audience.segment_ids,
      excludeProtected: false,
      now,
    };
    for await (const chunk of expandAudience(deps.pool, tenantId, spec))
      for (const m of chunk)
        audience.push({ phone: m.phone, fields: { name: m.name, ...m.fields }, contactId: m.contactId });
  }
  const { unique, duplicates } = dedupe(audience);
  const [label, composer] = [...composers][0]!;
  const rows: NewMessageRow[] = [];
  const samples: { to: string; text: string; parts: number; encoding: string }[] = [];
  const refused = new Map<string, number>();
  const refuse = (code: string) => refused.set(code, (refused.get(code) ?? 0) + 1);
  const base = c.shorten_links ? await shortLinkBaseFor(deps.pool, tenantId, deps.shortLinkBase) : '';
  for (const r of unique) {
    const composed = composer.compose({ ...c.content.params, ...r.fields }, true);
    if (!composed.ok) {
      refuse(composed.code);
      continue;
    }
    // Real-length codes stand in for the links a run would make.
    const text = c.shorten_links ? shortenUrls(composed.text, base, newCode).text : composed.text;
    const check = checkContent(text, deps.maxParts);
    if (!check.ok) {
      refuse(check.code);
      continue;
    }
    const type = composer.type ?? c.content.type ?? 'notification';
    rows.push({
      tenantId,
      batchId: null,
      type,
      priority: 0,
      recipient: r.phone,
      content: text,
      encoding: check.encoding,
      parts: check.parts,
      clientRef: null,
      sendAt: null,
    });
    if (samples.length < PREVIEW_SAMPLES)
      samples.push({ to: maskPhone(r.phone), text, parts: check.parts, encoding: check.encoding });
  }
  const verdicts = await dryAdmission(deps, rows, now);
  const eligible = rows.filter((_, i) => verdicts[i] === null);
  verdicts.forEach((v) => v && refuse(v.code));
  const prices = await loadPriceTable(deps.pool).catch(() => EMPTY_PRICE_TABLE);
  const costParts = eligible.reduce((sum, row) => sum + unitsOf(row, prices), 0);
  const balance = await getBalance({ db: deps.pool, tenantId });
  const parts = eligible.map((r) => r.parts);
  return {
    variant: label,
    samples,
    parts_per_message: {
      min: parts.length ? Math.min(...parts) : 0,
      max: parts.length ? Math.max(...parts) : 0,
    },
    recipients: {
      pasted_invalid: campaign.invalid,
      audience: audience.length,
      duplicates,
      unique: unique.length,
      excluded: Object.fromEntries([...refused].sort()),
      eligible: eligible.length,
    },
    cost: {
      parts: costParts,
      available: Number(balance.available),
      enough: costParts <= Number(balance.available),
    },
  };
}

/** Every admission step but quota (the cost is reported, not reserved), in a rolled-back transaction. */
async function dryAdmission(deps: RunDeps, rows: NewMessageRow[], now: Date): Promise<(AppError | null)[]> {
  const verdicts: (AppError | null)[] = rows.map(() => null);
  if (rows.length === 0) return verdicts;
  const client: pg.PoolClient = await deps.pool.connect();
  try {
    await client.query('begin');
    let pending = rows.map((_, i) => i);
    for (const step of deps.admission.steps) {
      if (step.name === 'billing.quota' || pending.length === 0) continue;
      const found = await step.check(
        client,
        pending.map((i) => rows[i]!),
        { now, allOrNothing: false },
      );
      pending = pending.filter((index, k) => {
        const v = found[k];
        if (v) verdicts[index] = v;
        return !v;
      });
    }
  } finally {
    await client.query('rollback').catch(() => {});
    client.release();
  }
  return verdicts;
}

export async function previewStored(deps: RunDeps, tenantId: number, id: number) {
  const row = await getCampaign(deps.pool, { tenantId, id });
  if (row === null) throw campaignNotFound();
  return previewCampaign(deps, tenantId, {
    row,
    pasted: await readPastedRecipients(deps.pool, id),
    invalid: 0,
  });
}
