-- Webhooks for integrations: a subscription names an HTTPS URL, the events it wants (a
-- comma-separated subset of customer.created, customer.updated, customer.erased,
-- consent.changed, request.completed) and a signing secret sealed under the installation's
-- webhook key; optionally a vendor and a purpose under which values may be sent.
CREATE TABLE webhook_subscriptions (
    id         UUID PRIMARY KEY,
    name       TEXT NOT NULL,
    url        TEXT NOT NULL,
    events     TEXT NOT NULL,
    secret     BYTEA NOT NULL,
    active     BOOLEAN NOT NULL,
    vendor_id  UUID REFERENCES vendors(id),
    purpose    TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- The one read a change that could emit an event makes.
CREATE INDEX webhook_subscriptions_active ON webhook_subscriptions(active);

-- An event's delivery goes to a subscription, not a vendor: the outbox's vendor becomes
-- optional and a delivery names one or the other.
ALTER TABLE webhook_deliveries ALTER COLUMN vendor_id DROP NOT NULL;
ALTER TABLE webhook_deliveries ADD COLUMN subscription_id UUID;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_one_destination
    CHECK ((vendor_id IS NULL) <> (subscription_id IS NULL));
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries(subscription_id, created_at)
    WHERE subscription_id IS NOT NULL;
