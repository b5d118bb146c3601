DROP INDEX records_match_key;
ALTER TABLE records DROP COLUMN same_as;
ALTER TABLE records DROP COLUMN match_key;
DROP TABLE sync_quarantine;
ALTER TABLE sync_runs DROP COLUMN holder;
