-- Shares with vendors and the disclosures they made. A share is one decision to send data to
-- a vendor under an agreement: what was asked, who was left out and why. A disclosure is one
-- customer's part of it, kept as the record of who received their data (Art. 15(1)(c)), with
-- the values sent sealed under that customer's own data key, so the delivered file can be
-- read again for download and becomes unreadable when the customer is erased.
CREATE TABLE shares (
    id           BLOB PRIMARY KEY,
    vendor_id    BLOB NOT NULL REFERENCES vendors(id),
    agreement_id BLOB NOT NULL REFERENCES agreements(id),
    purpose      TEXT NOT NULL,
    share        TEXT NOT NULL,
    shared       INTEGER NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX shares_vendor ON shares(vendor_id, created_at);

CREATE TABLE disclosures (
    share_id     BLOB NOT NULL REFERENCES shares(id),
    customer_id  BLOB NOT NULL,
    vendor_id    BLOB NOT NULL REFERENCES vendors(id),
    purpose      TEXT NOT NULL,
    disclosure   TEXT NOT NULL,
    sealed       BLOB NOT NULL,
    at           INTEGER NOT NULL,
    PRIMARY KEY (share_id, customer_id)
) WITHOUT ROWID;
CREATE INDEX disclosures_customer ON disclosures(customer_id, at);
