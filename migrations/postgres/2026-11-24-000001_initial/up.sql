-- The first register tables (design brief, section 3). PostgreSQL: BIGSERIAL ids; TIMESTAMP
-- (without time zone) columns hold UTC, as on SQLite (rust-stack.md, pitfall 4).

CREATE TABLE organisations (
    id BIGSERIAL PRIMARY KEY,
    org_id TEXT NOT NULL UNIQUE,            -- org-id.guide identifier, e.g. GB-LAE-MAN
    name TEXT NOT NULL,
    name_variants TEXT NOT NULL DEFAULT '[]', -- JSON array of other names seen
    roles TEXT NOT NULL DEFAULT '[]',         -- JSON array: buyer, supplier, funder, ...
    partnership_member BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE releases (
    id BIGSERIAL PRIMARY KEY,
    ocid TEXT NOT NULL,
    release_id TEXT NOT NULL,
    release_date TEXT,                      -- the release's own date, normalised to UTC
    publisher_org_id TEXT,
    source TEXT NOT NULL,                   -- api, fts, contracts_finder, spend, 360giving, import
    received_at TIMESTAMP NOT NULL,
    content_hash TEXT NOT NULL,
    body TEXT NOT NULL,                     -- the release JSON exactly as stored
    UNIQUE (ocid, release_id)
);
CREATE INDEX releases_received_at ON releases (received_at, id);

CREATE TABLE records (
    id BIGSERIAL PRIMARY KEY,
    ocid TEXT NOT NULL UNIQUE,
    compiled_release TEXT NOT NULL,
    versioned_release TEXT,
    release_count INTEGER NOT NULL,
    title TEXT,
    description TEXT,
    stage TEXT,                             -- planning, tender, award, contract, implementation
    status TEXT,
    buyer_org_id TEXT,
    party_org_ids TEXT NOT NULL DEFAULT '[]',
    supplier_org_ids TEXT NOT NULL DEFAULT '[]',
    value_amount DOUBLE PRECISION,
    value_currency TEXT,
    published_at TIMESTAMP,
    tender_deadline TIMESTAMP,
    contract_start TIMESTAMP,
    contract_end TIMESTAMP,
    cpv_codes TEXT NOT NULL DEFAULT '[]',
    service_category TEXT,
    delivery_area TEXT,
    vcse_suitable BOOLEAN,
    sme_suitable BOOLEAN,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX records_updated_at ON records (updated_at, id);
CREATE INDEX records_buyer ON records (buyer_org_id);
CREATE INDEX records_stage ON records (stage, status);

CREATE TABLE api_tokens (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    token_prefix TEXT NOT NULL,             -- first characters, shown in listings
    token_hash TEXT NOT NULL UNIQUE,
    org_ids TEXT NOT NULL,                  -- JSON array of the organisations it may publish for
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);

CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,                    -- token id and name, or the CLI/sync source
    action TEXT NOT NULL,
    subject_ids TEXT NOT NULL DEFAULT '[]', -- JSON array of affected ids
    request_id TEXT,
    detail TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TABLE sync_sources (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    config TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE sync_runs (
    id BIGSERIAL PRIMARY KEY,
    source_id BIGINT NOT NULL REFERENCES sync_sources (id),
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status TEXT NOT NULL,                   -- running, succeeded, failed
    summary TEXT NOT NULL DEFAULT '{}',
    error TEXT
);
CREATE INDEX sync_runs_source ON sync_runs (source_id, started_at);

CREATE TABLE sync_cursors (
    id BIGSERIAL PRIMARY KEY,
    source_id BIGINT NOT NULL UNIQUE REFERENCES sync_sources (id),
    cursor TEXT,
    high_water_mark TEXT,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE raw_payloads (
    id BIGSERIAL PRIMARY KEY,
    source_id BIGINT NOT NULL REFERENCES sync_sources (id),
    run_id BIGINT REFERENCES sync_runs (id),
    fetched_at TIMESTAMP NOT NULL,
    url TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    content_type TEXT,
    content_hash TEXT NOT NULL,
    body BYTEA NOT NULL
);
CREATE INDEX raw_payloads_source ON raw_payloads (source_id, fetched_at);
