-- A campaign may wait for a later time: `scheduled_at` (microseconds) while it is
-- `scheduled`, and who scheduled it, which the send names in the audit log. The sender's
-- claim is a conditional update on the state, so the index serves only the due search.
ALTER TABLE campaigns ADD COLUMN scheduled_at BIGINT;
ALTER TABLE campaigns ADD COLUMN scheduled_by TEXT;
CREATE INDEX campaigns_due ON campaigns(scheduled_at) WHERE state = 'scheduled';

-- Test sends of a campaign to the staff member's own address, counted per staff member
-- to limit how many leave in a window. No address is kept: the actor is `user:<id>`.
CREATE TABLE campaign_test_sends (
    actor       TEXT NOT NULL,
    campaign_id UUID NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX campaign_test_sends_actor ON campaign_test_sends(actor, at);
