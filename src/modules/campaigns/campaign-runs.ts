// A campaign's runs, as a job any worker node may take a step of:
//   claim   — a due campaign's run row (campaign_id, run_at) is inserted in the same transaction
//             that fixes its recipients and creates its batches; the campaign row is locked first
//             and its next_run_at advanced, so a second scheduler (or a restart at the minute it is
//             due) finds nothing to claim, and the unique row refuses a duplicate regardless.
//   expand  — recipients are admitted in chunks through the ordinary batch path
//             (admitAndInsertMessages: lists, quiet hours, caps, marketing review, quota), each
//             chunk in one transaction with the run's cursor, so a resumed job continues exactly
//             where the last commit left it.
//   decide  — an A/B test's variants are compared after the set time; the winner goes to the
//             rest (auto) or the tenant chooses.
import type { CountryCode } from 'libphonenumber-js';
import type pg from 'pg';
import { withTransaction } from '../../db/pool.ts';
import type { AppError } from '../../shared/errors.ts';
import { type Admission, admitAndInsertMessages } from '../messages/admission.ts';
import { checkContent, priorityOf } from '../messages/messages.models.ts';
import { insertBatchRow, type NewMessageRow } from '../messages/messages.repository.ts';
import { normalizePhone } from '../messages/phone.models.ts';
import { expandAudience } from '../contacts/contacts.repository.ts';
import { type ContentRules, type SendComposer } from '../compliance/templates/send-content.models.ts';
import { prepareSendComposer } from '../compliance/templates/send-content.ts';
import { insertShortLinks, type NewShortLink } from '../shortlinks/shortlinks.sql.ts';
import { shortenUrls } from '../shortlinks/shortlinks.models.ts';
import { shortLinkBaseFor } from '../shortlinks/short-domains.ts';
import {
  type AbVariant,
  type AudienceRecipient,
  dedupe,
  nextRunAfter,
  pickWinner,
  splitForTest,
  throttledSendAt,
} from './campaigns.models.ts';
import {
  addToBatchCounts,
  advanceRun,
  type CampaignRow,
  claimRunRow,
  getCampaign,
  getRun,
  insertRunRecipients,
  linkRunBatch,
  readPastedRecipients,
  readRecipientsFrom,
  recordRecipientOutcomes,
  type RunRow,
  runBatches,
  setRunAudience,
} from './campaigns.sql.ts';
import { variantResults } from './campaign-reports.ts';
import { noChoice } from './campaigns.errors.ts';

/** Recipients admitted per transaction: a 1,000-row admission commits in well under a second. */
export const CHUNK = 1000;

export interface RunDeps {
  pool: pg.Pool;
  admission: Admission;
  rules: () => Promise<ContentRules>;
  now: () => Date;
  maxParts: number;
  defaultRegion: string;
  shortLinkBase: string;
  onQueued: () => void;
}

type Labelled = Map<string, SendComposer>;

/** The send request of a variant: the campaign's content with the variant's overrides. */
function requestOf(c: CampaignRow, variant: AbVariant | undefined) {
  const base = { ...c.content };
  if (variant?.content !== undefined) {
    delete base.template_id;
    base.content = variant.content;
  }
  if (variant?.template_id !== undefined) {
    delete base.content;
    base.template_id = variant.template_id;
  }
  if (variant?.sign_name !== undefined) base.sign_name = variant.sign_name;
  return { content: base.content, template_id: base.template_id, sign_name: base.sign_name, type: base.type };
}

/** One composer per label: 'main', or each A/B variant. Request-level refusals throw. */
export async function composersOf(deps: Pick<RunDeps, 'pool' | 'rules'>, c: CampaignRow): Promise<Labelled> {
  const rules = await deps.rules();
  const out: Labelled = new Map();
  const variants = c.ab?.variants ?? [undefined];
  for (const variant of variants) {
    const composer = await prepareSendComposer({
      db: deps.pool,
      tenantId: c.tenant_id,
      request: requestOf(c, variant),
      rules,
    });
    out.set(variant?.name ?? 'main', composer);
  }
  return out;
}

