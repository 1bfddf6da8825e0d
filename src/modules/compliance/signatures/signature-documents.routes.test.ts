// Proof documents of a signature through the real server: typed by content (a file lying about
// its type is refused), size-limited, listed on the signature for the tenant and in the
// operator's queue, downloadable by the owning tenant and the reviewing operator only.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../../../../test/helpers/app.ts';
import { createTestDatabase } from '../../../../test/helpers/db.ts';
import { operatorAdmin, sendingTenant } from '../protection/protection.testkit.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
let app: FastifyInstance;
let ctx: Awaited<ReturnType<typeof buildTestApp>>['ctx'];
let dataDir: string;

const MAX = 2048;
const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.alloc(64, 7),
]);
const PDF = Buffer.from('%PDF-1.7\ntrademark certificate\n');

beforeAll(async () => {
  t = await createTestDatabase();
  dataDir = await mkdtemp(path.join(tmpdir(), 'hongyan-sigdocs-'));
  ({ app, ctx } = await buildTestApp(t.db, {
    env: { HONGYAN_DATA_DIR: dataDir, HONGYAN_DOCUMENT_MAX_BYTES: String(MAX) },
  }));
});
afterAll(async () => {
  await app.close();
  await t.drop();
  await rm(dataDir, { recursive: true, force: true });
});

type Auth = Record<string, string>;
const upload = (auth: Auth, signatureId: string, bytes: Buffer, contentType: string) =>
  app.inject({
    method: 'POST',
    url: `/v1/signatures/${signatureId}/documents`,
    headers: { ...auth, 'content-type': contentType },
    payload: bytes,
  });
const get = (auth: Auth, url: string) => app.inject({ method: 'GET', url, headers: auth });

async function pendingSignature(auth: Auth, name: string): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/signatures',
    headers: { ...auth, 'content-type': 'application/json' },
    payload: { name, source: 'trademark', source_detail: '商标注册证' },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

