-- One organisation, one profile (issue 7): every identifier known to name the same body as
-- another (a charity's GB-CHC and GB-COH ids, a 360Giving recipient's additional identifiers)
-- points at the identifier its profile is kept under. An identifier with no row is its own
-- profile.
CREATE TABLE org_equivalents (
    org_id TEXT PRIMARY KEY,
    canonical_id TEXT NOT NULL,
    method TEXT NOT NULL,
    source TEXT NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX org_equivalents_canonical ON org_equivalents (canonical_id);

-- Which contract a 360Giving grant was made under (register::reconcile), like spend_links.
CREATE TABLE grant_links (
    grant_row_id BIGINT PRIMARY KEY REFERENCES grants (id),
    ocid TEXT NOT NULL,
    contract_id TEXT NOT NULL,
    method TEXT NOT NULL,
    confidence DOUBLE PRECISION NOT NULL,
    linked_at TIMESTAMP NOT NULL
);
CREATE INDEX grant_links_ocid ON grant_links (ocid);

-- Buyers whose contracts changed since their payments were last linked: storing a release
-- queues its buyer and partners, and the relinker (after a sync run, in the daemon) drains
-- the queue, so links follow changes on the contract side without slowing the write.
CREATE TABLE relink_queue (
    publisher_org_id TEXT PRIMARY KEY,
    queued_at TIMESTAMP NOT NULL
);
