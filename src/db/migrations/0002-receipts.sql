-- Exact receipt matching: each channel says how its carrier writes message ids in the
-- submit_sm_resp and in the receipt (Kannel's msg-id-type, Jasmin's per-connector setting), so a
-- receipt is read one way only and can never name another message through a second reading.
alter table channels
  add column id_convention text not null default 'as-is'
    check (id_convention in ('as-is', 'hex-resp-decimal-receipt', 'decimal-resp-hex-receipt', 'auto')),
  -- What `auto` learned from unambiguous matches. Kept apart from id_convention (and written
  -- without touching updated_at) so that learning neither restarts the channel's connector nor
  -- hides what the operator chose.
  add column id_convention_learned text
    check (id_convention_learned in ('as-is', 'hex-resp-decimal-receipt', 'decimal-resp-hex-receipt')),
  add column id_convention_learned_at timestamptz;

-- A carrier may give several parts of one message the same id: that row then stands for
-- `covers` parts. error_code keeps the carrier's own code of a failed part (carrier.UNDELIV.034).
alter table message_parts
  add column covers smallint not null default 1,
  add column error_code text;

-- Receipts that matched a message which could not take them (already final, or the part already
-- stated): kept, with the carrier's id, instead of being acknowledged and forgotten.
create table receipt_duplicates (
  id bigint generated always as identity primary key,
  channel_id bigint not null,
  carrier_message_id text not null,
  message_id bigint not null,
  part_no smallint not null,
  state text not null,
  error_code text,
  received_at timestamptz not null
);
create index receipt_duplicates_message on receipt_duplicates (message_id);

-- Receipt counters per channel, kept in the database because several nodes share a channel.
-- Each batch adds to one of a few slot rows (summed when read), so that batches written
-- concurrently do not queue on one row lock until their commits.
create table receipt_counters (
  channel_id bigint not null,
  slot smallint not null,
  received bigint not null default 0,
  applied bigint not null default 0,
  parked bigint not null default 0,
  duplicate bigint not null default 0,
  expired bigint not null default 0,
  primary key (channel_id, slot)
);
