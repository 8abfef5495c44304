-- Sign-ups from public forms, held until the address is confirmed: nothing of them reaches the
-- customers before a link sent to the address is followed. What was sent is sealed under a
-- key of the sign-up's own, destroyed when the row goes: once its links are all followed, or
-- when they expire.
CREATE TABLE signups (
    id         BLOB PRIMARY KEY,
    form       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    sealed     BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX signups_expiry ON signups(expires_at);
