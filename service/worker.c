/*
 * DESIGN: N worker threads and one heartbeat thread.
 *
 * A worker thread owns one PGconn, LISTENs on partd_jobs, and loops:
 * claim a job (FOR UPDATE SKIP LOCKED, so any number of workers in any
 * number of processes can scan at once), run it, write its outcome. Idle,
 * it sleeps until a NOTIFY arrives or PARTD_POLL_MS passes.
 *
 * The heartbeat thread owns another PGconn. Every lease/3 seconds it renews
 * the lease of each job a worker of this process runs; a renewal that finds
 * the job no longer ours sets the slot's `lost` flag, and a cancel request
 * sets `cancel`. In between it LISTENs on partd_cancel, which a cancel
 * request notifies with the job's id, so `cancel` is set within a moment
 * of the request, in whichever process took it. A job's code reads those
 * flags through job_should_stop(), and job_exec() cancels a statement in
 * flight when they say stop.
 *
 * Shared state: the slots' current job (id, attempt) is guarded by
 * workers.lock; the flags are atomics; `stopping` is an atomic set once at
 * shutdown. Every write a worker makes to its job row is fenced by worker
 * name and attempt, so a worker that lost its lease changes nothing.
 */
#include "worker.h"

#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "calendar.h"
#include "db.h"
#include "embed.h"
#include "job.h"
#include "jobs.h"
#include "log.h"
#include "metrics.h"

struct worker_slot {
	struct workers *w;
	int index;
	pthread_t thread;
	bool started;
	char name[160];
	/* guarded by w->lock */
	int64_t job_id; /* 0 when idle */
	int attempt;
	atomic_bool cancel;
	atomic_bool lost;
};

struct workers {
	const struct config *cfg;
	pthread_mutex_t lock;
	pthread_t heartbeat;
	bool heartbeat_started;
	atomic_bool stopping;
	atomic_int running; /* worker threads inside their loop */
	int n;
	struct worker_slot *slots;
};

struct job_ctx {
	struct worker_slot *slot;
	PGconn *conn;
	int64_t id;
	int attempt;
	char idtext[24], attempttext[16];
	const char *phase;
	json_t *params;
	json_t *checkpoint;
	json_t *result;
	json_t *error;
};

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Sleeps up to ms, in short slices, returning early when stopping. */
static void workers_nap(struct workers *w, long ms)
{
	while (ms > 0 && !atomic_load(&w->stopping)) {
		sleep_ms(ms < 100 ? ms : 100);
		ms -= 100;
	}
}

int64_t job_id(const struct job_ctx *ctx)
{
	return ctx->id;
}

int job_attempt(const struct job_ctx *ctx)
{
	return ctx->attempt;
}

PGconn *job_conn(struct job_ctx *ctx)
{
	return ctx->conn;
}

const json_t *job_params(const struct job_ctx *ctx)
{
	return ctx->params;
}

const json_t *job_checkpoint(const struct job_ctx *ctx)
{
	return ctx->checkpoint;
}

bool job_should_stop(const struct job_ctx *ctx)
{
	return atomic_load(&ctx->slot->w->stopping) || atomic_load(&ctx->slot->cancel) ||
	       atomic_load(&ctx->slot->lost);
}

bool job_cancel_requested(const struct job_ctx *ctx)
{
	return atomic_load(&ctx->slot->cancel) && !atomic_load(&ctx->slot->lost);
}

PGconn *job_connect(struct job_ctx *ctx, const char *application_name, char *why, size_t whylen)
{
	return db_connect(ctx->slot->w->cfg->database_url, application_name, 0, why, whylen);
}

PGresult *job_exec(struct job_ctx *ctx, const char *sql, int nparams, const char *const *params,
		   struct svc_error *err)
{
	PGconn *conn = ctx->conn;
	struct db_wait w = {.conn = conn, .what = "the job's statement", .job_id = ctx->id};
	PGresult *res, *ok = NULL, *bad = NULL;

