-- Council spend ("spend over £500", Local Government Transparency Code) as imported (design
-- brief, section 3): one row per payment line, with its provenance (file and line) and the
-- run that imported it. row_hash identifies a line within its publisher's data, so importing a
-- file again adds nothing. supplier_name is empty when the published name was redacted or names
-- an individual; it is never stored then.
CREATE TABLE spend_transactions (
    id BIGSERIAL PRIMARY KEY,
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
CREATE INDEX spend_transactions_date ON spend_transactions (publisher_org_id, payment_date);

-- 360Giving grants as imported: one row per grant identifier (grant ids are unique across
-- publishers by the standard's 360G- prefixes); re-importing a grant that changed replaces it.
-- A grant to an individual keeps only the anonymised recipient id, never a name.
CREATE TABLE grants (
    id BIGSERIAL PRIMARY KEY,
    grant_id TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount_awarded_pence BIGINT NOT NULL,
    award_date DATE NOT NULL,
    funder_org_id TEXT NOT NULL,
    funder_name TEXT NOT NULL,
    recipient_org_id TEXT NOT NULL,
    recipient_name TEXT,
    recipient_is_individual BOOLEAN NOT NULL,
    planned_start DATE,
    planned_end DATE,
    programme TEXT,
    source_file TEXT NOT NULL,
    position TEXT NOT NULL,
    run_id BIGINT REFERENCES sync_runs (id),
    content_hash TEXT NOT NULL,
    body TEXT NOT NULL,
    imported_at TIMESTAMP NOT NULL
);
CREATE INDEX grants_funder ON grants (funder_org_id, award_date);
CREATE INDEX grants_recipient ON grants (recipient_org_id, award_date);

-- Which contract a spend line was paid under (register::reconcile): one link per line at most,
-- with how the supplier was recognised and a confidence; recomputed for a publisher whenever
-- its spend is imported.
CREATE TABLE spend_links (
    spend_id BIGINT PRIMARY KEY REFERENCES spend_transactions (id),
    ocid TEXT NOT NULL,
    contract_id TEXT NOT NULL,
    method TEXT NOT NULL,
    confidence DOUBLE PRECISION NOT NULL,
    linked_at TIMESTAMP NOT NULL
);
CREATE INDEX spend_links_ocid ON spend_links (ocid);
