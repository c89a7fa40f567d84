#include "jobs.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "embed.h"
#include "hash.h"
#include "ident.h"
#include "job.h"

static const char *const job_state_names[JOB_STATE_COUNT] = {
	[JOB_QUEUED] = "queued",       [JOB_RUNNING] = "running",
	[JOB_CANCELLING] = "cancelling", [JOB_SUCCEEDED] = "succeeded",
	[JOB_FAILED_STATE] = "failed", [JOB_CANCELLED] = "cancelled",
};

const char *job_state_name(enum job_state s)
{
	return s < JOB_STATE_COUNT ? job_state_names[s] : "unknown";
}

bool job_state_parse(const char *name, enum job_state *out)
{
	int i;

	for (i = 0; i < JOB_STATE_COUNT; i++) {
		if (strcmp(name, job_state_names[i]) == 0) {
			*out = (enum job_state)i;
			return true;
		}
	}
	return false;
}

bool jobs_parse_id(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!s || *s < '1' || *s > '9' || strlen(s) > 18)
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < 1)
		return false;
	*out = v;
	return true;
}

json_t *job_progress_json(int64_t done, int64_t total, const char *unit, const double *rate)
{
	json_t *p = json_pack("{s:I}", "done", (json_int_t)done);

	if (!p)
		return NULL;
	json_object_set_new(p, "total", total >= 0 ? json_integer(total) : json_null());
	json_object_set_new(p, "unit", unit ? json_string(unit) : json_null());
	if (total > 0) {
		double pct = 100.0 * (double)done / (double)total;
		json_object_set_new(p, "percent", json_real(round((pct > 100 ? 100 : pct) * 10) / 10));
	} else {
		json_object_set_new(p, "percent", total == 0 ? json_real(100) : json_null());
	}
	if (rate && isfinite(*rate) && *rate >= 0)
		json_object_set_new(p, "rate_per_s", json_real(round(*rate * 100) / 100));
	else
		json_object_set_new(p, "rate_per_s", json_null());
	if (total >= 0 && done >= total)
		json_object_set_new(p, "eta_s", json_real(0));
	else if (total > 0 && rate && isfinite(*rate) && *rate > 0)
		json_object_set_new(p, "eta_s",
				    json_real(round((double)(total - done) / *rate * 10) / 10));
	else
		json_object_set_new(p, "eta_s", json_null());
	return p;
}

static json_t *json_text_or_null(const PGresult *res, int row, const char *col)
{
	const char *v = db_get(res, row, col);

	return v ? json_string(v) : json_null();
}

static json_t *json_time_or_null(const PGresult *res, int row, const char *col)
{
	const char *v = db_get(res, row, col);
	char ts[64];

	if (!v)
		return json_null();
	db_timestamp_rfc3339(v, ts, sizeof(ts));
	return json_string(ts);
}

static json_t *json_parsed_or_null(const PGresult *res, int row, const char *col)
{
	const char *v = db_get(res, row, col);
	json_t *j = v ? json_loads(v, JSON_DECODE_ANY, NULL) : NULL;

	return j ? j : json_null();
}

/* The API view of one row of partd.jobs (any query returning its columns). */
static json_t *job_to_json(const PGresult *res, int row)
{
	const char *total = db_get(res, row, "progress_total");
	const char *rate_text = db_get(res, row, "progress_rate");
	double rate = rate_text ? strtod(rate_text, NULL) : 0;
	json_t *j;

	j = json_pack("{s:I, s:s}", "id", (json_int_t)db_get_int64(res, row, "id"), "kind",
		      db_get(res, row, "kind") ? db_get(res, row, "kind") : "");
	if (!j)
		return NULL;
	json_object_set_new(j, "table", json_text_or_null(res, row, "table_name"));
	json_object_set_new(j, "state", json_text_or_null(res, row, "state"));
	json_object_set_new(j, "phase", json_text_or_null(res, row, "phase"));
	json_object_set_new(j, "progress",
			    job_progress_json(db_get_int64(res, row, "progress_done"),
					      total ? strtoll(total, NULL, 10) : -1,
					      db_get(res, row, "progress_unit"),
					      rate_text ? &rate : NULL));
	json_object_set_new(j, "params", json_parsed_or_null(res, row, "params"));
	json_object_set_new(j, "result", json_parsed_or_null(res, row, "result"));
	json_object_set_new(j, "error", json_parsed_or_null(res, row, "error"));
	json_object_set_new(j, "attempt", json_integer(db_get_int64(res, row, "attempt")));
	json_object_set_new(j, "max_attempts", json_integer(db_get_int64(res, row, "max_attempts")));
	json_object_set_new(j, "created_by", json_text_or_null(res, row, "created_by"));
	json_object_set_new(j, "idempotency_key", json_text_or_null(res, row, "idempotency_key"));
	json_object_set_new(j, "cancel_requested",
			    json_boolean(db_get_bool(res, row, "cancel_requested")));
	json_object_set_new(j, "created_at", json_time_or_null(res, row, "created_at"));
	json_object_set_new(j, "started_at", json_time_or_null(res, row, "started_at"));
	json_object_set_new(j, "heartbeat_at", json_time_or_null(res, row, "heartbeat_at"));
	json_object_set_new(j, "finished_at", json_time_or_null(res, row, "finished_at"));
	json_object_set_new(j, "worker", json_text_or_null(res, row, "worker"));
	return j;
}

