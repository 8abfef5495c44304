-- Shares with vendors and the disclosures they made. A share is one decision to send data to
-- a vendor under an agreement: what was asked, who was left out and why. A disclosure is one
-- customer's part of it, kept as the record of who received their data (Art. 15(1)(c)), with
-- the values sent sealed under that customer's own data key, so the delivered file can be
-- read again for download and becomes unreadable when the customer is erased.
CREATE TABLE shares (
    id           UUID PRIMARY KEY,
    vendor_id    UUID NOT NULL REFERENCES vendors(id),
    agreement_id UUID NOT NULL REFERENCES agreements(id),
    purpose      TEXT NOT NULL,
    share        TEXT NOT NULL,
    shared       BIGINT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX shares_vendor ON shares(vendor_id, created_at);

CREATE TABLE disclosures (
    share_id     UUID NOT NULL REFERENCES shares(id),
    customer_id  UUID NOT NULL,
    vendor_id    UUID NOT NULL REFERENCES vendors(id),
    purpose      TEXT NOT NULL,
    disclosure   TEXT NOT NULL,
    sealed       BYTEA NOT NULL,
    at           BIGINT NOT NULL,
    PRIMARY KEY (share_id, customer_id)
);
CREATE INDEX disclosures_customer ON disclosures(customer_id, at);
