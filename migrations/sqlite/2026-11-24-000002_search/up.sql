-- Full-text search over records (title, descriptions, items, party names), keyed by
-- records.id as the FTS rowid so an update replaces one row without a scan.
CREATE VIRTUAL TABLE records_fts USING fts5(body, tokenize = 'porter unicode61');

-- Orders and filters of the register views.
CREATE INDEX records_deadline ON records (tender_deadline, id);
CREATE INDEX records_published ON records (published_at);
CREATE INDEX records_value ON records (value_amount);
