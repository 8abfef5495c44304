-- An interaction's facets (product categories, channel, engagement) sealed with the
-- customer's key in a column of their own, so a recompute of the profile opens them without
-- ever reading the interaction's body; the index serves its reads per customer and kind.
ALTER TABLE interactions ADD COLUMN facets BLOB;
CREATE INDEX interactions_profile ON interactions(customer_id, kind, occurred_at);