/** Every recipient of a run: the pasted ones, then the contacts of its groups and segments. */
async function loadAudience(db: pg.PoolClient, c: CampaignRow, now: Date) {
  const all: (AudienceRecipient & { contactId: number | null })[] = (
    await readPastedRecipients(db, c.id)
  ).map((r) => ({ ...r, contactId: null }));
  if (c.audience.group_ids.length > 0 || c.audience.segment_ids.length > 0) {
    const spec = {
      groupIds: c.audience.group_ids,
      segmentIds: c.audience.segment_ids,
      // Opted-out and blacklisted contacts reach admission, which refuses them by name, so the
      // run's report counts them as excluded.
      excludeProtected: false,
      now,
    };
    for await (const chunk of expandAudience(db, c.tenant_id, spec))
      for (const m of chunk)
        all.push({ phone: m.phone, fields: { name: m.name, ...m.fields }, contactId: m.contactId });
  }
  return all;
}

/**
 * Claims the due run of a campaign, if it is still due when its row is locked. Answers the run id,
 * or null when there was nothing to claim (another node took it, or it is not due).
 */
export async function claimDueRun(deps: RunDeps, campaignId: number): Promise<number | null> {
  const peek = await getCampaign(deps.pool, { id: campaignId });
  if (peek === null || peek.state !== 'active') return null;
  let composers: Labelled | null = null;
  let failure: AppError | null = null;
  try {
    composers = await composersOf(deps, peek);
  } catch (err) {
    // A template deleted or a signature revoked since the campaign was made: the run is claimed
    // and ends at once with the reason, rather than being tried again at every tick.
    if ((err as AppError).code === undefined) throw err;
    failure = err as AppError;
  }
  return withTransaction(deps.pool, async (client) => {
    const c = await getCampaign(client, { id: campaignId, lock: true });
    const now = deps.now();
    if (c === null || c.state !== 'active' || c.next_run_at === null || c.next_run_at > now) return null;
    const runAt = c.next_run_at;
    const runId = await claimRunRow(client, { campaignId, tenantId: c.tenant_id, runAt, now });
    const runsStarted = c.runs_started + (runId === null ? 0 : 1);
    const next = nextRunAfter(c.schedule, new Date(Math.max(runAt.getTime(), now.getTime())), runsStarted);
    await client.query(
      `update campaigns set runs_started = $2, next_run_at = $3, state = $4, updated_at = $5 where id = $1`,
      [c.id, runsStarted, next, next === null ? 'completed' : 'active', now],
    );
    if (runId === null) return null;
    const { unique, duplicates } = dedupe(await loadAudience(client, c, now));
    const items = c.ab
      ? splitForTest(unique, c.ab, c.ab.seed ?? c.id).map(({ item, variant }) => ({ ...item, variant }))
      : unique.map((u) => ({ ...u, variant: null }));
    const sendLimit = c.ab ? items.filter((i) => i.variant !== null).length : items.length;
    await insertRunRecipients(client, runId, items);
    await setRunAudience(client, { runId, audience: items.length, sendLimit, duplicates, invalid: 0 });
    if (composers === null || items.length === 0) {
      await client.query(
        `update campaign_runs set state = 'done', finished_at = $2, decision = $3 where id = $1`,
        [
          runId,
          now,
          failure === null
            ? null
            : JSON.stringify({ error: { code: failure.code, message: failure.message } }),
        ],
      );
      return runId;
    }
    for (const [label, composer] of composers) {
      const total = c.ab ? items.filter((i) => i.variant === label).length : items.length;
      await makeBatch(client, c, runId, label, composer, total);
    }
    return runId;
  });
}

async function makeBatch(
  client: pg.PoolClient,
  c: CampaignRow,
  runId: number,
  label: string,
  composer: SendComposer,
  total: number,
) {
  const batch = await insertBatchRow(client, {
    tenantId: c.tenant_id,
    type: composer.type ?? c.content.type ?? 'notification',
    content: composer.source,
    sendAt: null,
    total,
    accepted: 0,
    rejected: 0,
  });
  await linkRunBatch(client, runId, label, batch.id);
}

interface Built {
  idx: number;
  label: string;
  variant: string | null;
  row: NewMessageRow | null;
  error: string | null;
  links: { code: string; target: string }[];
  contactId: number | null;
}

/**
 * The values a recipient's message is filled with: its own fields over the campaign's params,
 * except an empty one, which leaves a param of that name in place. Every contact has a `name`
 * field, '' when it has no name, so without this a given `params.name` never reached a contact.
 * An empty field with no param of its name is passed on, as before.
 */
export function recipientVariables(
  params: Readonly<Record<string, string | number>> | undefined,
  fields: Readonly<Record<string, string>>,
): Record<string, string | number> {
  const values: Record<string, string | number> = { ...params };
  for (const [key, value] of Object.entries(fields))
    if (value.trim() !== '' || !Object.hasOwn(values, key)) values[key] = value;
  return values;
}