	if (job_should_stop(ctx))
		return svc_fail(err, SVC_UNAVAILABLE, "not run: the job is stopping"), NULL;
	if (!(nparams > 0 ? PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0)
			  : PQsendQuery(conn, sql)))
		return db_result_fail(conn, NULL, err, NULL), NULL;
	/*
	 * A cancel that arrives after the statement has ended finds the session
	 * idle and is dropped, never carried over to the next statement.
	 */
	while (PQisBusy(conn))
		if (!db_wait_input(&w, job_should_stop(ctx)))
			break; /* the connection is gone: PQgetResult says so */
	/* As PQexec: the last result, or the first error. */
	while ((res = PQgetResult(conn)) != NULL) {
		ExecStatusType st = PQresultStatus(res);
		if (bad || (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)) {
			if (bad)
				PQclear(res);
			else
				bad = res;
			continue;
		}
		PQclear(ok);
		ok = res;
	}
	if (bad || !ok) {
		db_result_fail(conn, bad, err, NULL);
		PQclear(bad);
		PQclear(ok);
		return NULL;
	}
	return ok;
}

bool job_exec_stopped(struct job_ctx *ctx, const struct svc_error *err)
{
	return job_should_stop(ctx) && PQstatus(ctx->conn) == CONNECTION_OK &&
	       (strcmp(err->sqlstate, "57014") == 0 || err->sqlstate[0] == '\0');
}

long job_lock_timeout_ms(const struct job_ctx *ctx)
{
	return ctx->slot->w->cfg->lock_timeout_ms;
}

bool job_sleep_ms(struct job_ctx *ctx, long ms)
{
	while (ms > 0) {
		if (job_should_stop(ctx))
			return false;
		sleep_ms(ms < 50 ? ms : 50);
		ms -= 50;
	}
	return !job_should_stop(ctx);
}

bool job_sleep_through_cancel_ms(struct job_ctx *ctx, long ms)
{
	while (ms > 0) {
		if (atomic_load(&ctx->slot->w->stopping) || atomic_load(&ctx->slot->lost))
			return false;
		sleep_ms(ms < 50 ? ms : 50);
		ms -= 50;
	}
	return true;
}

bool job_save(struct job_ctx *ctx, const char *phase, int64_t done, int64_t total,
	      const char *unit, json_t *checkpoint)
{
	char donetext[24], totaltext[24];
	char *cptext = checkpoint ? json_dumps(checkpoint, JSON_COMPACT) : NULL;
	const char *params[8] = {ctx->idtext, ctx->slot->name, ctx->attempttext, phase,
				 donetext, total >= 0 ? totaltext : NULL, unit, cptext};
	struct svc_error err = {0};
	PGresult *res;
	bool ok;

	snprintf(donetext, sizeof(donetext), "%" PRId64, done);
	snprintf(totaltext, sizeof(totaltext), "%" PRId64, total);
	ctx->phase = phase;
	res = db_exec(ctx->conn, sql_jobs_save, 8, params, &err);
	ok = res && PQntuples(res) == 1;
	if (res && !ok)
		atomic_store(&ctx->slot->lost, true);
	if (ok && db_get_bool(res, 0, "cancel_requested"))
		atomic_store(&ctx->slot->cancel, true);
	if (!res)
		LOG_WARN(json_pack("{s:I, s:s}", "job_id", (json_int_t)ctx->id, "sqlstate",
				   err.sqlstate),
			 "saving job progress failed: %s", err.detail);
	/*
	 * ctx->checkpoint stays the one this attempt started from: run functions
	 * borrow it (and strings inside it) for the whole run.
	 */
	PQclear(res);
	free(cptext);
	json_decref(checkpoint);
	return ok;
}

static const char *const job_event_levels[] = {"info", "warning", "error"};

/* Inserts an event on conn; failures are logged, never fatal. */
static void job_event_insert(PGconn *conn, int64_t id, int attempt, enum job_event_level level,
			     const char *phase, const char *message, json_t *data)
{
	char idtext[24], attempttext[16];
	char *datatext = data ? json_dumps(data, JSON_COMPACT) : NULL;
	const char *params[6] = {idtext, attempttext, job_event_levels[level], phase, message,
				 datatext};
	struct svc_error err = {0};

	snprintf(idtext, sizeof(idtext), "%" PRId64, id);
	snprintf(attempttext, sizeof(attempttext), "%d", attempt);
	PQclear(db_exec(conn, sql_jobs_event_insert, 6, params, &err));
	if (err.code)
		LOG_WARN(json_pack("{s:I}", "job_id", (json_int_t)id),
			 "recording job event failed: %s", err.detail);
	free(datatext);
	json_decref(data);
}

