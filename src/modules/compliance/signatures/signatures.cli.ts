// `hongyan signature list|approve|reject` and `hongyan template list|approve|reject`: the review
// queues for scripting, through the same use cases as the operator API.
import type pg from 'pg';
import { listAllTemplates } from '../templates/templates.repository.ts';
import { reviewTemplate, templateQueueItemView } from '../templates/templates.usecases.ts';
import { readComplianceSettings } from '../settings/settings.sql.ts';
import { listAllSignatures } from './signatures.repository.ts';
import { queueItemView, reviewSignature } from './signatures.usecases.ts';

type Values = Record<string, string | boolean | undefined>;

export const COMPLIANCE_REVIEW_HELP = `  hongyan signature list [--status pending|approved|rejected]
  hongyan signature approve ID | reject ID --reason TEXT
  hongyan template list [--status pending|approved|rejected]
  hongyan template approve ID | reject ID --reason TEXT
                                                 review signatures (签名) and templates (模板)`;

export async function runReviewCommand({
  command,
  sub,
  rest,
  values,
  pool,
  out,
  now = new Date(),
}: {
  command: 'signature' | 'template';
  sub: string | undefined;
  rest: string[];
  values: Values;
  pool: pg.Pool;
  out: (value: unknown, human: string) => void;
  now?: Date;
}): Promise<number> {
  const status = typeof values.status === 'string' ? values.status : undefined;
  if (sub === 'list') {
    const settings = await readComplianceSettings(pool);
    if (status !== undefined && !['pending', 'approved', 'rejected'].includes(status)) {
      console.error('--status is pending, approved or rejected');
      return 2;
    }
    if (command === 'signature') {
      const rows = (await listAllSignatures(pool, { status })).map((r) => queueItemView(r, now, settings));
      out(
        rows,
        rows
          .map(
            (r) =>
              `${r.id}\t${r.status}\t【${r.name}】\ttenant ${r.tenant_id} ${r.tenant_name}\text ${r.extension_code}` +
              (r.status === 'pending' ? `\tdue ${r.decision_expected_by}${r.overdue ? ' OVERDUE' : ''}` : ''),
          )
          .join('\n'),
      );
    } else {
      const rows = (await listAllTemplates(pool, { status, limit: 10_000 })).map((r) =>
        templateQueueItemView(r, now, settings),
      );
      out(
        rows,
        rows
          .map(
            (r) =>
              `${r.id}\t${r.status}\t${r.type}\ttenant ${r.tenant_id} ${r.tenant_name}\t${r.name}: ${r.content}` +
              (r.findings.length > 0 ? `\t(${r.findings.length} findings)` : ''),
          )
          .join('\n'),
      );
    }
    return 0;
  }
  if (sub !== 'approve' && sub !== 'reject') {
    console.error(`usage: hongyan ${command} list|approve|reject`);
    return 2;
  }
  const id = rest[0];
  const reason = typeof values.reason === 'string' && values.reason !== '' ? values.reason : null;
  if (id === undefined || !/^[1-9]\d{0,15}$/.test(id)) {
    console.error(`usage: hongyan ${command} ${sub} ID${sub === 'reject' ? ' --reason TEXT' : ''}`);
    return 2;
  }
  if (sub === 'reject' && reason === null) {
    console.error('--reason is required: the tenant sees it');
    return 2;
  }
  const decide = { db: pool, id: Number(id), approve: sub === 'approve', reason, by: 'cli', now };
  const view = command === 'signature' ? await reviewSignature(decide) : await reviewTemplate(decide);
  out(
    { [command]: view },
    `${command} ${view.id} "${view.name}" is ${view.status}${reason ? ` (${reason})` : ''}`,
  );
  return 0;
}
