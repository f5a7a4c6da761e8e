-- One row per (date, base, currency). Rates are REAL (8-byte IEEE floats) so a stored value
-- reads back bit for bit; dates are 'YYYY-MM-DD' text and timestamps UTC text, both of which
-- sort correctly as text. WITHOUT ROWID clusters the rows by the key, so one day's table is one
-- contiguous index range.
CREATE TABLE rates (
    date            TEXT NOT NULL,
    base            TEXT NOT NULL CHECK (length(base) = 3),
    currency        TEXT NOT NULL CHECK (length(currency) = 3),
    rate            REAL NOT NULL CHECK (rate > 0),
    source          TEXT NOT NULL,
    first_stored_at TEXT NOT NULL,
    last_changed_at TEXT NOT NULL,
    PRIMARY KEY (date, base, currency)
) WITHOUT ROWID;

-- The value a rate had before an update replaced it, and the span during which it was served.
CREATE TABLE rate_revisions (
    id           INTEGER PRIMARY KEY,
    date         TEXT NOT NULL,
    base         TEXT NOT NULL,
    currency     TEXT NOT NULL,
    rate         REAL NOT NULL,
    source       TEXT NOT NULL,
    served_from  TEXT NOT NULL,
    served_until TEXT NOT NULL,
    FOREIGN KEY (date, base, currency) REFERENCES rates (date, base, currency) ON DELETE CASCADE
);
CREATE INDEX rate_revisions_by_rate ON rate_revisions (date, base, currency);

-- Every code that appears in rates (as base or quoted currency) has a row with held = 1;
-- names come from Fixer's symbols list and may also exist for codes not held.
CREATE TABLE currencies (
    code TEXT PRIMARY KEY NOT NULL CHECK (length(code) = 3),
    name TEXT,
    held BOOLEAN NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- A counter bumped by every write that changes rates, so caches can tell cheaply whether
-- anything changed.
CREATE TABLE data_version (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    version    BIGINT NOT NULL,
    changed_at TEXT
);
INSERT INTO data_version (id, version, changed_at) VALUES (1, 0, NULL);
