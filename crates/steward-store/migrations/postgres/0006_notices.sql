-- Versioned privacy notices. A published version is never changed again; a change is a new
-- version.
CREATE TABLE notices (
    id           UUID PRIMARY KEY,
    version      TEXT NOT NULL UNIQUE,
    language     TEXT NOT NULL,
    effective_at BIGINT NOT NULL,
    material     BOOLEAN NOT NULL,
    body         TEXT NOT NULL,
    summaries    TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    published_at BIGINT
);
