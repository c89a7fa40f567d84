#include "ddl.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "embed.h"
#include "strbuf.h"

/* Records who holds locks on oids, with the retry about to happen. */
static void ddl_report_holders(struct job_ctx *ctx, const char *what, bool deadlock, int attempt,
			       long wait_ms, const unsigned int *oids, size_t noids)
{
	struct svc_error err = {0};
	json_t *holders = json_array();
	const char *params[1];
	PGresult *res;
	strbuf list;
	size_t i;
	int r;

	strbuf_init(&list);
	strbuf_puts(&list, "{");
	for (i = 0; i < noids; i++)
		strbuf_printf(&list, "%s%u", i ? "," : "", oids[i]);
	strbuf_puts(&list, "}");
	params[0] = list.data;
	if ((res = db_exec(job_conn(ctx), sql_lock_holders, 1, params, &err)) != NULL) {
		for (r = 0; r < PQntuples(res); r++) {
			const char *age = db_get(res, r, "xact_age_s");
			json_array_append_new(
				holders, json_pack("{s:i, s:s, s:s?, s:s?, s:o?}", "pid",
						   atoi(PQgetvalue(res, r, 0)), "mode", PQgetvalue(res, r, 1),
						   "state", db_get(res, r, "state"), "query",
						   db_get(res, r, "query"), "xact_age_s",
						   age ? json_integer(atoll(age)) : NULL));
		}
		PQclear(res);
	}
	strbuf_free(&list);
	if (deadlock)
		job_event(ctx, JOB_EVENT_WARNING, json_pack("{s:o}", "lock_holders", holders),
			  "%s: deadlock with another session (PostgreSQL aborted ours) in attempt "
			  "%d of %d; retrying in %ld ms",
			  what, attempt, DDL_ATTEMPTS, wait_ms);
	else
		job_event(ctx, JOB_EVENT_WARNING, json_pack("{s:o}", "lock_holders", holders),
			  "%s: lock_timeout (%ld ms) reached in attempt %d of %d; retrying in %ld ms",
			  what, job_lock_timeout_ms(ctx), attempt, DDL_ATTEMPTS, wait_ms);
}

/*
 * One try: a transaction string sent as one round trip, or (alone) one
 * statement that refuses a transaction block, under a session-level
 * lock_timeout that is reset whatever happens.
 */
static bool ddl_try(PGconn *conn, const char *sql, bool alone, long lock_timeout_ms,
		    struct svc_error *err)
{
	PGresult *res;
	char set[64];
	bool ok;

	if (!alone) {
		if ((res = db_exec(conn, sql, 0, NULL, err)) != NULL) {
			PQclear(res);
			return true;
		}
		PQclear(PQexec(conn, "ROLLBACK"));
		return false;
	}
	snprintf(set, sizeof(set), "SET lock_timeout = %ld", lock_timeout_ms);
	ok = (res = db_exec(conn, set, 0, NULL, err)) != NULL;
	PQclear(res);
	if (ok) {
		ok = (res = db_exec(conn, sql, 0, NULL, err)) != NULL;
		PQclear(res);
	}
	PQclear(PQexec(conn, "RESET lock_timeout"));
	return ok;
}

static bool ddl_run(struct job_ctx *ctx, const char *what, const char *const *stmts, size_t n,
		    const unsigned int *oids, size_t noids, bool through_cancel, bool alone,
		    struct svc_error *err)
{
	PGconn *conn = job_conn(ctx);
	strbuf sql;
	bool ok = false;
	size_t i;
	int attempt;

	strbuf_init(&sql);
	if (alone) {
		strbuf_puts(&sql, stmts[0]);
	} else {
		strbuf_printf(&sql, "BEGIN; SET LOCAL lock_timeout = %ld", job_lock_timeout_ms(ctx));
		for (i = 0; i < n; i++)
			strbuf_printf(&sql, ";\n%s", stmts[i]);
		strbuf_puts(&sql, ";\nCOMMIT");
	}
	if (sql.failed) {
		strbuf_free(&sql);
		return svc_fail(err, SVC_INTERNAL, "out of memory");
	}
	for (attempt = 1; attempt <= DDL_ATTEMPTS; attempt++) {
		long wait_ms;

		if (ddl_try(conn, sql.data, alone, job_lock_timeout_ms(ctx), err)) {
			ok = true;
			break;
		}
		/* A deadlock with the application's writes is retried like a lock wait. */
		if (!ddl_retryable(err->sqlstate) || attempt == DDL_ATTEMPTS)
			break;
		wait_ms = ddl_backoff_ms(attempt);
		ddl_report_holders(ctx, what, strcmp(err->sqlstate, "40P01") == 0, attempt, wait_ms,
				   oids, noids);
		if (!(through_cancel ? job_sleep_through_cancel_ms(ctx, wait_ms)
				     : job_sleep_ms(ctx, wait_ms)))
			break;
		svc_error_clear(err);
	}
	strbuf_free(&sql);
	return ok;
}

bool ddl_retryable(const char *sqlstate)
{
	return sqlstate && (strcmp(sqlstate, "55P03") == 0 || strcmp(sqlstate, "40P01") == 0);
}

long ddl_backoff_ms(int attempt)
{
	return (100L << (attempt < 6 ? attempt : 6)) + rand() % 250;
}

bool ddl_transaction(struct job_ctx *ctx, const char *what, const char *const *stmts, size_t n,
		     const unsigned int *oids, size_t noids, struct svc_error *err)
{
	return ddl_run(ctx, what, stmts, n, oids, noids, false, false, err);
}

bool ddl_cleanup_transaction(struct job_ctx *ctx, const char *what, const char *const *stmts,
			     size_t n, const unsigned int *oids, size_t noids, struct svc_error *err)
{
	return ddl_run(ctx, what, stmts, n, oids, noids, true, false, err);
}

bool ddl_statement_alone(struct job_ctx *ctx, const char *what, const char *sql,
			 const unsigned int *oids, size_t noids, struct svc_error *err)
{
	return ddl_run(ctx, what, &sql, 1, oids, noids, false, true, err);
}
