-- Spend lines are identified within their publisher's data by a 16-byte binary row key (the
-- first 128 bits of the line's SHA-256 row hash, see sync::spend) instead of its 64-character
-- hex text: the unique index every imported line is checked against shrinks from about 90 to
-- about 40 bytes an entry, so a million lines' index stays in the page cache and an import no
-- longer slows as the table grows (bench/README.md, "Spend import").
--
-- SQLite cannot drop a table's UNIQUE constraint, so the table is rebuilt. Connections enforce
-- foreign keys and a migration runs in a transaction (where that cannot be switched off), so
-- the links that reference the lines are set aside while the table is replaced.
CREATE TEMP TABLE saved_spend_links AS SELECT * FROM spend_links;
DELETE FROM spend_links;
CREATE TABLE spend_transactions_new (
    id INTEGER PRIMARY KEY,
    publisher_org_id TEXT NOT NULL,
    row_key BLOB NOT NULL,
    source_file TEXT NOT NULL,
    line BIGINT NOT NULL,
    run_id BIGINT REFERENCES sync_runs (id),
    payment_date DATE NOT NULL,
    amount_pence BIGINT NOT NULL,
    supplier_name TEXT,
    supplier_redacted BOOLEAN NOT NULL,
    supplier_id TEXT,
    vat_number TEXT,
    transaction_number TEXT,
    body_name TEXT,
    expense_area TEXT,
    expense_type TEXT,
    expense_code TEXT,
    description TEXT,
    imported_at TIMESTAMP NOT NULL,
    UNIQUE (publisher_org_id, row_key)
);
INSERT INTO spend_transactions_new
SELECT id, publisher_org_id, unhex(substr(row_hash, 1, 32)), source_file, line, run_id,
       payment_date, amount_pence, supplier_name, supplier_redacted, supplier_id, vat_number,
       transaction_number, body_name, expense_area, expense_type, expense_code, description,
       imported_at
FROM spend_transactions;
DROP TABLE spend_transactions;
ALTER TABLE spend_transactions_new RENAME TO spend_transactions;
CREATE INDEX spend_transactions_date ON spend_transactions (publisher_org_id, payment_date);
INSERT INTO spend_links SELECT * FROM saved_spend_links;
DROP TABLE saved_spend_links;
