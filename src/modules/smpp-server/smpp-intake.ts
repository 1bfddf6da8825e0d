// A customer's submit as a Hongyan message: the same use case, intake (group commit, admission:
// caps, quota) and compliance composer as POST /v1/messages, then the message recorded as SMPP's
// so that its receipt comes back as a deliver_sm. Our error codes become command_status values
// (submit.models.ts).
import type pg from 'pg';
import { CommandStatus } from '../../smpp/constants.ts';
import type { RulesProvider } from '../compliance/rules/rules.provider.ts';
import { messageRules } from '../compliance/templates/rules-adapter.ts';
import { prepareSendComposer } from '../compliance/templates/send-content.ts';
import type { Intake } from '../messages/intake.ts';
import { type IntakeSettings, sendMessage } from '../messages/messages.usecases.ts';
import type { PartOutcome } from './concat.ts';
import { commandStatusOfError } from './submit.models.ts';

export interface SmppOrigin {
  accountId: number;
  registeredDelivery: number;
  sourceAddr: string;
  sourceTon: number;
  sourceNpi: number;
  destAddr: string;
  destTon: number;
  destNpi: number;
}

export interface SmppSubmit {
  tenantId: number;
  to: string;
  content: string;
  origin: SmppOrigin;
}

export type SubmitToHongyan = (submit: SmppSubmit) => Promise<PartOutcome>;

interface Logger {
  warn(obj: object, msg?: string): void;
}

export function createSmppIntake({
  pool,
  intake,
  rules,
  settings,
  now,
  logger,
}: {
  pool: pg.Pool;
  intake: Intake;
  rules: RulesProvider;
  settings: IntakeSettings;
  now: () => Date;
  logger: Logger;
}): SubmitToHongyan {
  const record = createOriginRecorder(pool);
  return async ({ tenantId, to, content, origin }) => {
    let id: string;
    try {
      const request = { to, content };
      const composer = await prepareSendComposer({
        db: pool,
        tenantId,
        request,
        rules: await messageRules(rules),
      });
      const sent = await sendMessage({
        tenantId,
        input: request,
        settings,
        insert: async (rows) => [await intake.insert(rows[0]!)],
        now: now(),
        composer,
      });
      id = sent.id;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const status = commandStatusOfError(typeof code === 'string' ? code : undefined);
      if (status === CommandStatus.ESME_RSYSERR) logger.warn({ err: error }, 'SMPP submit failed');
      return { ok: false, status };
    }
    // Only messages whose submit asked for a receipt are recorded; the message is accepted either
    // way, so a failure to record it loses its receipt, not the message (answering an error would
    // make the client send it twice).
    if ((origin.registeredDelivery & 3) !== 0) {
      await record({ messageId: id, ...origin }).catch((err: unknown) =>
        logger.warn(
          { err, messageId: id },
          'SMPP submit: recording the origin failed; no receipt will follow',
        ),
      );
    }
    return { ok: true, messageId: id };
  };
}

type OriginRow = SmppOrigin & { messageId: string };

/**
 * Group commit of origin rows: one statement for the submits that arrive while one is written.
 * Each message row is locked (FOR SHARE) while recorded, so a status change racing with the
 * record is seen by exactly one of the two triggers that owe its receipt (0023-smpp-server.sql).
 */
function createOriginRecorder(pool: pg.Pool) {
  let queue: { row: OriginRow; resolve: () => void; reject: (e: unknown) => void }[] = [];
  let inFlight = false;

  async function flush(): Promise<void> {
    if (inFlight || queue.length === 0) return;
    inFlight = true;
    const items = queue;
    queue = [];
    const rows = items.map((i) => i.row);
    try {
      await pool.query(
        `insert into smpp_server_messages
           (message_id, account_id, registered_delivery, source_addr, source_ton, source_npi,
            dest_addr, dest_ton, dest_npi)
         select u.message_id, u.account_id, u.rd, u.sa, u.st, u.sn, u.da, u.dt, u.dn
           from unnest($1::bigint[], $2::bigint[], $3::smallint[], $4::text[], $5::smallint[],
                       $6::smallint[], $7::text[], $8::smallint[], $9::smallint[])
                  as u (message_id, account_id, rd, sa, st, sn, da, dt, dn)
           join messages m on m.id = u.message_id
          order by u.message_id
            for share of m`,
        [
          rows.map((r) => r.messageId),
          rows.map((r) => r.accountId),
          rows.map((r) => r.registeredDelivery),
          rows.map((r) => r.sourceAddr),
          rows.map((r) => r.sourceTon),
          rows.map((r) => r.sourceNpi),
          rows.map((r) => r.destAddr),
          rows.map((r) => r.destTon),
          rows.map((r) => r.destNpi),
        ],
      );
      for (const i of items) i.resolve();
    } catch (error) {
      for (const i of items) i.reject(error);
    } finally {
      inFlight = false;
      void flush();
    }
  }

  return (row: OriginRow) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ row, resolve, reject });
      if (queue.length === 1) queueMicrotask(() => void flush());
    });
}
