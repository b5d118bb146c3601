-- Sync bookkeeping beyond the initial tables (design brief, section 6).
-- Which daemon ran a sync (host:pid), so a status page and a two-daemon test can tell them apart.
ALTER TABLE sync_runs ADD COLUMN holder TEXT;
-- Releases a feed sent that could not be stored as they are (invalid numbers, missing
-- identity, a conflicting re-publication), kept with the reason and the text as received.
CREATE TABLE sync_quarantine (
    id BIGSERIAL PRIMARY KEY,
    source_id BIGINT NOT NULL REFERENCES sync_sources (id),
    run_id BIGINT REFERENCES sync_runs (id),
    payload_id BIGINT REFERENCES raw_payloads (id),
    position INTEGER NOT NULL,
    ocid TEXT,
    release_id TEXT,
    reason TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX sync_quarantine_source ON sync_quarantine (source_id, id);
-- One procurement published on both Find a Tender and Contracts Finder (with different ocids):
-- match_key groups candidates (buyer and title, normalised); same_as names the record shown
-- for both, so views list the procurement once.
ALTER TABLE records ADD COLUMN match_key TEXT;
ALTER TABLE records ADD COLUMN same_as TEXT;
CREATE INDEX records_match_key ON records (match_key);
