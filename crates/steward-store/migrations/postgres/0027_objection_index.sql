-- Objections the request desk upheld (Art. 21), by purpose and customer: every read with a
-- purpose based on legitimate interests or a public task asks whether its customer objected,
-- and every audience and export of such a purpose leaves out those who did.
CREATE INDEX requests_objections ON requests(purpose, customer_id)
    WHERE kind = 'objection' AND state = 'completed';
