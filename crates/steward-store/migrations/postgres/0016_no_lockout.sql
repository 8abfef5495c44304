-- Failed sign-ins slow down the source that fails instead of locking the account, which let
-- anyone who knew an address keep its owner out.
ALTER TABLE users DROP COLUMN locked_until;
