DROP TABLE relink_queue;
DROP TABLE grant_links;
DROP TABLE org_equivalents;
