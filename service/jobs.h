/*
 * jobs: the job table as the API sees it: enqueue, read, page, cancel.
 * Every function borrows one pooled connection for its work and returns a
 * new JSON value the caller decrefs. On error, NULL is returned, err says
 * why and nothing is changed.
 */
#ifndef PARTD_JOBS_H
#define PARTD_JOBS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "pool.h"
#include "svc.h"

enum job_state {
	JOB_QUEUED,
	JOB_RUNNING,
	JOB_CANCELLING,
	JOB_SUCCEEDED,
	JOB_FAILED_STATE,
	JOB_CANCELLED,
	JOB_STATE_COUNT,
};

const char *job_state_name(enum job_state s);
/* False when name is not a state. */
bool job_state_parse(const char *name, enum job_state *out);

struct job_request {
	const char *kind;
	const json_t *params;       /* the request body, validated by the kind */
	const char *created_by;     /* the token's name */
	const char *idempotency_key; /* or NULL */
};

/*
 * Enqueues a job. With an idempotency key already used for the same kind
 * and params, returns the original job and sets *replayed; for other
 * params, fails with SVC_UNPROCESSABLE. A table with an active job fails
 * with SVC_CONFLICT and err->extra {"active_job_id": id}.
 */
json_t *jobs_enqueue(struct pool *pool, const struct job_request *rq, bool *replayed,
		     struct svc_error *err);

/* The same on a connection the caller holds (the scheduler's own). */
struct pg_conn;
json_t *jobs_enqueue_on(struct pg_conn *conn, const struct job_request *rq, bool *replayed,
			struct svc_error *err);

struct jobs_filter {
	const char *table; /* "schema.table" or bare, or NULL */
	const char *kind;
	const char *state;
	const char *cursor; /* from a previous page's next_cursor */
	long limit;
};

/* {"jobs":[...], "next_cursor": "..."|null}, newest first. */
json_t *jobs_list(struct pool *pool, const struct jobs_filter *f, struct svc_error *err);
json_t *jobs_get(struct pool *pool, int64_t id, struct svc_error *err);
/* {"events":[...], "next_cursor": ...}, oldest first. */
json_t *jobs_events(struct pool *pool, int64_t id, const char *cursor, long limit,
		    struct svc_error *err);
/* Cancels a queued job or asks a running one to stop; SVC_CONFLICT if finished. */
json_t *jobs_cancel(struct pool *pool, int64_t id, const char *by, struct svc_error *err);
/* Counts by kind and state for /metrics: [[kind, state, n], ...]. */
json_t *jobs_counts(struct pool *pool, struct svc_error *err);

/* {"done","total","unit","percent","rate_per_s","eta_s"}; total < 0 means unknown. */
json_t *job_progress_json(int64_t done, int64_t total, const char *unit, const double *rate);
/* Parses a positive decimal id; false for anything else. */
bool jobs_parse_id(const char *s, int64_t *out);

#endif
