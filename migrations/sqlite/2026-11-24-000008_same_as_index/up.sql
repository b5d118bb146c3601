-- same_process::link looks up the records linked to the ones a sync page changed
-- (`same_as IN (...)`) on every page of a Find a Tender or Contracts Finder sync: without an
-- index that is a scan of the whole records table per page.
CREATE INDEX records_same_as ON records (same_as);
