-- The staff member a customer is looked after by. An account removed leaves its customers
-- without an owner rather than pointing at no one.
ALTER TABLE customers ADD COLUMN owner_id BLOB REFERENCES users(id) ON DELETE SET NULL;
CREATE INDEX customers_owner ON customers(owner_id);
