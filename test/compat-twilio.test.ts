// The official Twilio SDK (twilio) pointed at a running Hongyan, only the API's base URL changed:
// create, fetch and list Messages with HTTP Basic (the credential's Twilio form), StatusCallback.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CompatHongyan,
  hongyanMessage,
  startCompatHongyan,
  waitUntilFinal,
} from '../src/modules/compat/compat.testkit.ts';
import { twilioStatus } from '../src/modules/compat/compat.models.ts';

let h: CompatHongyan;
let receiver: http.Server;
let receiverUrl: string;
const callbacks: { path: string; contentType: string; body: string; headers: http.IncomingHttpHeaders }[] =
  [];

function client(accountSid = h.twilioSid, authToken = h.appSecret) {
  const c = twilio(accountSid, authToken);
  // The one line a user changes: where the API is.
  c.api.baseUrl = h.httpUrl;
  return c;
}

beforeAll(async () => {
  h = await startCompatHongyan('compat-twilio');
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      callbacks.push({
        path: req.url ?? '',
        contentType: String(req.headers['content-type']),
        body,
        headers: req.headers,
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  receiver?.closeAllConnections();
  await new Promise((r) => receiver?.close(r));
  await h?.stop();
});

async function waitFor(fn: () => boolean, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('Twilio Messages through the twilio SDK', () => {
  it('creates messages, each fetched with its own final status, listed newest first across pages', async () => {
    const c = client();
    const created = [];
    for (const n of ['+8613800138201', '+8613800138202', '+8613800138203'])
      created.push(
        await c.messages.create({ to: n, from: 'Hongyan', body: `Your order ${n.slice(-3)} shipped` }),
      );
    for (const m of created) {
      expect(m.sid).toMatch(/^SM[0-9a-f]{32}$/);
      expect(m.accountSid).toBe(h.twilioSid);
      expect(m.direction).toBe('outbound-api');
      expect(m.dateCreated).toBeInstanceOf(Date);
    }
    const ids = created.map((m) => String(Number.parseInt(m.sid.slice(2), 16)));
    expect((await hongyanMessage(h, ids[0]!)).content).toBe('【鸿雁】Your order 201 shipped');
    const finals = await waitUntilFinal(h, ids);
    for (const [i, m] of created.entries()) {
      const fetched = await c.messages(m.sid).fetch();
      expect(fetched.status).toBe(twilioStatus(finals.get(ids[i]!)!.status));
      expect(fetched.to).toBe(m.to);
      expect(fetched.body).toBe(m.body);
    }
    const listed = await c.messages.list({ pageSize: 2, limit: 3 });
    expect(listed.map((m) => m.sid)).toEqual([...created].reverse().map((m) => m.sid));
    const toOne = await c.messages.list({ to: '+8613800138202' });
    expect(toOne.map((m) => m.sid)).toEqual([created[1]!.sid]);
  }, 120_000);

  it("posts the message's status to its StatusCallback in Twilio's format, signed as twilio.validateRequest checks", async () => {
    const m = await client().messages.create({
      to: '+8613800138211',
      from: 'Hongyan',
      body: 'callback please',
      statusCallback: `${receiverUrl}/status?ref=7`,
    });
    const id = String(Number.parseInt(m.sid.slice(2), 16));
    const [final] = (await waitUntilFinal(h, [id])).values();
    const expected = twilioStatus(final!.status);
    const form = (c: (typeof callbacks)[number]) => Object.fromEntries(new URLSearchParams(c.body));
    await waitFor(() => callbacks.some((c) => form(c).MessageStatus === expected));
    for (const c of callbacks) {
      expect(c.path).toBe('/status?ref=7');
      expect(c.contentType).toBe('application/x-www-form-urlencoded');
      const params = form(c);
      expect(params).toMatchObject({
        MessageSid: m.sid,
        SmsSid: m.sid,
        AccountSid: h.twilioSid,
        To: '+8613800138211',
      });
      const signature = String(c.headers['x-twilio-signature']);
      expect(twilio.validateRequest(h.appSecret, signature, `${receiverUrl}/status?ref=7`, params)).toBe(
        true,
      );
      expect(twilio.validateRequest('another-token', signature, `${receiverUrl}/status?ref=7`, params)).toBe(
        false,
      );
    }
  }, 120_000);

  it('refuses bad input with Twilio codes and writes nothing', async () => {
    const { rows: before } = await h.db.pool.query('select count(*)::int as n from messages');
    await expect(client().messages.create({ to: '12345', from: 'Hongyan', body: 'x' })).rejects.toMatchObject(
      {
        status: 400,
        code: 21211,
      },
    );
    await expect(
      client().messages.create({ to: '+8613800138221', from: 'Hongyan', body: 'x', statusCallback: 'nope' }),
    ).rejects.toMatchObject({ status: 400 });
    await expect(
      client()
        .messages('SM' + 'f'.repeat(32))
        .fetch(),
    ).rejects.toMatchObject({ status: 404, code: 20404 });
    const { rows: after } = await h.db.pool.query('select count(*)::int as n from messages');
    expect(after[0].n).toBe(before[0].n);
  });

  it('a wrong auth token, an unknown AccountSid, or another account in the path is refused with 20003', async () => {
    await expect(client(h.twilioSid, 'wrong-token').messages.list({ limit: 1 })).rejects.toMatchObject({
      status: 401,
      code: 20003,
    });
    await expect(
      client(`AC${'0'.repeat(32)}`, h.appSecret).messages.list({ limit: 1 }),
    ).rejects.toMatchObject({
      status: 401,
      code: 20003,
    });
    const res = await fetch(`${h.httpUrl}/2010-04-01/Accounts/AC${'1'.repeat(32)}/Messages.json`, {
      headers: { authorization: `Basic ${Buffer.from(`${h.twilioSid}:${h.appSecret}`).toString('base64')}` },
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 20003 });
  });
});
