-- One parked receipt per carrier id and channel. A carrier resends a deliver_sm whose
-- deliver_sm_resp it did not get (a session dropped between our write and its answer), and each
-- copy used to be parked: the copies waited side by side, and the first to match left the other
-- to expire. Parking now keeps the first copy and counts the others as duplicates.
delete from pending_receipts p
 using pending_receipts q
 where p.channel_id = q.channel_id
   and p.carrier_message_id = q.carrier_message_id
   and p.id > q.id;

create unique index pending_receipts_carrier_id on pending_receipts (channel_id, carrier_message_id);