/** One recipient's message row, or why it has none (invalid number, a missing variable, too long). */
function buildRow(
  deps: RunDeps,
  c: CampaignRow,
  run: RunRow,
  composer: SendComposer,
  recipient: { idx: number; phone: string; fields: Record<string, string> },
  batchId: number,
  delayMinutes: number,
): Pick<Built, 'row' | 'error' | 'links'> {
  const phone = normalizePhone(recipient.phone, deps.defaultRegion as CountryCode);
  if (!phone.ok) return { row: null, error: 'messages.invalid_recipient', links: [] };
  const composed = composer.compose(recipientVariables(c.content.params, recipient.fields), true);
  if (!composed.ok) return { row: null, error: composed.code, links: [] };
  // Short links replace the URLs before the length is counted: they count with their real length.
  const short = c.shorten_links
    ? shortenUrls(composed.text, deps.shortLinkBase)
    : { text: composed.text, links: [] };
  const check = checkContent(short.text, deps.maxParts);
  if (!check.ok) return { row: null, error: check.code, links: [] };
  const type = composer.type ?? c.content.type ?? 'notification';
  let sendAt = throttledSendAt(
    recipient.idx - run.phase_start_idx,
    c.throttle_per_minute,
    run.phase_at,
    true,
  );
  if (delayMinutes > 0) {
    const delayed = new Date(run.phase_at.getTime() + delayMinutes * 60_000);
    if (sendAt === null || sendAt < delayed) sendAt = delayed;
  }
  return {
    row: {
      tenantId: c.tenant_id,
      batchId,
      type,
      priority: priorityOf(type),
      recipient: phone.e164,
      content: short.text,
      encoding: check.encoding,
      parts: check.parts,
      clientRef: `campaign:${c.id}`,
      sendAt,
      signatureId: composed.signatureId,
      templateId: composed.templateId,
    },
    error: null,
    links: short.links,
  };
}

/**
 * Admits the next chunk of a run's recipients. Answers true when it did some work (call again),
 * false when the run has nothing to admit now or another node holds it.
 */
export async function expandRunChunk(deps: RunDeps, runId: number): Promise<boolean> {
  const peek = await getRun(deps.pool, runId);
  if (peek === null || peek.state !== 'expanding') return false;
  const c = (await getCampaign(deps.pool, { id: peek.campaign_id }))!;
  const composers = await composersOf(deps, c);
  const done = await withTransaction(deps.pool, async (client) => {
    const run = await getRun(client, runId, { lock: true });
    if (run === null || run.state !== 'expanding') return null;
    const batches = await runBatches(client, runId);
    const pending = await readRecipientsFrom(client, {
      runId,
      from: run.cursor,
      to: run.send_limit,
      limit: CHUNK,
    });
    const now = deps.now();
    // The tenant's own short domain when the operator set one, else the platform's.
    const base = c.shorten_links ? await shortLinkBaseFor(client, c.tenant_id, deps.shortLinkBase) : '';
    const built: Built[] = pending.map((r) => {
      // The rest of an A/B test goes with the winner's content, in its own batch.
      const label = c.ab ? (r.variant ?? 'rest') : 'main';
      const composerLabel = label === 'rest' ? run.winner! : label;
      const variant = c.ab?.variants.find((v) => v.name === composerLabel);
      const one = buildRow(
        { ...deps, shortLinkBase: base },
        c,
        run,
        composers.get(composerLabel)!,
        r,
        batches.get(label)!,
        label === 'rest' ? 0 : (variant?.delay_minutes ?? 0),
      );
      return { idx: r.idx, label, variant: r.variant, contactId: r.contact_id, ...one };
    });
    const withRows = built.filter((b) => b.row !== null);
    const admitted = await admitAndInsertMessages(
      client,
      deps.admission,
      withRows.map((b) => b.row!),
      { now, allOrNothing: false },
    );
    const outcomes = built.map((b) => ({
      idx: b.idx,
      variant: b.variant,
      messageId: null as number | null,
      errorCode: b.error,
    }));
    const links: NewShortLink[] = [];
    const counts = new Map<string, { accepted: number; rejected: number }>();
    const count = (label: string) =>
      counts.get(label) ?? counts.set(label, { accepted: 0, rejected: 0 }).get(label)!;
    let k = 0;
    built.forEach((b, i) => {
      if (b.row === null) {
        count(b.label).rejected++;
        return;
      }
      const a = admitted[k++]!;
      if (!a.ok) {
        outcomes[i]!.errorCode = a.error.code;
        count(b.label).rejected++;
        return;
      }
      outcomes[i]!.messageId = a.message.id;
      count(b.label).accepted++;
      for (const l of b.links)
        links.push({
          code: l.code,
          target: l.target,
          tenantId: c.tenant_id,
          campaignId: c.id,
          runId,
          messageId: a.message.id,
          contactId: b.contactId,
          phone: b.row.recipient,
        });
    });
    await recordRecipientOutcomes(client, runId, outcomes);
    await insertShortLinks(client, links, now);
    for (const [label, n] of counts)
      await addToBatchCounts(client, batches.get(label)!, n.accepted, n.rejected);
    const cursor = run.cursor + pending.length;
    const finished = cursor >= run.send_limit;
    const testing = finished && run.send_limit < run.audience;
    await advanceRun(client, {
      runId,
      cursor,
      accepted: [...counts.values()].reduce((s, n) => s + n.accepted, 0),
      rejected: [...counts.values()].reduce((s, n) => s + n.rejected, 0),
      state: finished ? (testing ? 'testing' : 'done') : 'expanding',
      decideAt: testing ? new Date(now.getTime() + c.ab!.decide_after_minutes * 60_000) : null,
      finishedAt: finished && !testing ? now : null,
    });
    return { worked: pending.length > 0, queued: admitted.some((a) => a.ok) };
  });
  if (done?.queued) deps.onQueued();
  return done?.worked ?? false;
}

