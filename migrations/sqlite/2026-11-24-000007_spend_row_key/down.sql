-- Back to the hex row hash. Only the key's 128 bits are known, so the restored text is those
-- 32 hex digits: a file imported again after the downgrade is stored a second time.
CREATE TEMP TABLE saved_spend_links AS SELECT * FROM spend_links;
DELETE FROM spend_links;
CREATE TABLE spend_transactions_old (
    id INTEGER PRIMARY KEY,
    publisher_org_id TEXT NOT NULL,
    row_hash TEXT NOT NULL,
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
    UNIQUE (publisher_org_id, row_hash)
);
INSERT INTO spend_transactions_old
SELECT id, publisher_org_id, lower(hex(row_key)), source_file, line, run_id, payment_date,
       amount_pence, supplier_name, supplier_redacted, supplier_id, vat_number,
       transaction_number, body_name, expense_area, expense_type, expense_code, description,
       imported_at
FROM spend_transactions;
DROP TABLE spend_transactions;
ALTER TABLE spend_transactions_old RENAME TO spend_transactions;
CREATE INDEX spend_transactions_date ON spend_transactions (publisher_org_id, payment_date);
INSERT INTO spend_links SELECT * FROM saved_spend_links;
DROP TABLE saved_spend_links;
