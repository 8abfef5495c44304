-- The customer list is sorted on what is not personal: when a customer last interacted,
-- when they were last changed, where they reside. The time of the last interaction is kept
-- on the customer, set as interactions are added and recomputed when retention deletes one,
-- so that sorting by it reads an index instead of every customer's interactions.
ALTER TABLE customers ADD COLUMN last_interaction_at INTEGER;
UPDATE customers SET last_interaction_at =
    (SELECT MAX(i.occurred_at) FROM interactions i WHERE i.customer_id = customers.id);
CREATE INDEX customers_by_last_interaction ON customers(last_interaction_at, id);
CREATE INDEX customers_by_update ON customers(updated_at, id);
CREATE INDEX customers_by_residency ON customers(residency, id);
