DROP INDEX records_value;
DROP INDEX records_published;
DROP INDEX records_deadline;
DROP TABLE records_fts;
