DROP TABLE grants;
DROP TABLE spend_transactions;
