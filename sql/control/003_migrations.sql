-- Online migrations of monolithic tables into partitioned ones: one row per
-- table, the state a new attempt resumes from and what the rollback needs.
CREATE TABLE partd.migrations (
    schema_name       text        NOT NULL,
    table_name        text        NOT NULL,
    state             text        NOT NULL
        CHECK (state IN ('preparing', 'copying', 'validating', 'cutting_over', 'cut_over',
                         'rolled_back', 'finalized', 'cancelled', 'failed')),
    job_id            bigint      REFERENCES partd.jobs (id) ON DELETE SET NULL,
    new_name          text        NOT NULL,  -- <t>_new while copying
    old_name          text        NOT NULL,  -- <t>_old after cut-over
    view_name         text        NOT NULL,  -- <t>_view for Prisma's @@map
    trigger_name      text        NOT NULL,
    function_name     text        NOT NULL,
    plan              jsonb       NOT NULL,
    -- knobs a running copy re-reads before every batch (PATCH .../migration)
    batch_rows        integer     NOT NULL DEFAULT 5000 CHECK (batch_rows BETWEEN 1 AND 1000000),
    max_rows_per_s    integer     CHECK (max_rows_per_s IS NULL OR max_rows_per_s > 0),
    rollback_window   interval    NOT NULL DEFAULT '30 days',
    cut_over_at       timestamptz,
    rollback_deadline timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schema_name, table_name)
);
