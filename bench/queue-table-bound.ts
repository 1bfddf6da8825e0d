// What a narrow queue table would save PostgreSQL on the single-send path: the bound, measured on
// a scratch schema with nothing else running, before anyone rebuilds the queue for it.
//
//   node --import tsx bench/queue-table-bound.ts [--messages N] [--rounds R]
//     (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test; makes and drops its schemas)
//
// Two layouts of `messages`, each on its own fresh schema, the rounds alternating A/B, B/A:
// - today: the table and the nine indexes of migration 0001 (four of them partial on `status`,
//   one on the carrier id), so every update that changes the status or writes the carrier id is
//   a non-HOT update, with a new entry in every index whose predicate the new row meets;
// - narrow: `messages` keeps only the indexes on columns that never change after the insert
//   (primary key, tenant, recipient, batch, client_ref), so its status updates can be HOT; the
//   unfinished work is a row of `flight` (message id, node, state, sent_at; inserted with the
//   message, updated when sent, deleted when final), and every carrier id a row of `carrier_ids`.
// Per message, as the single-send path writes it with a claim at write: the insert (groups of
// 25), then the submit result (groups of 32) that carries the receipt for a share of them
// (--early, default 0.9, as npm-smsc's receipts do) and a separate receipt update (groups of 32)
// for the rest. Triggers, billing and the other tables are left out: they are the same in both.
// Prints, per layout, the median of its rounds: the backend's CPU per message (from /proc, so run
// it on the database's machine), WAL bytes per message, and the share of updates that were HOT.
import pg from 'pg';
import { CLOCK_TICKS, procTicks } from './proc-stat.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const messages = Number(arg('--messages') ?? 30_000);
const rounds = Number(arg('--rounds') ?? 3);
const early = Number(arg('--early') ?? 0.9);
const fillfactor = Number(arg('--fillfactor') ?? 85);
const WARM_UP = 10_000;
const INSERT_GROUP = 25;
const RESULT_GROUP = 32;

type Layout = 'today' | 'narrow';

const TABLE = `
create table messages (
  id bigint generated always as identity primary key,
  tenant_id bigint not null, batch_id bigint,
  type text not null, priority smallint not null, recipient text not null, content text not null,
  encoding text not null, parts smallint not null, client_ref text, status text not null,
  channel_id bigint, source_addr text, send_at timestamptz,
  next_attempt_at timestamptz not null default now(), attempts integer not null default 0,
  claimed_by text, duplicate_risk boolean not null default false, carrier_message_id text,
  parts_delivered smallint not null default 0, parts_failed smallint not null default 0,
  error_code text, error_detail text, created_at timestamptz not null default now(),
  held_at timestamptz, queued_at timestamptz, sending_at timestamptz, sent_at timestamptz,
  done_at timestamptz, canceled_at timestamptz, updated_at timestamptz not null default now(),
  signature_id bigint, template_id bigint, callback_url text
) with (fillfactor = FILLFACTOR);
create index messages_tenant_created on messages (tenant_id, id);
create index messages_recipient on messages (recipient, id);
create index messages_client_ref on messages (tenant_id, client_ref) where client_ref is not null;`;

const LAYOUTS: Record<Layout, string> = {
  today: `${TABLE.replace('FILLFACTOR', '85')}
create index messages_queue on messages (priority, tenant_id, next_attempt_at, id) where status = 'queued';
create index messages_held on messages (send_at) where status = 'held';
create index messages_sending on messages (claimed_by) where status = 'sending';
create index messages_awaiting_receipt on messages (sent_at) where status = 'sent';
create index messages_carrier_id on messages (channel_id, carrier_message_id) where carrier_message_id is not null;
create index messages_batch on messages (batch_id, status) where batch_id is not null;`,
  narrow: `${TABLE.replace('FILLFACTOR', String(fillfactor))}
create index messages_batch on messages (batch_id) where batch_id is not null;
create table flight (
  message_id bigint primary key, claimed_by text, state text not null, sent_at timestamptz
) with (fillfactor = 70);
create index flight_sending on flight (claimed_by) where state = 'sending';
create index flight_sent on flight (sent_at) where state = 'sent';
create table carrier_ids (
  channel_id bigint not null, carrier_message_id text not null, message_id bigint not null,
  primary key (channel_id, carrier_message_id)
);`,
};

const INSERT = `
insert into messages (tenant_id, type, priority, recipient, content, encoding, parts, status,
                      claimed_by, attempts, queued_at, sending_at, next_attempt_at)
select 1, 'verification', 0, r, 'Your code is 123456. [Hongyan]', 'gsm7', 1, 'sending', 'node-1', 1,
       now(), now(), now()
  from unnest($1::text[]) as r
returning id`;

const UPDATE_SET = `
  status = case when u.state is not null then u.state else 'sent' end,
  sent_at = now(), channel_id = 1, source_addr = '106900', carrier_message_id = u.cid,
  error_code = case when u.state is not null then '000' end,
  done_at = case when u.state is not null then now() end,
  parts_delivered = case when u.state = 'delivered' then 1 else 0 end, updated_at = now()`;

const RESULT: Record<Layout, string> = {
  today: `
update messages m set ${UPDATE_SET}
  from unnest($1::bigint[], $2::text[], $3::text[]) as u(id, cid, state)
 where m.id = u.id and m.status = 'sending' and m.claimed_by = 'node-1'`,
  narrow: `
with u as (select * from unnest($1::bigint[], $2::text[], $3::text[]) as u(id, cid, state)),
upd as (
  update messages m set ${UPDATE_SET}
    from u join flight f on f.message_id = u.id and f.state = 'sending' and f.claimed_by = 'node-1'
   where m.id = u.id
  returning m.id, m.status),
gone as (delete from flight f using upd where f.message_id = upd.id and upd.status <> 'sent'),
sent as (update flight f set state = 'sent', sent_at = now() from upd
          where f.message_id = upd.id and upd.status = 'sent'),
ids as (insert into carrier_ids select 1, u.cid, u.id from u where u.id in (select id from upd))
select count(*) from upd`,
};

