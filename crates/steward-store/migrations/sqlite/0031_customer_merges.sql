-- Customers merged into another as duplicates: the merged-away customer is erased, and its id
-- answers with a pointer to the one that holds its data now. Kept flat: when a survivor is
-- merged away in turn, the pointers to it move to the new survivor; when a survivor is erased,
-- the pointers to it go with it.
CREATE TABLE customer_merges (
    merged_id   BLOB PRIMARY KEY,
    survivor_id BLOB NOT NULL,
    merged_at   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX customer_merges_survivor ON customer_merges (survivor_id);
