-- Replies (MO): raw bytes kept beside the stored text, how the tenant was found, and
-- concatenated replies reassembled from parts kept durably until all have arrived.

-- The text is what PostgreSQL can store (NUL removed, invalid UTF-16 replaced); raw_hex is the
-- short message as received (its user data without the UDH, parts joined), so nothing is lost.
alter table inbound_messages
  add column data_coding smallint,
  add column raw_hex text,
  add column sanitized boolean not null default false,
  add column parts smallint not null default 1,
  add column incomplete boolean not null default false,
  -- 'extension' (the code after the channel's number), 'recent_sender' (the only tenant that
  -- messaged this handset on this channel within the receipt window), 'ambiguous' (several did:
  -- tenant_id is null, candidate_tenant_ids lists them), 'unknown' (none did).
  add column attribution text not null default 'extension',
  add column candidate_tenant_ids bigint[];

create index inbound_unattributed on inbound_messages (id) where tenant_id is null;

-- Parts of concatenated replies (UDH or SAR) waiting for their siblings. A part is acknowledged
-- to the carrier once it is here; the whole is moved to inbound_messages when the last arrives,
-- or, after the reassembly timeout, what arrived is stored flagged incomplete. Assembled parts
-- stay a while as tombstones, so that a part the carrier resends (our acknowledgement was lost)
-- is recognised instead of starting a new reply that would end as a partial duplicate.
create table inbound_parts (
  id bigint generated always as identity primary key,
  channel_id bigint not null,
  sender text not null,
  destination text not null,
  ref integer not null,
  total smallint not null,
  seq smallint not null,
  data_coding smallint not null,
  body bytea not null,
  received_at timestamptz not null,
  assembled boolean not null default false,
  unique (channel_id, sender, destination, ref, total, seq)
);
create index inbound_parts_waiting on inbound_parts (received_at) where not assembled;
create index inbound_parts_assembled on inbound_parts (received_at) where assembled;
