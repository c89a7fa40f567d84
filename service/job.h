/*
 * job: what a job kind's code sees while it runs. A kind's run function is
 * called on a worker thread with a context that gives it the worker's own
 * database connection, the job's params and its last checkpoint, and ways
 * to report progress, store a new checkpoint, log events and learn that it
 * should stop (cancel requested, lease lost, or partd shutting down).
 *
 * A run function must stop at safe points when job_should_stop() says so,
 * and must be able to start again from any checkpoint it stored: a new
 * attempt (after a crash, a retry or a shutdown) begins with the last one.
 */
#ifndef PARTD_JOB_H
#define PARTD_JOB_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "svc.h"

struct job_ctx;

enum job_outcome {
	JOB_DONE,    /* finished; its result was set with job_set_result */
	JOB_FAILED,  /* failed for good; job_fail said why */
	JOB_RETRY,   /* failed for now; another attempt may succeed */
	JOB_STOPPED, /* stopped at a safe point because job_should_stop() */
};

enum job_event_level { JOB_EVENT_INFO, JOB_EVENT_WARNING, JOB_EVENT_ERROR };

struct job_kind {
	const char *name;
	int max_attempts;
	/*
	 * Checks a request's params and fills in defaults. On success *out is a
	 * new object (caller decrefs) and table holds the job's table
	 * ("schema.table") or "". On error, false is returned and err says
	 * which field is wrong.
	 */
	bool (*validate)(const json_t *params, json_t **out, char *table, size_t tablelen,
			 struct svc_error *err);
	enum job_outcome (*run)(struct job_ctx *ctx);
};

/* The registry of kinds, in job_kinds.c. NULL when name is unknown. */
const struct job_kind *job_kind_find(const char *name);

int64_t job_id(const struct job_ctx *ctx);
int job_attempt(const struct job_ctx *ctx);
/* The worker's own connection; a job may run transactions on it. */
PGconn *job_conn(struct job_ctx *ctx);
const json_t *job_params(const struct job_ctx *ctx);
/*
 * The checkpoint the last attempt stored, or NULL. Borrowed, and valid for
 * the whole run: job_save stores new ones without changing this one.
 */
const json_t *job_checkpoint(const struct job_ctx *ctx);
bool job_should_stop(const struct job_ctx *ctx);
/* True when the stop is a cancel (the job will not be resumed: clean up). */
bool job_cancel_requested(const struct job_ctx *ctx);
/*
 * Opens another session to the job's database, for work a job spreads over
 * several connections. On error, NULL and why says what libpq said. The
 * caller owns the connection (PQfinish).
 */
PGconn *job_connect(struct job_ctx *ctx, const char *application_name, char *why, size_t whylen);
/*
 * db_exec on the job's connection, for a statement that may run long (an
 * ANALYZE, a month's rollup, one waiting for a lock): while it runs, a stop
 * (cancel, lost lease, shutdown) cancels it on the server, so that a
 * cancel takes effect within a moment and not when the statement ends.
 * The statement then fails (SQLSTATE 57014), or is not sent when the job
 * is already stopping, and job_should_stop() says why. Unlike db_exec, it
 * leaves db_last_constraint() alone.
 */
PGresult *job_exec(struct job_ctx *ctx, const char *sql, int nparams, const char *const *params,
		   struct svc_error *err);
/*
 * True when job_exec's statement (err its failure) failed because the job
 * stops: cancelled on the server, or not sent. A connection lost meanwhile
 * is a failure, not a stop.
 */
bool job_exec_stopped(struct job_ctx *ctx, const struct svc_error *err);
/* PARTD_LOCK_TIMEOUT_MS: the lock_timeout every DDL statement runs under. */
long job_lock_timeout_ms(const struct job_ctx *ctx);
/* Sleeps ms in short slices; false (early) when the job should stop. */
bool job_sleep_ms(struct job_ctx *ctx, long ms);
/*
 * The same for the cleanup that a cancel asks for: a cancel does not cut it
 * short; a shutdown or a lost lease still does.
 */
bool job_sleep_through_cancel_ms(struct job_ctx *ctx, long ms);

/*
 * Stores phase and progress and, unless checkpoint is NULL, a new
 * checkpoint (stolen). Runs on job_conn, so inside a transaction the
 * checkpoint commits or rolls back with the work it describes. Returns
 * false when the job is no longer this worker's (lease lost) or the write
 * failed; the run function should then return JOB_STOPPED.
 */
bool job_save(struct job_ctx *ctx, const char *phase, int64_t done, int64_t total,
	      const char *unit, json_t *checkpoint);
/* Appends to the job's event log; data (stolen) may be NULL. */
void job_event(struct job_ctx *ctx, enum job_event_level level, json_t *data, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Sets the job's result (stolen). */
void job_set_result(struct job_ctx *ctx, json_t *result);
/* Records why the attempt failed and returns outcome, for `return job_fail(...)`. */
enum job_outcome job_fail(struct job_ctx *ctx, enum job_outcome outcome, const char *sqlstate,
			  const char *title, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
