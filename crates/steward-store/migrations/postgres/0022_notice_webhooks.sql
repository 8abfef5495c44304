-- Art. 19 notices delivered by webhook: a notice to a vendor with an endpoint is queued as a
-- `recipient.notice` delivery in the transaction that writes the notice, its `subject_id` the
-- notice's id. One delivery per notice, however the notice came to be queued.
CREATE UNIQUE INDEX webhook_deliveries_one_per_notice ON webhook_deliveries(subject_id)
    WHERE kind = 'recipient.notice';
