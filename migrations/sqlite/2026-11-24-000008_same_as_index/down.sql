DROP INDEX records_same_as;