void job_event(struct job_ctx *ctx, enum job_event_level level, json_t *data, const char *fmt, ...)
{
	char message[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	job_event_insert(ctx->conn, ctx->id, ctx->attempt, level, ctx->phase, message, data);
}

void job_set_result(struct job_ctx *ctx, json_t *result)
{
	json_decref(ctx->result);
	ctx->result = result;
}

enum job_outcome job_fail(struct job_ctx *ctx, enum job_outcome outcome, const char *sqlstate,
			  const char *title, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	json_decref(ctx->error);
	ctx->error = json_pack("{s:s, s:s, s:s, s:s?}", "type", "/problems/job-failed", "title",
			       title, "detail", detail, "sqlstate", sqlstate);
	return outcome;
}

/*
 * Writes the attempt's end: state (terminal or 'queued' again after
 * delay_s). Returns false when the job was no longer ours or the database
 * could not be reached (the lease then runs out and someone resumes it).
 */
static bool worker_finish(struct job_ctx *ctx, const char *kind, const char *state, long delay_s)
{
	char *resulttext = ctx->result ? json_dumps(ctx->result, JSON_COMPACT) : NULL;
	char *errortext = ctx->error ? json_dumps(ctx->error, JSON_COMPACT) : NULL;
	char delaytext[24];
	const char *params[8] = {ctx->idtext, ctx->slot->name, ctx->attempttext, state,
				 resulttext, errortext, NULL, delaytext};
	struct svc_error err = {0};
	PGresult *res;
	bool ok;

	snprintf(delaytext, sizeof(delaytext), "%ld", delay_s);
	res = db_exec(ctx->conn, sql_jobs_finish, 8, params, &err);
	ok = res && PQntuples(res) == 1;
	/* Whole job, all attempts: what an operator waits for. */
	if (ok && db_get(res, 0, "duration_s"))
		metrics_job_observe(kind, state, strtod(db_get(res, 0, "duration_s"), NULL));
	if (!ok)
		LOG_WARN(json_pack("{s:I, s:s}", "job_id", (json_int_t)ctx->id, "state", state),
			 "could not record the end of the attempt (%s); the lease will run out "
			 "and the job will be resumed",
			 res ? "the job is no longer ours" : err.detail);
	PQclear(res);
	free(resulttext);
	free(errortext);
	return ok;
}

/* Seconds before retry number `attempt`: 2, 4, 8 ... 300, plus up to 25 % jitter. */
static long retry_delay_s(int attempt)
{
	long base = attempt >= 8 ? 300 : 1L << attempt;

	if (base > 300)
		base = 300;
	return base + (long)(rand() % (int)(base / 4 + 1));
}

static void slot_set_job(struct worker_slot *slot, int64_t id, int attempt)
{
	pthread_mutex_lock(&slot->w->lock);
	slot->job_id = id;
	slot->attempt = attempt;
	atomic_store(&slot->cancel, false);
	atomic_store(&slot->lost, false);
	pthread_mutex_unlock(&slot->w->lock);
}

/* A worker's session: LISTENing on partd_jobs; NULL (and why) when the database is out of reach. */
static PGconn *worker_connect(const struct workers *w, char *why, size_t whylen)
{
	struct svc_error err = {0};
	PGconn *conn = db_connect(w->cfg->database_url, "partd-worker", 0, why, whylen);

	if (conn)
		PQclear(db_exec(conn, "LISTEN partd_jobs", 0, NULL, &err));
	return conn;
}

/*
 * Runs the job claimed in row 0 of res on the slot's session *connp. When
 * the run loses that session (the server ended it, the network dropped),
 * the attempt's end is recorded on a new one, which replaces *connp: its
 * error event and retry are written now, not when the lease runs out with no
 * word of why.
 */
static void worker_run(struct worker_slot *slot, PGconn **connp, PGresult *res)
{
	PGconn *conn = *connp;
	const char *kindname = db_get(res, 0, "kind"), *table = db_get(res, 0, "table_name");
	const char *prev_state = db_get(res, 0, "prev_state"), *prev_worker = db_get(res, 0, "prev_worker");
	const char *cp = db_get(res, 0, "checkpoint");
	const struct job_kind *kind = job_kind_find(kindname);
	int max_attempts = (int)db_get_int64(res, 0, "max_attempts");
	struct job_ctx ctx = {0};
	struct svc_error err = {0};
	enum job_outcome outcome;
	bool table_locked = false, session_lost = false;
	long delay;

	ctx.slot = slot;
	ctx.conn = conn;
	ctx.id = db_get_int64(res, 0, "id");
	ctx.attempt = (int)db_get_int64(res, 0, "attempt");
	ctx.phase = NULL;
	snprintf(ctx.idtext, sizeof(ctx.idtext), "%" PRId64, ctx.id);
	snprintf(ctx.attempttext, sizeof(ctx.attempttext), "%d", ctx.attempt);
	ctx.params = json_loads(db_get(res, 0, "params"), 0, NULL);
	ctx.checkpoint = cp ? json_loads(cp, 0, NULL) : NULL;
	slot_set_job(slot, ctx.id, ctx.attempt);
	/* Claimed as 'cancelling' (a cancel came while it waited): stop at the first safe point. */
	if (db_get_bool(res, 0, "cancel_requested"))
		atomic_store(&slot->cancel, true);

	LOG_INFO(json_pack("{s:I, s:s, s:i}", "job_id", (json_int_t)ctx.id, "kind", kindname,
			   "attempt", ctx.attempt),
		 "job claimed");
	if (prev_state && strcmp(prev_state, "queued") != 0)
		job_event(&ctx, JOB_EVENT_WARNING,
			  json_pack("{s:s?}", "previous_worker", prev_worker),
			  "the lease of %s ran out (its process stopped renewing it); attempt %d "
			  "resumes from the last checkpoint",
			  prev_worker ? prev_worker : "the previous worker", ctx.attempt);
	job_event(&ctx, JOB_EVENT_INFO, json_pack("{s:s}", "worker", slot->name),
		  "attempt %d started on %s", ctx.attempt, slot->name);

	if (!kind || !ctx.params) {
		job_fail(&ctx, JOB_FAILED, NULL, "Unknown job kind",
			 "this partd does not know job kind '%s'; run a partd version that does",
			 kindname);
		worker_finish(&ctx, kindname, "failed", 0);
		goto done;
	}
	if (ctx.attempt > max_attempts) {
		job_fail(&ctx, JOB_FAILED, NULL, "Too many attempts",
			 "gave up after %d attempts: each time, the process running it stopped "
			 "renewing its lease (crashed or was killed)",
			 max_attempts);
		job_event(&ctx, JOB_EVENT_ERROR, json_incref(ctx.error), "%s",
			  json_string_value(json_object_get(ctx.error, "detail")));
		worker_finish(&ctx, kindname, "failed", 0);
		goto done;
	}
	if (table) {
		PGresult *lock = db_exec(conn, sql_table_lock_try, 1, &table, &err);
		table_locked = lock && db_get_bool(lock, 0, "pg_try_advisory_lock");
		PQclear(lock);
		if (!table_locked) {
			job_event(&ctx, JOB_EVENT_WARNING, NULL,
				  "another session still holds %s's job lock; trying again in 5 s",
				  table);
			worker_finish(&ctx, kindname, "queued", 5);
			goto done;
		}
	}

	outcome = kind->run(&ctx);

	if (PQstatus(conn) == CONNECTION_OK && (PQtransactionStatus(conn) == PQTRANS_INTRANS ||
						PQtransactionStatus(conn) == PQTRANS_INERROR)) {
		/* What the run wrote there is gone, so it did not succeed. */
		LOG_ERROR(json_pack("{s:I, s:s}", "job_id", (json_int_t)ctx.id, "kind", kindname),
			  "the job left a transaction open; it is rolled back");
		PQclear(PQexec(conn, "ROLLBACK"));
		if (outcome == JOB_DONE)
			outcome = job_fail(&ctx, JOB_FAILED, NULL, "Job failed",
					   "the %s job left a transaction open, which was rolled "
					   "back; this is a bug in partd: please report it",
					   kindname);
	}
	if (!db_alive(conn)) {
		char why[512];
		PGconn *fresh = worker_connect(slot->w, why, sizeof(why));
		if (fresh) {
			LOG_WARN(json_pack("{s:I, s:s}", "job_id", (json_int_t)ctx.id, "worker",
					   slot->name),
				 "the job's session was lost; its end is recorded on a new one");
			PQfinish(conn);
			*connp = ctx.conn = conn = fresh;
			table_locked = false; /* the table's lock ended with the old session */
			session_lost = true;
		} else {
			LOG_WARN(json_pack("{s:I, s:s}", "job_id", (json_int_t)ctx.id, "worker",
					   slot->name),
				 "the job's session was lost and no new one opens (%s); the lease "
				 "will run out and the job will be resumed",
				 why);
		}
	}
	/*
	 * A run that lost its session is retried, whatever it made of the loss:
	 * mostly "stopped" (its progress could not be saved), which is neither
	 * a cancel done nor a shutdown, or "failed". Under a cancel the job stays
	 * cancelling: whatever clean-up ran on the dead session may not have
	 * happened, and the next attempt stops at once and does it on a live one.
	 */
	if (session_lost && (outcome == JOB_STOPPED || outcome == JOB_FAILED) &&
	    !atomic_load(&slot->lost) && !atomic_load(&slot->w->stopping)) {
		if (outcome == JOB_STOPPED)
			job_fail(
			    &ctx, JOB_RETRY, NULL, "Job failed",
			    atomic_load(&slot->cancel)
				? "the job's database session was lost while it stopped for "
				  "the cancel; its clean-up is done again by the next attempt, "
				  "if one is left"
				: "the job's database session was lost");
		outcome = JOB_RETRY;
	}
	if (table_locked) {
		PQclear(db_exec(conn, sql_table_lock_release, 1, &table, &err));
		svc_error_clear(&err);
	}
	switch (outcome) {
	case JOB_DONE:
		job_event(&ctx, JOB_EVENT_INFO, NULL, "succeeded");
		worker_finish(&ctx, kindname, "succeeded", 0);
		break;
	case JOB_FAILED:
	case JOB_RETRY:
		if (!ctx.error)
			job_fail(&ctx, outcome, NULL, "Job failed", "the job failed without a reason");
		if (outcome == JOB_RETRY && ctx.attempt < max_attempts) {
			delay = retry_delay_s(ctx.attempt);
			job_event(&ctx, JOB_EVENT_ERROR, json_incref(ctx.error),
				  "attempt %d failed: %s; retrying in %ld s", ctx.attempt,
				  json_string_value(json_object_get(ctx.error, "detail")), delay);
			worker_finish(&ctx, kindname, "queued", delay);
		} else {
			job_event(&ctx, JOB_EVENT_ERROR, json_incref(ctx.error),
				  "attempt %d failed: %s", ctx.attempt,
				  json_string_value(json_object_get(ctx.error, "detail")));
			worker_finish(&ctx, kindname, "failed", 0);
		}
		break;
	case JOB_STOPPED:
		if (atomic_load(&slot->lost)) {
			LOG_WARN(json_pack("{s:I}", "job_id", (json_int_t)ctx.id),
				 "job stopped: its lease was lost to another worker");
		} else if (atomic_load(&slot->cancel)) {
			job_event(&ctx, JOB_EVENT_INFO, NULL, "cancelled at a safe point");
			worker_finish(&ctx, kindname, "cancelled", 0);
		} else {
			job_event(&ctx, JOB_EVENT_INFO, NULL,
				  "partd is shutting down: handed back to the queue; the next "
				  "attempt resumes from the checkpoint");
			worker_finish(&ctx, kindname, "queued", 0);
		}
		break;
	}
done:
	slot_set_job(slot, 0, 0);
	json_decref(ctx.params);
	json_decref(ctx.checkpoint);
	json_decref(ctx.result);
	json_decref(ctx.error);
}

/*
 * Waits up to ms on conn's LISTENs, in 100 ms slices that watch `stopping`.
 * Each notification, first those libpq took in during an earlier query,
 * goes to each (when not NULL); with wake, the wait ends at the first.
 * False when the connection was lost.
 */
static bool workers_listen(struct workers *w, PGconn *conn, long ms, bool wake,
			   void (*each)(struct workers *w, const PGnotify *n))
{
	struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
	PGnotify *n;
	bool woke = false;

	for (;;) {
		while ((n = PQnotifies(conn)) != NULL) {
			if (each)
				each(w, n);
			woke = true;
			PQfreemem(n);
		}
		if (ms <= 0 || (wake && woke) || atomic_load(&w->stopping))
			break;
		if (poll(&pfd, 1, ms < 100 ? (int)ms : 100) > 0 && !PQconsumeInput(conn))
			return false;
		ms -= 100;
	}
	return PQstatus(conn) == CONNECTION_OK;
}

static void *worker_main(void *arg)
{
	struct worker_slot *slot = arg;
	struct workers *w = slot->w;
	char lease[16], why[512];
	const char *params[2] = {slot->name, lease};
	struct svc_error err = {0};
	PGconn *conn = NULL;
	long backoff = 500;

	snprintf(lease, sizeof(lease), "%ld", w->cfg->lease_s);
	atomic_fetch_add(&w->running, 1);
	while (!atomic_load(&w->stopping)) {
		PGresult *res;

		if (!conn) {
			conn = worker_connect(w, why, sizeof(why));
			if (conn) {
				backoff = 500;
			} else {
				LOG_WARN(json_pack("{s:s}", "worker", slot->name),
					 "worker cannot reach the database: %s", why);
				workers_nap(w, backoff);
				backoff = backoff < 8000 ? backoff * 2 : 8000;
				continue;
			}
		}
		svc_error_clear(&err);
		res = db_exec(conn, sql_jobs_claim, 2, params, &err);
		if (res && PQntuples(res) == 1)
			worker_run(slot, &conn, res);
		else if (res && !workers_listen(w, conn, w->cfg->poll_ms, true, NULL))
			err.code = SVC_UNAVAILABLE;
		else if (!res)
			LOG_WARN(json_pack("{s:s, s:s}", "worker", slot->name, "sqlstate", err.sqlstate),
				 "claiming a job failed: %s", err.detail);
		PQclear(res);
		if (err.code == SVC_UNAVAILABLE || PQstatus(conn) != CONNECTION_OK) {
			PQfinish(conn);
			conn = NULL;
		} else if (err.code) {
			workers_nap(w, w->cfg->poll_ms);
		}
	}
	PQfinish(conn);
	atomic_fetch_sub(&w->running, 1);
	return NULL;
}

/*
 * The heartbeat's session, LISTENing on partd_cancel when *listening; NULL
 * when there is none. A failed LISTEN keeps the session: renewals matter
 * more than a quick cancel (which the renewal still brings, later).
 */
static PGconn *heartbeat_connect(struct workers *w, PGconn *conn, bool *listening)
{
	struct svc_error err = {0};
	char why[512];
	PGresult *res;

	if (!conn && !(conn = db_connect(w->cfg->database_url, "partd-heartbeat", 0, why,
					 sizeof(why)))) {
		*listening = false;
		return NULL;
	}
	if (*listening)
		return conn;
	if ((res = db_exec(conn, "LISTEN partd_cancel", 0, NULL, &err)) != NULL)
		*listening = true;
	else
		LOG_WARN(json_pack("{s:s}", "sqlstate", err.sqlstate),
			 "the heartbeat could not LISTEN for cancel requests (%s); a cancel "
			 "reaches a running job at the next lease renewal",
			 err.detail);
	PQclear(res);
	return conn;
}

/* A cancel request (jobs_cancel.sql notifies partd_cancel with the job's id): flag its slot. */
static void heartbeat_cancel(struct workers *w, const PGnotify *n)
{
	int64_t id = strtoll(n->extra, NULL, 10);
	int i;

	pthread_mutex_lock(&w->lock);
	for (i = 0; i < w->n; i++)
		if (id > 0 && w->slots[i].job_id == id)
			atomic_store(&w->slots[i].cancel, true);
	pthread_mutex_unlock(&w->lock);
}

static void *heartbeat_main(void *arg)
{
	struct workers *w = arg;
	long interval_ms = w->cfg->lease_s * 1000 / 3, backoff_ms = 500;
	double renew_at = monotonic_ms() + (double)interval_ms;
	char lease[16];
	PGconn *conn = NULL;
	bool listening = false;
	int i;

	snprintf(lease, sizeof(lease), "%ld", w->cfg->lease_s);
	while (!atomic_load(&w->stopping)) {
		long due_ms;

		/* Connected from the start: a cancel comes at any time, renewals every interval. */
		if (!conn || !listening)
			conn = heartbeat_connect(w, conn, &listening);
		if (!conn) {
			/* Without a session, renew as soon as there is one again. */
			workers_nap(w, backoff_ms);
			backoff_ms = backoff_ms * 2 < interval_ms ? backoff_ms * 2 : interval_ms;
			continue;
		}
		backoff_ms = 500;
		if ((due_ms = (long)(renew_at - monotonic_ms())) > 0) {
			if (!workers_listen(w, conn, due_ms, false, heartbeat_cancel)) {
				PQfinish(conn);
				conn = NULL;
				listening = false;
			}
			continue;
		}
		renew_at = monotonic_ms() + (double)interval_ms;
		for (i = 0; i < w->n; i++) {
			struct worker_slot *slot = &w->slots[i];
			char idtext[24], attempttext[16];
			const char *params[4] = {idtext, slot->name, attempttext, lease};
			struct svc_error err = {0};
			PGresult *res;
			int64_t id;
			int attempt;

			pthread_mutex_lock(&w->lock);
			id = slot->job_id;
			attempt = slot->attempt;
			pthread_mutex_unlock(&w->lock);
			if (!id)
				continue;
			snprintf(idtext, sizeof(idtext), "%" PRId64, id);
			snprintf(attempttext, sizeof(attempttext), "%d", attempt);
			res = db_exec(conn, sql_jobs_heartbeat, 4, params, &err);
			pthread_mutex_lock(&w->lock);
			if (res && slot->job_id == id && slot->attempt == attempt) {
				if (PQntuples(res) == 0)
					atomic_store(&slot->lost, true);
				else if (db_get_bool(res, 0, "cancel_requested"))
					atomic_store(&slot->cancel, true);
			}
			pthread_mutex_unlock(&w->lock);
			PQclear(res);
			if (!res && err.code == SVC_UNAVAILABLE) {
				PQfinish(conn);
				conn = NULL;
				listening = false;
				/* The slots not renewed yet: in half a second, not an interval. */
				renew_at = monotonic_ms() + 500.0;
				break;
			}
		}
	}
	PQfinish(conn);
	return NULL;
}

struct workers *workers_start(const struct config *cfg)
{
	struct workers *w = calloc(1, sizeof(*w));
	char host[64] = "localhost";
	int i;

	if (!w)
		return NULL;
	w->slots = calloc((size_t)(cfg->workers ? cfg->workers : 1), sizeof(*w->slots));
	if (!w->slots) {
		free(w);
		return NULL;
	}
	w->cfg = cfg;
	w->n = (int)cfg->workers;
	pthread_mutex_init(&w->lock, NULL);
	gethostname(host, sizeof(host) - 1);
	srand((unsigned)getpid() ^ (unsigned)time(NULL));
	for (i = 0; i < w->n; i++) {
		struct worker_slot *slot = &w->slots[i];
		slot->w = w;
		slot->index = i;
		snprintf(slot->name, sizeof(slot->name), "%s:%d:w%d", host, (int)getpid(), i + 1);
		if (pthread_create(&slot->thread, NULL, worker_main, slot) != 0)
			goto fail;
		slot->started = true;
	}
	if (w->n > 0) {
		if (pthread_create(&w->heartbeat, NULL, heartbeat_main, w) != 0)
			goto fail;
		w->heartbeat_started = true;
	}
	return w;
fail:
	LOG_ERROR(NULL, "could not start worker threads");
	workers_stop(w);
	return NULL;
}

void workers_stop(struct workers *w)
{
	int i;

	if (!w)
		return;
	atomic_store(&w->stopping, true);
	for (i = 0; i < w->n; i++)
		if (w->slots[i].started)
			pthread_join(w->slots[i].thread, NULL);
	if (w->heartbeat_started)
		pthread_join(w->heartbeat, NULL);
	pthread_mutex_destroy(&w->lock);
	free(w->slots);
	free(w);
}

bool workers_ready(struct workers *w, char *why, size_t whylen)
{
	int running;

	if (!w) {
		snprintf(why, whylen, "workers not started (waiting for the control schema)");
		return false;
	}
	running = atomic_load(&w->running);
	if (running < w->n) {
		snprintf(why, whylen, "%d of %d worker threads running", running, w->n);
		return false;
	}
	return true;
}

int workers_busy(struct workers *w)
{
	int i, busy = 0;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->lock);
	for (i = 0; i < w->n; i++)
		busy += w->slots[i].job_id != 0;
	pthread_mutex_unlock(&w->lock);
	return busy;
}

int workers_count(struct workers *w)
{
	return w ? w->n : 0;
}