/* Borrows a connection or fills err with SVC_UNAVAILABLE. */
static PGconn *jobs_borrow(struct pool *pool, struct svc_error *err)
{
	char why[400];
	PGconn *conn = pool_borrow(pool, why, sizeof(why));

	if (!conn)
		svc_fail(err, SVC_UNAVAILABLE, "the database is not available: %s", why);
	return conn;
}

/* Runs sql that returns at most one job row; SVC_NOT_FOUND when none. */
static json_t *jobs_fetch_one(struct pool *pool, const char *sql, int n, const char *const *params,
			      const char *what, struct svc_error *err)
{
	PGconn *conn;
	PGresult *res;
	json_t *job = NULL;

	if (!(conn = jobs_borrow(pool, err)))
		return NULL;
	res = db_exec(conn, sql, n, params, err);
	if (res && PQntuples(res) == 0)
		svc_fail(err, SVC_NOT_FOUND, "%s", what);
	else if (res)
		job = job_to_json(res, 0);
	PQclear(res);
	pool_return(pool, conn);
	return job;
}

json_t *jobs_get(struct pool *pool, int64_t id, struct svc_error *err)
{
	char idtext[24], what[96];
	const char *params[1] = {idtext};

	snprintf(idtext, sizeof(idtext), "%" PRId64, id);
	snprintf(what, sizeof(what), "no job has id %" PRId64, id);
	return jobs_fetch_one(pool, sql_jobs_get, 1, params, what, err);
}

/* The active job's id on table, for a 409; 0 when there is none now. */
static int64_t jobs_active_for_table(PGconn *conn, const char *table)
{
	struct svc_error e = {0};
	const char *params[1] = {table};
	PGresult *res = db_exec(conn, sql_jobs_active_for_table, 1, params, &e);
	int64_t id = res && PQntuples(res) ? db_get_int64(res, 0, "id") : 0;

	PQclear(res);
	return id;
}

json_t *jobs_enqueue(struct pool *pool, const struct job_request *rq, bool *replayed,
		     struct svc_error *err)
{
	PGconn *conn = jobs_borrow(pool, err);
	json_t *job;

	if (!conn)
		return NULL;
	job = jobs_enqueue_on(conn, rq, replayed, err);
	pool_return(pool, conn);
	return job;
}

json_t *jobs_enqueue_on(struct pg_conn *conn, const struct job_request *rq, bool *replayed,
			struct svc_error *err)
{
	const struct job_kind *kind = job_kind_find(rq->kind);
	char table[2 * IDENT_MAX + 2], hash[2 * HASH_SHA256_LEN + 1], attempts[16];
	const char *params[7];
	json_t *norm = NULL, *job = NULL;
	char *canon = NULL, *hashed = NULL;
	PGresult *res = NULL;
	int64_t active;

