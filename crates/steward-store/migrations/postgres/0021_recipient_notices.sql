-- GDPR Art. 19: one notice per erasure, rectification or restriction and per vendor that
-- received the customer's data, written in the transaction that records the change, so no
-- change commits without its notices. A notice holds ids, field names and dates, never a
-- value: whoever handles it reads what to send from the customer's record.
CREATE TABLE recipient_notices (
    id              UUID PRIMARY KEY,
    update_id       UUID NOT NULL REFERENCES recipient_updates(id),
    customer_id     UUID NOT NULL,
    vendor_id       UUID NOT NULL REFERENCES vendors(id),
    kind            TEXT NOT NULL,
    fields          TEXT NOT NULL,
    status          TEXT NOT NULL,
    reason          TEXT,
    due_at          BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT,
    acknowledged_at BIGINT,
    updated_at      BIGINT NOT NULL,
    UNIQUE (update_id, vendor_id)
);
CREATE INDEX recipient_notices_open_due ON recipient_notices(due_at)
    WHERE status IN ('pending', 'failed');
CREATE INDEX recipient_notices_status ON recipient_notices(status, created_at);
CREATE INDEX recipient_notices_customer ON recipient_notices(customer_id, created_at);

-- When the recipients must have been told, fixed when the change is made so a later change
-- of the setting leaves earlier dates as they were. Rows from before have none.
ALTER TABLE recipient_updates ADD COLUMN notify_by BIGINT;
