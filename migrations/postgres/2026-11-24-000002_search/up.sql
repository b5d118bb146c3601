-- Full-text search over records (title, descriptions, items, party names), keyed by
-- records.id; the GIN expression index serves websearch_to_tsquery queries.
CREATE TABLE records_fts (
    rowid BIGINT PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE INDEX records_fts_search ON records_fts USING GIN (to_tsvector('english', body));

-- Orders and filters of the register views.
CREATE INDEX records_deadline ON records (tender_deadline, id);
CREATE INDEX records_published ON records (published_at);
CREATE INDEX records_value ON records (value_amount);
