-- Saved segments (dynamic filters, evaluated when used) and email campaigns sent to the
-- audience of a segment. Neither holds personal data: filters name tags, countries, dates.
CREATE TABLE segments (
    id         UUID PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    filter     TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE campaigns (
    id         UUID PRIMARY KEY,
    name       TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    segment_id UUID,
    filter     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    state      TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at    BIGINT,
    recipients BIGINT NOT NULL
);
