DROP TABLE spend_links;
DROP TABLE grants;
DROP TABLE spend_transactions;
