-- partd's job engine: every long action is a row here, with its progress,
-- its checkpoint (what a new attempt resumes from) and an event log.

CREATE TABLE partd.jobs (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind               text        NOT NULL,
    table_name         text,
    state              text        NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'cancelling',
                         'succeeded', 'failed', 'cancelled')),
    phase              text,
    params             jsonb       NOT NULL DEFAULT '{}',
    checkpoint         jsonb,
    result             jsonb,
    error              jsonb,
    progress_done      bigint      NOT NULL DEFAULT 0,
    progress_total     bigint,
    progress_unit      text,
    -- rate over the current attempt: progress_done - progress_base_done
    -- since progress_base_at, refreshed at every progress report
    progress_rate      double precision,
    progress_base_done bigint      NOT NULL DEFAULT 0,
    progress_base_at   timestamptz,
    attempt            integer     NOT NULL DEFAULT 0,
    max_attempts       integer     NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    run_after          timestamptz NOT NULL DEFAULT now(),
    lease_until        timestamptz,
    worker             text,
    created_by         text        NOT NULL,
    idempotency_key    text,
    request_hash       text,
    cancel_requested   boolean     NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT now(),
    started_at         timestamptz,
    heartbeat_at       timestamptz,
    finished_at        timestamptz,
    CHECK ((state IN ('succeeded', 'failed', 'cancelled')) = (finished_at IS NOT NULL))
);

-- One table never has two active jobs: enforced here, not only in C, so
-- two replicas enqueueing at once cannot both win.
CREATE UNIQUE INDEX jobs_one_active_per_table ON partd.jobs (table_name)
    WHERE table_name IS NOT NULL AND state IN ('queued', 'running', 'cancelling');

CREATE UNIQUE INDEX jobs_idempotency_key ON partd.jobs (idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- What workers scan when they look for work.
CREATE INDEX jobs_claimable ON partd.jobs (id)
    WHERE state IN ('queued', 'running', 'cancelling');

CREATE INDEX jobs_by_table ON partd.jobs (table_name, id);
CREATE INDEX jobs_by_kind ON partd.jobs (kind, id);

CREATE TABLE partd.job_events (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id  bigint      NOT NULL REFERENCES partd.jobs (id) ON DELETE CASCADE,
    at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    attempt integer     NOT NULL,
    level   text        NOT NULL CHECK (level IN ('info', 'warning', 'error')),
    phase   text,
    message text        NOT NULL,
    data    jsonb
);

CREATE INDEX job_events_by_job ON partd.job_events (job_id, id);
