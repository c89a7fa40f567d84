-- Tables partd manages, with their policy. Everything the catalog knows
-- (bounds, sizes, statistics) is read from pg_catalog, never stored here.
CREATE TABLE partd.managed_tables (
    schema_name text        NOT NULL,
    table_name  text        NOT NULL,
    policy      jsonb       NOT NULL,
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schema_name, table_name)
);
