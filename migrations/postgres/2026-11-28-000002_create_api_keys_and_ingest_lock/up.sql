-- API keys are stored as hashes only; the key itself is shown once when created.
CREATE TABLE api_keys (
    id           BIGSERIAL PRIMARY KEY,
    name         TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at   TIMESTAMP,
    use_count    BIGINT NOT NULL DEFAULT 0
);

-- A single row naming the process currently ingesting, so two ingests never overlap.
-- The lease expires, so a crashed holder does not block ingests forever.
CREATE TABLE ingest_lock (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    holder      TEXT,
    acquired_at TIMESTAMP,
    expires_at  TIMESTAMP
);
INSERT INTO ingest_lock (id, holder, acquired_at, expires_at) VALUES (1, NULL, NULL, NULL);
