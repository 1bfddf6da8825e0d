-- A verification send names its message by reference, and the message views find a message's code
-- through that reference (messages.repository sentCodesOf). They used to probe (tenant_id,
-- sent_at) with the message's created_at, an equality of two timestamps that held only because
-- startVerification hands one `now` to both inserts: a send whose time came from another clock
-- read (or the database's now()) would have shown its code unmasked.
--
-- Nothing to backfill: message_id has been set on every row since 0022, from the message inserted
-- in the same transaction, and messages are never deleted (retention purges their content only).
-- Adding the constraint checks every existing row against messages under a lock that holds writes
-- to messages until the migration commits (one transaction per migration): verification_sends is
-- one row per code sent, and the check is one join on messages' primary key.
alter table verification_sends
  add constraint verification_sends_message foreign key (message_id) references messages (id);
create index verification_sends_message on verification_sends (message_id);
