// Carriers that misbehave, each in one way: receipts before responses, throttling, rejections,
// silence, refused binds, disconnects, and a client that sends garbage.

import { afterEach, describe, expect, it } from 'vitest';
import { CommandStatus } from '../../smpp/constants.ts';
import { BindError, RequestTimeoutError } from '../../smpp/errors.ts';
import { encodePdu } from '../../smpp/pdu.ts';
import {
  bindClient,
  fastProfile,
  receiptFields,
  runCleanups,
  startTestSimulator,
  submitInit,
  until,
} from './test-helpers.ts';

afterEach(runCleanups);

describe('faults', () => {
  it('sends the receipt, and waits for its answer, before the submit_sm_resp', async () => {
    const sim = await startTestSimulator({
      profiles: [
        fastProfile('early', {
          receiptBeforeResponseRate: 1,
          receiptLatencyMs: { min: 500, median: 500, max: 900 },
        }),
      ],
    });
    const client = await bindClient(sim.port, 'early');
    const resp = await client.session.request(submitInit());
    expect(client.arrivals).toEqual(['deliver_sm', 'submit_sm_resp']);
    expect(receiptFields(client.delivered[0]!).id).toBe(resp.messageId);
  });

  it('throttles submits above the rate of one bind with ESME_RTHROTTLED', async () => {
    const sim = await startTestSimulator({ profiles: [fastProfile('slow', { throttleAboveTps: 5 })] });
    const client = await bindClient(sim.port, 'slow');
    const other = await bindClient(sim.port, 'slow');
    const statuses = (
      await Promise.all(Array.from({ length: 20 }, () => client.session.request(submitInit())))
    ).map((r) => r.commandStatus);
    expect(statuses.filter((s) => s === 0).length).toBe(5);
    expect(statuses.filter((s) => s === CommandStatus.ESME_RTHROTTLED).length).toBe(15);
    // The rate is per bind: another bind of the same system_id has its own.
    expect((await other.session.request(submitInit())).commandStatus).toBe(0);
    expect(sim.stats().throttled).toBe(15);
  });

  it('the throttle profile passes 200 submits in a burst and throttles the next', async () => {
    // A clock that stands still: no token comes back while the burst is answered.
    const sim = await startTestSimulator({ now: () => 1_767_225_600_000 });
    const client = await bindClient(sim.port, 'throttle', { windowSize: 250 });
    const resps = await Promise.all(Array.from({ length: 230 }, () => client.session.request(submitInit())));
    const throttled = resps.filter((r) => r.commandStatus === CommandStatus.ESME_RTHROTTLED).length;
    expect(throttled).toBe(30);
  });

  it('rejects submits with the profile statuses, and answers ESME_RMSGQFUL when the queue is full', async () => {
    const sim = await startTestSimulator({
      profiles: [
        fastProfile('refuses', { rejectRate: 1, rejectStatuses: [CommandStatus.ESME_RINVDSTADR] }),
        fastProfile('full', { queueFullRate: 1 }),
      ],
    });
    const refuses = await bindClient(sim.port, 'refuses');
    const full = await bindClient(sim.port, 'full');
    expect((await refuses.session.request(submitInit())).commandStatus).toBe(CommandStatus.ESME_RINVDSTADR);
    expect((await full.session.request(submitInit())).commandStatus).toBe(CommandStatus.ESME_RMSGQFUL);
    expect(sim.stats()).toMatchObject({ rejected: 1, queueFull: 1, accepted: 0, pendingReceipts: 0 });
  });

  it('blackhole: binds, answers enquire_link, never answers a submit', async () => {
    const sim = await startTestSimulator();
    const client = await bindClient(sim.port, 'blackhole', { requestTimeoutMs: 100 });
    await expect(client.session.request(submitInit())).rejects.toBeInstanceOf(RequestTimeoutError);
    expect((await client.session.request({ command: 'enquire_link' })).commandStatus).toBe(0);
    expect(sim.stats().unanswered).toBe(1);
  });

  it('bindfail: refuses every bind with ESME_RBINDFAIL', async () => {
    const sim = await startTestSimulator();
    const error = await bindClient(sim.port, 'bindfail').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BindError);
    expect((error as BindError).status).toBe(CommandStatus.ESME_RBINDFAIL);
  });

  it('drops the connection right after answering the Nth submit', async () => {
    const sim = await startTestSimulator({ profiles: [fastProfile('drops', { disconnectAfterSubmits: 3 })] });
    const client = await bindClient(sim.port, 'drops');
    const resps = await Promise.all([1, 2, 3].map(() => client.session.request(submitInit())));
    expect(resps.map((r) => r.commandStatus)).toEqual([0, 0, 0]);
    const closed = await client.session.closed;
    expect(closed.reason).toMatch(/closed/);
    expect(sim.stats().disconnects).toBe(1);
  });

  it('answers a garbage PDU with generic_nack and carries on', async () => {
    const sim = await startTestSimulator({ profiles: [fastProfile('fast')] });
    const client = await bindClient(sim.port, 'fast');
    const garbage = Buffer.from([0, 0, 0, 16, 0, 0, 0x0f, 0xff, 0, 0, 0, 0, 0, 0, 0, 77]);
    client.session.socket.write(garbage);
    await until(() => client.arrivals.includes('generic_nack'));
    const resp = await client.session.request(submitInit());
    expect(resp.commandStatus).toBe(0);
    await until(() => client.delivered.length === 1);
    expect(client.session.state).toBe('BOUND_TRX');
  });

  it('answers a submit_sm with a broken body with an error status and carries on', async () => {
    const sim = await startTestSimulator({ profiles: [fastProfile('fast')] });
    const client = await bindClient(sim.port, 'fast');
    // A submit_sm whose body stops in the middle of its C-strings.
    const header = encodePdu({ ...submitInit(), sequenceNumber: 99, commandStatus: 0, tlvs: {} }).subarray(
      0,
      20,
    );
    header.writeUInt32BE(20, 0);
    client.session.socket.write(header);
    await until(() => client.arrivals.length === 1);
    expect((await client.session.request(submitInit())).commandStatus).toBe(0);
  });
});

describe('profile choice', () => {
  it('chooses by system_type when the system_id is not a profile name', async () => {
    const sim = await startTestSimulator();
    const error = await bindClient(sim.port, 'hongyan', { systemType: 'bindfail' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BindError);
  });

  it('a forced profile applies to every bind', async () => {
    const sim = await startTestSimulator({ forceProfile: 'blackhole' });
    const client = await bindClient(sim.port, 'default', { requestTimeoutMs: 50 });
    await expect(client.session.request(submitInit())).rejects.toBeInstanceOf(RequestTimeoutError);
  });

  it('refuses an unknown forced profile', async () => {
    await expect(startTestSimulator({ forceProfile: 'nope' })).rejects.toThrow(
      /unknown simulator profile "nope"/,
    );
  });
});
