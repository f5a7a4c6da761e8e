DROP TABLE day_versions;
