-- Failed portal sign-in attempts, counted per code so an address's failures can be capped
-- across all its codes; and one campaign message per customer at most, so two sends of one
-- campaign cannot mail anyone twice.
ALTER TABLE portal_codes ADD COLUMN failed INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX outbox_campaign_customer ON outbox(campaign_id, customer_id) WHERE campaign_id IS NOT NULL;