/** Compares an A/B test's variants and, by the tenant's rule, sends the winner to the rest. */
export async function decideTest(deps: RunDeps, runId: number): Promise<void> {
  const run = await getRun(deps.pool, runId);
  if (run === null || run.state !== 'testing') return;
  const c = (await getCampaign(deps.pool, { id: run.campaign_id }))!;
  const results = await variantResults(
    deps.pool,
    run,
    c.ab!.variants.map((v) => v.name),
  );
  const decision = pickWinner(results, c.ab!.metric);
  if (c.ab!.auto) {
    await startRest(deps, { run, campaign: c, winner: decision.winner, decision, from: ['testing'] });
    return;
  }
  await deps.pool.query(
    `update campaign_runs set state = 'choosing', decision = $2 where id = $1 and state = 'testing'`,
    [runId, JSON.stringify(decision)],
  );
}

/**
 * The rest of an A/B test's audience gets the winner: the run goes back to expanding over the
 * rest, in the same transaction that makes the rest's batch. Only one caller can move the run
 * out of `from`, so the rest is never sent twice.
 */
export async function startRest(
  deps: RunDeps,
  {
    run,
    campaign,
    winner,
    decision,
    from,
  }: { run: RunRow; campaign: CampaignRow; winner: string; decision: unknown; from: RunRow['state'][] },
): Promise<boolean> {
  if (!campaign.ab!.variants.some((v) => v.name === winner)) throw noChoice();
  const composers = await composersOf(deps, campaign);
  return withTransaction(deps.pool, async (client) => {
    const moved = await client.query(
      `update campaign_runs set state = 'expanding', winner = $2, decision = coalesce($3, decision),
              send_limit = audience, phase_start_idx = send_limit, phase_at = $4
        where id = $1 and state = any($5::text[]) returning id`,
      [run.id, winner, decision === null ? null : JSON.stringify(decision), deps.now(), from],
    );
    if (moved.rowCount === 0) return false;
    await makeBatch(client, campaign, run.id, 'rest', composers.get(winner)!, run.audience - run.send_limit);
    return true;
  });
}

/** One pass of the job: claim due runs, admit chunks, decide tests. Answers whether it worked. */
export async function runCampaignJobsOnce(
  deps: RunDeps,
  sql: {
    findDue: (now: Date) => Promise<number[]>;
    findExpanding: () => Promise<number[]>;
    findToDecide: (now: Date) => Promise<number[]>;
  },
): Promise<boolean> {
  let worked = false;
  for (const id of await sql.findDue(deps.now())) if ((await claimDueRun(deps, id)) !== null) worked = true;
  for (const id of await sql.findExpanding()) if (await expandRunChunk(deps, id)) worked = true;
  for (const id of await sql.findToDecide(deps.now())) {
    await decideTest(deps, id);
    worked = true;
  }
  return worked;
}
