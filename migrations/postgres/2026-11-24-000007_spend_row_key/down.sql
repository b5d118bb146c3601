-- Back to the hex row hash. Only the key's 128 bits are known, so the restored text is those
-- 32 hex digits: a file imported again after the downgrade is stored a second time.
ALTER TABLE spend_transactions ADD COLUMN row_hash TEXT;
UPDATE spend_transactions SET row_hash = encode(row_key, 'hex');
ALTER TABLE spend_transactions ALTER COLUMN row_hash SET NOT NULL;
ALTER TABLE spend_transactions DROP COLUMN row_key;
ALTER TABLE spend_transactions ADD UNIQUE (publisher_org_id, row_hash);