	*replayed = false;
	if (!kind) {
		svc_fail(err, SVC_INTERNAL, "unknown job kind '%s'", rq->kind);
		goto done;
	}
	if (!kind->validate(rq->params, &norm, table, sizeof(table), err))
		goto done;
	canon = json_dumps(norm, JSON_COMPACT | JSON_SORT_KEYS);
	if (!canon || asprintf(&hashed, "%s\n%s", kind->name, canon) < 0) {
		hashed = NULL;
		svc_fail(err, SVC_INTERNAL, "out of memory");
		goto done;
	}
	hash_sha256_hex(hashed, strlen(hashed), hash);
	snprintf(attempts, sizeof(attempts), "%d", kind->max_attempts);
	params[0] = kind->name;
	params[1] = table[0] ? table : NULL;
	params[2] = canon;
	params[3] = attempts;
	params[4] = rq->created_by;
	params[5] = rq->idempotency_key;
	params[6] = rq->idempotency_key ? hash : NULL;

	res = db_exec(conn, sql_jobs_insert, 7, params, err);
	if (!res) {
		if (strcmp(err->sqlstate, "23505") == 0 &&
		    strcmp(db_last_constraint(), "jobs_one_active_per_table") == 0) {
			active = jobs_active_for_table(conn, table);
			svc_fail(err, SVC_CONFLICT,
				 "%s already has an active job (id %" PRId64
				 "); wait for it to finish or cancel it with POST /v1/jobs/%" PRId64
				 "/cancel",
				 table, active, active);
			err->extra = json_pack("{s:I}", "active_job_id", (json_int_t)active);
		}
		goto done;
	}
	if (PQntuples(res) == 1) {
		job = job_to_json(res, 0);
		goto done;
	}
	/* The key was taken: the same request again, or a different one. */
	PQclear(res);
	res = db_exec(conn, sql_jobs_get_by_key, 1, &rq->idempotency_key, err);
	if (!res)
		goto done;
	if (PQntuples(res) == 0) {
		svc_fail(err, SVC_UNAVAILABLE,
			 "the job for this Idempotency-Key vanished while being read; retry");
	} else if (strcmp(db_get(res, 0, "request_hash"), hash) != 0) {
		svc_fail(err, SVC_UNPROCESSABLE,
			 "Idempotency-Key '%.64s' was already used for job %s with a different "
			 "request; use a new key for a new request",
			 rq->idempotency_key, db_get(res, 0, "id"));
	} else {
		job = job_to_json(res, 0);
		*replayed = true;
	}
done:
	PQclear(res);
	json_decref(norm);
	free(canon);
	free(hashed);
	return job;
}

/* "42" -> 42 for a keyset cursor; err names the parameter on failure. */
static bool jobs_parse_cursor(const char *cursor, struct svc_error *err)
{
	int64_t id;

	if (cursor && !jobs_parse_id(cursor, &id))
		return svc_field(err, "cursor",
				 "cursor '%.40s' is not one this server gave out; use next_cursor "
				 "from the previous page",
				 cursor);
	return true;
}

json_t *jobs_list(struct pool *pool, const struct jobs_filter *f, struct svc_error *err)
{
	char table[2 * IDENT_MAX + 2], why[256], limit[24];
	struct qualified_name qn;
	enum job_state state;
	const char *params[5];
	json_t *out = NULL, *jobs;
	PGresult *res = NULL;
	PGconn *conn = NULL;
	int i, n;

	if (f->table && !ident_parse_table(f->table, &qn, why, sizeof(why))) {
		svc_field(err, "table", "table: %s", why);
		return NULL;
	}
	if (f->state && !job_state_parse(f->state, &state)) {
		svc_field(err, "state",
			  "state '%.40s' is not one of queued, running, cancelling, succeeded, "
			  "failed, cancelled",
			  f->state);
		return NULL;
	}
	if (f->kind && (strlen(f->kind) > 64 || !*f->kind)) {
		svc_field(err, "kind", "kind must be 1-64 characters");
		return NULL;
	}
	if (!jobs_parse_cursor(f->cursor, err))
		return NULL;
	if (f->table)
		ident_format(&qn, table, sizeof(table));
	snprintf(limit, sizeof(limit), "%ld", f->limit + 1);
	params[0] = f->table ? table : NULL;
	params[1] = f->kind;
	params[2] = f->state;
	params[3] = f->cursor;
	params[4] = limit;

	if (!(conn = jobs_borrow(pool, err)))
		return NULL;
	res = db_exec(conn, sql_jobs_list, 5, params, err);
	if (!res)
		goto done;
	n = PQntuples(res);
	jobs = json_array();
	for (i = 0; i < n && i < f->limit; i++)
		json_array_append_new(jobs, job_to_json(res, i));
	out = json_pack("{s:o}", "jobs", jobs);
	json_object_set_new(out, "next_cursor",
			    n > f->limit ? json_string(db_get(res, (int)f->limit - 1, "id"))
					 : json_null());
done:
	PQclear(res);
	pool_return(pool, conn);
	return out;
}

