// Audience file retention on a real database with a fake clock, through the HTTP API: a file is
// answered until its period ends and is then not found (read, refused rows, campaign create),
// a campaign created from it before keeps its recipients, a backlog is removed a bounded batch at
// a time, two nodes sweeping at once remove everything once, and the worker runs the sweep.
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, newTenant } from '../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../test/helpers/db.ts';
import {
  AUDIENCE_FILE_SWEEP_MS,
  deleteAudienceFileRows,
  sweepExpiredAudienceFiles,
} from './audience-files.retention.ts';
import { startCampaignJobs } from './campaigns.start.ts';

const DAY = 86_400_000;
let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
let auth: Record<string, string>;
let clockAt = new Date('2026-09-01T08:00:00Z');
const advance = (ms: number) => (clockAt = new Date(clockAt.getTime() + ms));

beforeAll(async () => {
  t = await createTestDatabase();
  ({ app, ctx } = await buildTestApp(t.db, { clock: { now: () => clockAt } }));
  ({ auth } = await newTenant(ctx, 'retention'));
});
afterAll(async () => {
  await app.close();
  await t.drop();
});

const phone = (i: number) => `1381${String(i).padStart(7, '0')}`;

async function upload(count: number, first = 0) {
  const boundary = 'retentionboundary';
  const csv = ['phone,city', ...Array.from({ length: count }, (_, i) => `${phone(first + i)},北京`)].join(
    '\r\n',
  );
  const res = await app.inject({
    method: 'POST',
    url: '/v1/campaigns/audience-files',
    headers: { ...auth, 'content-type': `multipart/form-data; boundary=${boundary}` },
    payload: Buffer.from(
      `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="list.csv"\r\n\r\n${csv}\r\n\r\n--${boundary}--\r\n`,
    ),
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string; recipients: number }>();
}

const get = (url: string) => app.inject({ method: 'GET', url, headers: auth });
const createFrom = (fileId: string) =>
  app.inject({
    method: 'POST',
    url: '/v1/campaigns',
    headers: auth,
    payload: {
      name: `from ${fileId}`,
      draft: true,
      audience: { file_id: fileId },
      content: '{city}门店上新',
    },
  });
const sweep = (opts: { batchRows?: number; maxStatements?: number } = {}) =>
  sweepExpiredAudienceFiles({
    db: t.db.pool,
    now: ctx.clock.now(),
    days: ctx.config.audienceFileRetentionDays,
    ...opts,
  });
const storedRows = async (fileId: string) =>
  (
    await t.db.pool.query<{ n: number }>(
      'select count(*)::int as n from campaign_audience_file_rows where file_id = $1',
      [fileId],
    )
  ).rows[0]!.n;
const storedFile = async (fileId: string) =>
  (await t.db.pool.query('select 1 from campaign_audience_files where id = $1', [fileId])).rowCount;

describe('audience file retention', () => {
  it('keeps a file for its period, then answers it as not found; a campaign made from it keeps its recipients', async () => {
    expect(ctx.config.audienceFileRetentionDays).toBe(7);
    const file = await upload(3);
    const campaign = await createFrom(file.id);
    expect(campaign.statusCode, campaign.body).toBe(201);
    const campaignId = campaign.json<{ id: string }>().id;

    // A minute short of 7 days: the sweep leaves it, and it is still answered and usable.
    advance(7 * DAY - 60_000);
    expect(await sweep()).toEqual({ expired: 0, deleted: 0, rows: 0, more: false });
    expect((await get(`/v1/campaigns/audience-files/${file.id}`)).statusCode).toBe(200);
    expect((await createFrom(file.id)).statusCode).toBe(201);

    // Two minutes later it is past 7 days: removed with its rows.
    advance(2 * 60_000);
    expect(await sweep()).toEqual({ expired: 1, deleted: 1, rows: 3, more: false });
    expect([await storedFile(file.id), await storedRows(file.id)]).toEqual([0, 0]);
    for (const res of [
      await get(`/v1/campaigns/audience-files/${file.id}`),
      await get(`/v1/campaigns/audience-files/${file.id}/errors`),
      await createFrom(file.id),
      await app.inject({
        method: 'POST',
        url: '/v1/campaigns/preview',
        headers: auth,
        payload: { name: 'p', audience: { file_id: file.id }, content: 'hi' },
      }),
    ])
      expect([res.statusCode, res.json().error.code]).toEqual([404, 'campaigns.audience_file_not_found']);

    // The campaign created before keeps its copy of the three recipients and its file summary.
    const stored = await get(`/v1/campaigns/${campaignId}`);
    expect(stored.json().audience.file).toMatchObject({ id: file.id, recipients: 3 });
    const preview = await app.inject({
      method: 'POST',
      url: `/v1/campaigns/${campaignId}/preview`,
      headers: auth,
    });
    expect(preview.statusCode, preview.body).toBe(200);
    expect(preview.json().recipients).toMatchObject({ audience: 3, unique: 3 });
  });

  it('hides a backlog at once and deletes it a bounded batch per statement, run after run', async () => {
    const big = await upload(2500, 1000);
    const small = await upload(2, 5000);
    advance(8 * DAY);
    const fresh = await upload(1, 6000);

    // 3 statements a run: the mark, then two batches of 1,000 rows of the first file.
    expect(await sweep({ batchRows: 1000, maxStatements: 3 })).toEqual({
      expired: 2,
      deleted: 0,
      rows: 2000,
      more: true,
    });
    // Both are answered as not found already, though the rows of both are not all deleted.
    expect([await storedRows(big.id), await storedRows(small.id)]).toEqual([500, 2]);
    for (const id of [big.id, small.id])
      expect((await get(`/v1/campaigns/audience-files/${id}`)).statusCode).toBe(404);
    expect((await createFrom(big.id)).json().error.code).toBe('campaigns.audience_file_not_found');

    expect(await sweep({ batchRows: 1000, maxStatements: 3 })).toEqual({
      expired: 0,
      deleted: 2,
      rows: 502,
      more: false,
    });
    expect([await storedFile(big.id), await storedFile(small.id)]).toEqual([0, 0]);
    expect((await get(`/v1/campaigns/audience-files/${fresh.id}`)).statusCode).toBe(200);
  });

  it('refuses a campaign from a file whose rows the sweep began deleting after the file was read', async () => {
    const file = await upload(5, 7000);
    // The sweep's row deletes landing between the campaign's read of the file and of its rows.
    await deleteAudienceFileRows(t.db.pool, Number(file.id), 2);
    const res = await createFrom(file.id);
    expect([res.statusCode, res.json().error.code]).toEqual([404, 'campaigns.audience_file_not_found']);
  });

  it('two nodes sweeping at once remove every expired file and each row once', async () => {
    // The earlier tests' files out of the way first.
    advance(8 * DAY);
    await sweep();
    const files = [await upload(1200, 8000), await upload(700, 9300), await upload(900, 10_100)];
    advance(8 * DAY);
    const [a, b] = await Promise.all([sweep({ batchRows: 100 }), sweep({ batchRows: 100 })]);
    expect([a!.more, b!.more]).toEqual([false, false]);
    expect(a!.expired + b!.expired).toBe(3);
    expect(a!.rows + b!.rows).toBe(1200 + 700 + 900);
    expect(a!.deleted + b!.deleted).toBe(3);
    for (const f of files) expect([await storedFile(f.id), await storedRows(f.id)]).toEqual([0, 0]);
  });

  it("is one of the worker's campaign jobs, on the node's clock and the configured period", async () => {
    const loops: { ms: number; fn: () => Promise<unknown> }[] = [];
    const errors: unknown[] = [];
    const stop = startCampaignJobs({
      ctx,
      logger: pino({ level: 'silent' }),
      every: (ms, fn) => {
        loops.push({ ms, fn });
        return async () => {};
      },
      onError: () => (e) => errors.push(e),
    });
    const file = await upload(4, 12_000);
    advance(8 * DAY);
    const sweepLoops = loops.filter((l) => l.ms === AUDIENCE_FILE_SWEEP_MS);
    expect(sweepLoops).toHaveLength(1);
    await sweepLoops[0]!.fn();
    expect(errors).toEqual([]);
    expect([await storedFile(file.id), await storedRows(file.id)]).toEqual([0, 0]);
    expect((await get(`/v1/campaigns/audience-files/${file.id}`)).statusCode).toBe(404);
    await stop();
  });
});
