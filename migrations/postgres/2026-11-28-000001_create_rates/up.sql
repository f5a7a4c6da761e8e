-- One row per (date, base, currency). DOUBLE PRECISION (8-byte IEEE floats) so a stored value
-- reads back bit for bit; timestamps are UTC.
CREATE TABLE rates (
    date            DATE NOT NULL,
    base            VARCHAR(3) NOT NULL CHECK (length(base) = 3),
    currency        VARCHAR(3) NOT NULL CHECK (length(currency) = 3),
    rate            DOUBLE PRECISION NOT NULL CHECK (rate > 0),
    source          TEXT NOT NULL,
    first_stored_at TIMESTAMP NOT NULL,
    last_changed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (date, base, currency)
);

-- The value a rate had before an update replaced it, and the span during which it was served.
CREATE TABLE rate_revisions (
    id           BIGSERIAL PRIMARY KEY,
    date         DATE NOT NULL,
    base         VARCHAR(3) NOT NULL,
    currency     VARCHAR(3) NOT NULL,
    rate         DOUBLE PRECISION NOT NULL,
    source       TEXT NOT NULL,
    served_from  TIMESTAMP NOT NULL,
    served_until TIMESTAMP NOT NULL,
    FOREIGN KEY (date, base, currency) REFERENCES rates (date, base, currency) ON DELETE CASCADE
);
CREATE INDEX rate_revisions_by_rate ON rate_revisions (date, base, currency);

-- Every code that appears in rates (as base or quoted currency) has a row with held = true;
-- names come from Fixer's symbols list and may also exist for codes not held.
CREATE TABLE currencies (
    code VARCHAR(3) PRIMARY KEY CHECK (length(code) = 3),
    name TEXT,
    held BOOLEAN NOT NULL DEFAULT FALSE
);

-- A counter bumped by every write that changes rates, so caches can tell cheaply whether
-- anything changed.
CREATE TABLE data_version (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    version    BIGINT NOT NULL,
    changed_at TIMESTAMP
);
INSERT INTO data_version (id, version, changed_at) VALUES (1, 0, NULL);