const RECEIPT: Record<Layout, string> = {
  today: `
update messages m set status = 'delivered', error_code = '000', done_at = now(), parts_delivered = 1,
       updated_at = now()
  from unnest($1::text[]) as r(cid)
 where m.channel_id = 1 and m.carrier_message_id = r.cid and m.status = 'sent'`,
  narrow: `
with upd as (
  update messages m set status = 'delivered', error_code = '000', done_at = now(), parts_delivered = 1,
         updated_at = now()
    from unnest($1::text[]) as r(cid) join carrier_ids c on c.channel_id = 1 and c.carrier_message_id = r.cid
   where m.id = c.message_id and m.status = 'sent'
  returning m.id)
delete from flight f using upd where f.message_id = upd.id`,
};

let serial = 0;

async function send(db: pg.Client, layout: Layout, count: number): Promise<void> {
  for (let done = 0; done < count; done += RESULT_GROUP * 4) {
    const ids: string[] = [];
    const n = Math.min(RESULT_GROUP * 4, count - done);
    for (let g = 0; g < n; g += INSERT_GROUP) {
      const recipients = Array.from(
        { length: Math.min(INSERT_GROUP, n - g) },
        () => `+86138${String(serial++ % 100_000_000).padStart(8, '0')}`,
      );
      await db.query('begin');
      const { rows } = await db.query<{ id: string }>(INSERT, [recipients]);
      if (layout === 'narrow')
        await db.query(
          `insert into flight (message_id, claimed_by, state) select unnest($1::bigint[]), 'node-1', 'sending'`,
          [rows.map((r) => r.id)],
        );
      await db.query('commit');
      ids.push(...rows.map((r) => r.id));
    }
    const late: string[] = [];
    for (let g = 0; g < ids.length; g += RESULT_GROUP) {
      const group = ids.slice(g, g + RESULT_GROUP);
      const cids = group.map((id) => `c${id}`);
      const states = group.map((id) => (Number(id) % 100 < early * 100 ? 'delivered' : null));
      group.forEach((id, k) => states[k] === null && late.push(cids[k]!));
      await db.query(RESULT[layout], [group, cids, states]);
    }
    for (let g = 0; g < late.length; g += RESULT_GROUP)
      await db.query(RECEIPT[layout], [late.slice(g, g + RESULT_GROUP)]);
  }
}

async function round(layout: Layout) {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  const schema = `queue_bound_${layout}`;
  try {
    await db.query(`drop schema if exists ${schema} cascade; create schema ${schema}`);
    await db.query(`set search_path = ${schema}`);
    await db.query(LAYOUTS[layout]);
    await send(db, layout, WARM_UP);
    await db.query('analyze');
    const pid = Number((await db.query('select pg_backend_pid() as pid')).rows[0].pid);
    const lsn = async () =>
      (await db.query<{ lsn: string }>('select pg_current_wal_lsn() as lsn')).rows[0]!.lsn;
    const [cpu0, lsn0, t0] = [procTicks(pid).own / CLOCK_TICKS, await lsn(), Date.now()];
    await send(db, layout, messages);
    const [cpu1, lsn1, t1] = [procTicks(pid).own / CLOCK_TICKS, await lsn(), Date.now()];
    // A backend reports its table counters at most once a second, when idle.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await db.query('select pg_stat_clear_snapshot()');
    const after = await db.query<{ upd: string; hot: string }>(
      `select coalesce(sum(n_tup_upd), 0) as upd, coalesce(sum(n_tup_hot_upd), 0) as hot
         from pg_stat_user_tables where schemaname = $1 and relname = 'messages'`,
      [schema],
    );
    const walBytes = Number(
      (await db.query<{ b: string }>('select pg_wal_lsn_diff($1, $2) as b', [lsn1, lsn0])).rows[0]!.b,
    );
    return {
      cpuUs: ((cpu1 - cpu0) * 1e6) / messages,
      wallUs: ((t1 - t0) * 1e3) / messages,
      walBytes: walBytes / messages,
      hotShare: Number(after.rows[0]!.hot) / Math.max(1, Number(after.rows[0]!.upd)),
    };
  } finally {
    await db.query(`drop schema if exists ${schema} cascade`).catch(() => {});
    await db.end();
  }
}

const results: Record<Layout, Awaited<ReturnType<typeof round>>[]> = { today: [], narrow: [] };
for (let i = 0; i < rounds; i++) {
  const order: Layout[] = i % 2 === 0 ? ['today', 'narrow'] : ['narrow', 'today'];
  for (const layout of order) {
    const r = await round(layout);
    results[layout].push(r);
    console.log(
      `round ${i + 1} ${layout}: backend CPU ${r.cpuUs.toFixed(0)} µs/msg, wall ${r.wallUs.toFixed(0)} µs/msg, ` +
        `WAL ${r.walBytes.toFixed(0)} B/msg, messages' updates HOT ${(r.hotShare * 100).toFixed(0)} %`,
    );
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const layout of ['today', 'narrow'] as const) {
  const rs = results[layout];
  console.log(
    `${layout}: median backend CPU ${median(rs.map((r) => r.cpuUs)).toFixed(0)} µs/msg, ` +
      `WAL ${median(rs.map((r) => r.walBytes)).toFixed(0)} B/msg, HOT ${(median(rs.map((r) => r.hotShare)) * 100).toFixed(0)} %`,
  );
}
