-- The staff member a customer is looked after by. An account removed leaves its customers
-- without an owner rather than pointing at no one.
ALTER TABLE customers ADD COLUMN owner_id UUID REFERENCES users(id) ON DELETE SET NULL;
CREATE INDEX customers_owner ON customers(owner_id);
-- Customers sort by their owner's display name; compared byte by byte, as SQLite compares
-- it, both engines give the same order whatever the server's locale.
ALTER TABLE users ALTER COLUMN display_name TYPE TEXT COLLATE "C";
