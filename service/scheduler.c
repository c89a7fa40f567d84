/*
 * DESIGN: one thread with its own connection. Each round it tries the
 * scheduler advisory lock (session-level, so it keeps it while the
 * connection lives); without it, it does nothing that round. With it, it
 * runs a pass: read the managed tables, and for each one count the coming
 * intervals with no partition (one catalog query), enqueueing a job where
 * any are missing, and, during the hour PARTD_RETENTION_HOUR (UTC), a
 * retention.run for every table with a retention policy that had none
 * yet that day. It shares nothing with other threads but the stopping
 * flag and the last pass's duration (atomics).
 */
#include "scheduler.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "embed.h"
#include "jobs.h"
#include "log.h"
#include "partitions.h"
#include "retention.h"
#include "tables.h"

struct scheduler {
	const struct config *cfg;
	pthread_t thread;
	atomic_bool stopping;
};

static _Atomic double last_pass_s = -1;

double scheduler_last_pass_seconds(void)
{
	return atomic_load(&last_pass_s);
}

static double monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Enqueues partitions.create for qn; a table with an active job is left to it. */
static bool scheduler_enqueue(PGconn *conn, const char *display, int premake,
			      struct svc_error *err)
{
	struct job_request rq = {0};
	json_t *params = json_pack("{s:s, s:i}", "table", display, "ahead", premake), *job;
	bool replayed;

	rq.kind = partitions_create_kind.name;
	rq.params = params;
	rq.created_by = "scheduler";
	job = jobs_enqueue_on(conn, &rq, &replayed, err);
	json_decref(params);
	if (job)
		LOG_INFO(json_pack("{s:s, s:O}", "table", display, "job_id", json_object_get(job, "id")),
			 "scheduler: enqueued partitions.create");
	json_decref(job);
	return job || err->code == SVC_CONFLICT;
}

/*
 * Enqueues retention.run for table once a day in the retention hour; a
 * table with an active job is left for the next pass within the hour.
 */
static bool scheduler_retention(PGconn *conn, const char *display, struct svc_error *err)
{
	struct job_request rq = {0};
	time_t now = time(NULL);
	struct tm tm;
	char since[32];
	const char *params[2] = {display, since};
	json_t *p, *job;
	PGresult *res;
	bool replayed, ran;

	gmtime_r(&now, &tm);
	if (tm.tm_hour != retention_hour())
		return true;
	strftime(since, sizeof(since), "%Y-%m-%d 00:00:00+00", &tm);
	if (!(res = db_exec(conn, sql_retention_ran_today, 2, params, err)))
		return false;
	ran = db_get_bool(res, 0, "ran");
	PQclear(res);
	if (ran)
		return true;
	p = json_pack("{s:s}", "table", display);
	rq.kind = retention_run_kind.name;
	rq.params = p;
	rq.created_by = "scheduler";
	job = jobs_enqueue_on(conn, &rq, &replayed, err);
	json_decref(p);
	if (job)
		LOG_INFO(json_pack("{s:s, s:O}", "table", display, "job_id", json_object_get(job, "id")),
			 "scheduler: enqueued retention.run");
	json_decref(job);
	return job || err->code == SVC_CONFLICT;
}

struct pass_ctx {
	PGconn *conn;
	struct scheduler_pass *out;
};

static void scheduler_visit(const char *table, const struct table_policy *pol, bool partitioned,
			    int missing, const struct svc_error *terr, void *arg)
{
	struct pass_ctx *pc = arg;
	struct svc_error err = {0};

	pc->out->tables++;
	if (missing < 0) {
		pc->out->failed++;
		LOG_WARN(json_pack("{s:s}", "table", table), "scheduler: %s", terr->detail);
		return;
	}
	if (partitioned && pol->has_retention) {
		if (!scheduler_retention(pc->conn, table, &err)) {
			pc->out->failed++;
			LOG_WARN(json_pack("{s:s}", "table", table),
				 "scheduler: enqueueing retention failed: %s", err.detail);
		}
		svc_error_clear(&err);
	}
	if (!partitioned || missing == 0)
		return;
	if (scheduler_enqueue(pc->conn, table, pol->premake, &err)) {
		pc->out->enqueued += err.code == SVC_OK;
	} else {
		pc->out->failed++;
		LOG_WARN(json_pack("{s:s}", "table", table), "scheduler: enqueue failed: %s",
			 err.detail);
	}
	svc_error_clear(&err);
}

void scheduler_pass(PGconn *conn, struct scheduler_pass *out)
{
	struct svc_error err = {0};
	struct pass_ctx pc = {conn, out};
	double start = monotonic();

	memset(out, 0, sizeof(*out));
	/* One catalog read for every table; a failing table is counted, the others go on. */
	if (!tables_scan(conn, scheduler_visit, &pc, &err))
		LOG_WARN(NULL, "scheduler: reading managed tables failed: %s", err.detail);
	svc_error_clear(&err);
	out->seconds = monotonic() - start;
	atomic_store(&last_pass_s, out->seconds);
}

static void *scheduler_main(void *arg)
{
	struct scheduler *s = arg;
	struct svc_error err = {0};
	struct scheduler_pass pass;
	double next = 0;
	bool leader = false;
	char why[512];
	PGconn *conn = NULL;

	while (!atomic_load(&s->stopping)) {
		struct timespec nap = {0, 200 * 1000000L};

		if (monotonic() < next) {
			nanosleep(&nap, NULL);
			continue;
		}
		next = monotonic() + (double)s->cfg->scheduler_interval_s;
		if (!conn) {
			leader = false;
			conn = db_connect(s->cfg->database_url, "partd-scheduler", 0, why, sizeof(why));
			if (!conn) {
				next = monotonic() + 5;
				continue;
			}
		}
		if (!leader) {
			PGresult *res = db_exec(conn, sql_scheduler_lock, 0, NULL, &err);
			leader = res && PQgetvalue(res, 0, 0)[0] == 't';
			PQclear(res);
			if (leader)
				LOG_INFO(NULL, "scheduler: this replica holds the scheduler lock");
		}
		if (leader) {
			scheduler_pass(conn, &pass);
			LOG_INFO(json_pack("{s:i, s:i, s:i, s:f}", "tables", pass.tables, "enqueued",
					   pass.enqueued, "failed", pass.failed, "duration_ms",
					   pass.seconds * 1000),
				 "scheduler pass");
		}
		if (PQstatus(conn) != CONNECTION_OK) {
			PQfinish(conn);
			conn = NULL;
			next = monotonic() + 5;
		}
		svc_error_clear(&err);
	}
	PQfinish(conn);
	return NULL;
}

struct scheduler *scheduler_start(const struct config *cfg)
{
	struct scheduler *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->cfg = cfg;
	if (pthread_create(&s->thread, NULL, scheduler_main, s) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

void scheduler_stop(struct scheduler *s)
{
	if (!s)
		return;
	atomic_store(&s->stopping, true);
	pthread_join(s->thread, NULL);
	free(s);
}
