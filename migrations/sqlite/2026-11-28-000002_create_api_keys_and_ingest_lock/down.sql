DROP TABLE ingest_lock;
DROP TABLE api_keys;
