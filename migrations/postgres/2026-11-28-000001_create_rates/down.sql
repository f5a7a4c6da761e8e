DROP TABLE data_version;
DROP TABLE currencies;
DROP TABLE rate_revisions;
DROP TABLE rates;
