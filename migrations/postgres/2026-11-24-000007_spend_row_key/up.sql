-- Spend lines are identified within their publisher's data by a 16-byte binary row key (the
-- first 128 bits of the line's SHA-256 row hash, see sync::spend) instead of its 64-character
-- hex text: the unique index every imported line is checked against shrinks to less than half
-- (bench/README.md, "Spend import"). Dropping the old column drops its unique constraint.
ALTER TABLE spend_transactions ADD COLUMN row_key BYTEA;
UPDATE spend_transactions SET row_key = decode(substr(row_hash, 1, 32), 'hex');
ALTER TABLE spend_transactions ALTER COLUMN row_key SET NOT NULL;
ALTER TABLE spend_transactions DROP COLUMN row_hash;
ALTER TABLE spend_transactions ADD CONSTRAINT spend_transactions_publisher_row_key
    UNIQUE (publisher_org_id, row_key);