static json_t *job_event_to_json(const PGresult *res, int row)
{
	const char *levels[] = {"info", "warning", "error"};
	json_t *ev = json_pack("{s:I, s:I}", "id", (json_int_t)db_get_int64(res, row, "id"),
			       "job_id", (json_int_t)db_get_int64(res, row, "job_id"));

	(void)levels;
	json_object_set_new(ev, "at", json_time_or_null(res, row, "at"));
	json_object_set_new(ev, "attempt", json_integer(db_get_int64(res, row, "attempt")));
	json_object_set_new(ev, "level", json_text_or_null(res, row, "level"));
	json_object_set_new(ev, "phase", json_text_or_null(res, row, "phase"));
	json_object_set_new(ev, "message", json_text_or_null(res, row, "message"));
	json_object_set_new(ev, "data", json_parsed_or_null(res, row, "data"));
	return ev;
}

json_t *jobs_events(struct pool *pool, int64_t id, const char *cursor, long limit,
		    struct svc_error *err)
{
	char idtext[24], limtext[24];
	const char *params[3] = {idtext, cursor, limtext};
	json_t *out = NULL, *events;
	PGresult *res = NULL;
	PGconn *conn = NULL;
	int i, n;

	if (!jobs_parse_cursor(cursor, err))
		return NULL;
	snprintf(idtext, sizeof(idtext), "%" PRId64, id);
	snprintf(limtext, sizeof(limtext), "%ld", limit + 1);
	if (!(conn = jobs_borrow(pool, err)))
		return NULL;
	res = db_exec(conn, sql_jobs_get, 1, params, err);
	if (res && PQntuples(res) == 0)
		svc_fail(err, SVC_NOT_FOUND, "no job has id %" PRId64, id);
	if (!res || PQntuples(res) == 0)
		goto done;
	PQclear(res);
	res = db_exec(conn, sql_jobs_events_list, 3, params, err);
	if (!res)
		goto done;
	n = PQntuples(res);
	events = json_array();
	for (i = 0; i < n && i < limit; i++)
		json_array_append_new(events, job_event_to_json(res, i));
	out = json_pack("{s:o}", "events", events);
	json_object_set_new(out, "next_cursor",
			    n > limit ? json_string(db_get(res, (int)limit - 1, "id")) : json_null());
done:
	PQclear(res);
	pool_return(pool, conn);
	return out;
}

json_t *jobs_cancel(struct pool *pool, int64_t id, const char *by, struct svc_error *err)
{
	char idtext[24];
	const char *params[2] = {idtext, by};
	json_t *job;

	snprintf(idtext, sizeof(idtext), "%" PRId64, id);
	job = jobs_fetch_one(pool, sql_jobs_cancel, 2, params, "", err);
	if (job || err->code != SVC_NOT_FOUND)
		return job;
	/* Nothing was cancelled: tell a missing job from a finished one. */
	svc_error_clear(err);
	job = jobs_get(pool, id, err);
	if (!job)
		return NULL;
	svc_fail(err, SVC_CONFLICT, "job %" PRId64 " already %s; there is nothing to cancel", id,
		 json_string_value(json_object_get(job, "state")));
	json_decref(job);
	return NULL;
}

json_t *jobs_counts(struct pool *pool, struct svc_error *err)
{
	PGconn *conn;
	PGresult *res;
	json_t *out = NULL;
	int i;

	if (!(conn = jobs_borrow(pool, err)))
		return NULL;
	res = db_exec(conn, sql_jobs_counts, 0, NULL, err);
	if (res) {
		out = json_array();
		for (i = 0; i < PQntuples(res); i++)
			json_array_append_new(out, json_pack("[s, s, I]", PQgetvalue(res, i, 0),
							     PQgetvalue(res, i, 1),
							     (json_int_t)strtoll(PQgetvalue(res, i, 2),
										 NULL, 10)));
	}
	PQclear(res);
	pool_return(pool, conn);
	return out;
}