describe('signature proof documents', () => {
  it('are stored by content type, listed on the signature and in the queue, and read back by tenant and operator', async () => {
    const a = await sendingTenant(ctx, t.db, 'docs-a');
    const sig = await pendingSignature(a.auth, '雁书');

    const png = await upload(a.auth, sig, PNG, 'application/octet-stream');
    expect(png.statusCode, png.body).toBe(201);
    expect(png.json()).toMatchObject({ content_type: 'image/png', size_bytes: PNG.length });
    // Declared as a JPEG, but the bytes are a PDF: stored as what it is.
    const pdf = await upload(a.auth, sig, PDF, 'image/jpeg');
    expect(pdf.statusCode, pdf.body).toBe(201);
    expect(pdf.json().content_type).toBe('application/pdf');

    const view = (await get(a.auth, `/v1/signatures/${sig}`)).json();
    expect(view.documents.map((d: { id: string; content_type: string }) => [d.id, d.content_type])).toEqual([
      [png.json().id, 'image/png'],
      [pdf.json().id, 'application/pdf'],
    ]);
    expect(
      (await get(a.auth, '/v1/signatures')).json().data.find((s: { id: string }) => s.id === sig).documents,
    ).toHaveLength(2);

    const own = await get(a.auth, `/v1/signatures/${sig}/documents/${png.json().id}`);
    expect(own.statusCode).toBe(200);
    expect(own.headers['content-type']).toBe('image/png');
    expect(own.rawPayload.equals(PNG)).toBe(true);

    const operator = await operatorAdmin(app, t.db);
    const queue = (await get(operator, '/v1/operator/signatures')).json().data;
    expect(queue.find((s: { id: string }) => s.id === sig).documents).toHaveLength(2);
    const reviewed = await get(operator, `/v1/operator/signatures/${sig}/documents/${pdf.json().id}`);
    expect(reviewed.statusCode).toBe(200);
    expect(reviewed.headers['content-type']).toBe('application/pdf');
    expect(reviewed.rawPayload.equals(PDF)).toBe(true);
    // A document id under another signature is not found, even by the operator.
    const other = await pendingSignature(a.auth, '另一个');
    expect(
      (await get(operator, `/v1/operator/signatures/${other}/documents/${pdf.json().id}`)).statusCode,
    ).toBe(404);

    const audit = await t.db.pool.query(
      `select 1 from audit_log where action = 'signature.document_uploaded' and target = $1`,
      [`signature:${sig}`],
    );
    expect(audit.rowCount).toBe(2);
  });

  it('refuse a file lying about its type, an oversized one, and an approved signature', async () => {
    const a = await sendingTenant(ctx, t.db, 'docs-refused');
    const sig = await pendingSignature(a.auth, '拒收');

    const lying = await upload(
      a.auth,
      sig,
      Buffer.from('<html>%PDF-1.7 not really</html>'),
      'application/pdf',
    );
    expect([lying.statusCode, lying.json().error.code]).toEqual([415, 'signatures.document_type']);
    const big = await upload(a.auth, sig, Buffer.concat([PDF, Buffer.alloc(MAX, 0x20)]), 'application/pdf');
    expect([big.statusCode, big.json().error.code]).toEqual([413, 'request.too_large']);
    expect((await get(a.auth, `/v1/signatures/${sig}`)).json().documents).toEqual([]);

    // Rejected: the tenant may add proof before resubmitting. Approved: no more changes.
    const operator = await operatorAdmin(app, t.db);
    await app.inject({
      method: 'POST',
      url: `/v1/operator/signatures/${sig}/reject`,
      headers: { ...operator, 'content-type': 'application/json' },
      payload: { reason: '请上传商标注册证' },
    });
    expect((await upload(a.auth, sig, PDF, 'application/pdf')).statusCode).toBe(201);
    await t.db.pool.query(`update signatures set status = 'approved' where id = $1`, [sig]);
    const approved = await upload(a.auth, sig, PDF, 'application/pdf');
    expect([approved.statusCode, approved.json().error.code]).toEqual([409, 'signatures.not_editable']);
  });

  it('are deleted by their tenant while the signature is pending or rejected, file and all, audited; not once approved', async () => {
    const a = await sendingTenant(ctx, t.db, 'docs-delete');
    const b = await sendingTenant(ctx, t.db, 'docs-delete-other');
    const sig = await pendingSignature(a.auth, '删除');
    const wrong = (await upload(a.auth, sig, PNG, 'image/png')).json();
    const right = (await upload(a.auth, sig, PDF, 'application/pdf')).json();
    const del = (auth: Auth, docId: string, signatureId = sig) =>
      app.inject({
        method: 'DELETE',
        url: `/v1/signatures/${signatureId}/documents/${docId}`,
        headers: auth,
      });
    const stored = async (docId: string) =>
      (
        await t.db.pool.query<{ storage_key: string }>(
          'select storage_key from signature_documents where id = $1',
          [docId],
        )
      ).rows[0]?.storage_key;
    const key = (await stored(wrong.id))!;
    const file = path.join(dataDir, 'documents', key);
    await expect(readFile(file)).resolves.toBeInstanceOf(Buffer);

    // Another tenant, or the document under another signature: not found, nothing removed.
    expect((await del(b.auth, wrong.id)).json().error.code).toBe('signatures.not_found');
    const other = await pendingSignature(a.auth, '别的');
    expect((await del(a.auth, wrong.id, other)).json().error.code).toBe('signatures.document_not_found');

    const gone = await del(a.auth, wrong.id);
    expect(gone.statusCode, gone.body).toBe(204);
    expect(await stored(wrong.id)).toBeUndefined();
    await expect(readFile(file)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await get(a.auth, `/v1/signatures/${sig}/documents/${wrong.id}`)).statusCode).toBe(404);
    expect(
      (await get(a.auth, `/v1/signatures/${sig}`)).json().documents.map((d: { id: string }) => d.id),
    ).toEqual([right.id]);
    expect((await del(a.auth, wrong.id)).json().error.code).toBe('signatures.document_not_found');
    const audit = await t.db.pool.query<{ before: { document: string } }>(
      `select before from audit_log where action = 'signature.document_deleted' and target = $1`,
      [`signature:${sig}`],
    );
    expect(audit.rows.map((r) => r.before.document)).toEqual([wrong.id]);

    // Approved: the proof it was approved on stays.
    await t.db.pool.query(`update signatures set status = 'approved' where id = $1`, [sig]);
    const kept = await del(a.auth, right.id);
    expect([kept.statusCode, kept.json().error.code]).toEqual([409, 'signatures.not_editable']);
    expect((await get(a.auth, `/v1/signatures/${sig}/documents/${right.id}`)).statusCode).toBe(200);
  });

  it("are another tenant's 404, for upload and download alike", async () => {
    const a = await sendingTenant(ctx, t.db, 'docs-owner');
    const b = await sendingTenant(ctx, t.db, 'docs-other');
    const sig = await pendingSignature(a.auth, '隔离');
    const doc = (await upload(a.auth, sig, PDF, 'application/pdf')).json();

    const read = await get(b.auth, `/v1/signatures/${sig}/documents/${doc.id}`);
    expect([read.statusCode, read.json().error.code]).toEqual([404, 'signatures.document_not_found']);
    const write = await upload(b.auth, sig, PDF, 'application/pdf');
    expect([write.statusCode, write.json().error.code]).toEqual([404, 'signatures.not_found']);
    // A tenant cannot use the operator's route either.
    expect((await get(b.auth, `/v1/operator/signatures/${sig}/documents/${doc.id}`)).statusCode).toBe(403);
    expect((await get(a.auth, `/v1/signatures/${sig}`)).json().documents).toHaveLength(1);
  });
});
