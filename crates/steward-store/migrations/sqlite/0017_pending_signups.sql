-- Customers made by a public sign-up whose address is not confirmed yet. They are not counted
-- among the customers, so that no figure moves with a single public action and tells whoever
-- sends a form whether an address was already known.
CREATE TABLE pending_signups (
    customer_id BLOB PRIMARY KEY
) WITHOUT ROWID;
