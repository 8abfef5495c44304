-- Views of the customer list that a staff member saved under a name: the filters and sort of
-- the list (tags, status, residency, dates), never a searched name, email or phone.
CREATE TABLE saved_views (
    id         UUID PRIMARY KEY,
    owner      TEXT NOT NULL,
    name       TEXT NOT NULL,
    filter     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (owner, name)
);
