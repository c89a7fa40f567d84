-- Tiered retention. partd.archives: one row per archived partition, with
-- what a restore needs (bounds, columns, the file and its checks).
-- partd.retiring: a partition a retention job is about to detach; the row
-- lets a rerun after a crash find a detached table and finish it (verify,
-- then drop) instead of losing track of it.
CREATE TABLE partd.archives (
    id               bigserial   PRIMARY KEY,
    schema_name      text        NOT NULL,
    table_name       text        NOT NULL,   -- the parent
    partition_name   text        NOT NULL,
    partition_column text        NOT NULL,
    range_from       date        NOT NULL,
    range_to         date        NOT NULL,
    file             text        NOT NULL,   -- absolute path of the .csv.gz
    manifest_file    text        NOT NULL,
    columns          jsonb       NOT NULL,   -- [{"name","type"}] in file order
    rows             bigint      NOT NULL,
    bytes            bigint      NOT NULL,   -- of the gzip file
    raw_bytes        bigint      NOT NULL,   -- of the CSV inside it
    sha256           text        NOT NULL,   -- of the CSV inside it (uncompressed)
    verified_at      timestamptz,            -- re-read, gunzipped, rows and sha256 equal
    job_id           bigint      REFERENCES partd.jobs (id) ON DELETE SET NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    restored_at      timestamptz,
    restored_as      text,
    UNIQUE (schema_name, partition_name, range_from)
);
CREATE INDEX archives_by_table ON partd.archives (schema_name, table_name, range_from);

CREATE TABLE partd.retiring (
    schema_name    text        NOT NULL,
    table_name     text        NOT NULL,
    partition_name text        NOT NULL,
    range_from     date        NOT NULL,
    range_to       date        NOT NULL,
    job_id         bigint,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schema_name, partition_name)
);
