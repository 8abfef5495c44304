-- Audiences are counted from the consent index alone: it now carries what the count checks
-- (expiry, when consent was given), and the few customers whose processing is restricted or
-- closed have an index of their own, so most counts never read the customers table.
CREATE INDEX consent_current_reach ON consent_current(purpose, state, customer_id, expires_at, at);
DROP INDEX consent_current_purpose;
CREATE INDEX customers_not_active ON customers(id) WHERE status <> 'active';
