-- The data version at which each day's rates last changed (inserted or updated). Every server
-- keeps all rates in memory; when the data version moves, it reloads only the days with a
-- newer version here instead of everything.
CREATE TABLE day_versions (
    date    TEXT NOT NULL,
    base    TEXT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (date, base)
) WITHOUT ROWID;
CREATE INDEX day_versions_by_version ON day_versions (version);
INSERT INTO day_versions (date, base, version)
    SELECT DISTINCT date, base, (SELECT version FROM data_version WHERE id = 1) FROM rates;
