#include "db.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "log.h"

static _Thread_local char db_constraint[64];

/* Server NOTICEs go to the JSON log, never raw to stderr. */
static void db_notice(void *arg, const char *message)
{
	char line[512];

	(void)arg;
	snprintf(line, sizeof(line), "%s", message);
	line[strcspn(line, "\n")] = '\0';
	LOG_DEBUG(NULL, "postgres: %s", line);
}

PGconn *db_connect(const char *conninfo, const char *application_name, long statement_timeout_ms,
		   char *err, size_t errlen)
{
	/*
	 * TCP keepalives and a user timeout first, so that DATABASE_URL may set
	 * its own: a peer gone without a word (a network cut, a host lost) ends
	 * the session in about a minute, whether it waited for an answer (the
	 * keepalives) or for its own data to be acknowledged (the user timeout),
	 * instead of the kernel's two hours or fifteen minutes.
	 */
	const char *keys[] = {"keepalives",       "keepalives_idle",  "keepalives_interval",
			      "keepalives_count", "tcp_user_timeout", "dbname",
			      "application_name", "connect_timeout",  NULL};
	const char *vals[] = {"1", "30", "10", "3", "60000", conninfo, application_name, "5", NULL};
	char timeout[32];
	const char *params[1];
	struct svc_error e = {0};
	PGresult *res;
	PGconn *conn;

	conn = PQconnectdbParams(keys, vals, 1);
	if (!conn) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		snprintf(err, errlen, "%s", PQerrorMessage(conn));
		err[strcspn(err, "\n")] = '\0';
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, db_notice, NULL);
	snprintf(timeout, sizeof(timeout), "%ld", statement_timeout_ms);
	params[0] = timeout;
	res = db_exec(conn,
		      "SELECT pg_catalog.set_config('search_path', '', false),"
		      " pg_catalog.set_config('TimeZone', 'UTC', false),"
		      " pg_catalog.set_config('DateStyle', 'ISO', false),"
		      " pg_catalog.set_config('statement_timeout', $1, false)",
		      1, params, &e);
	if (!res) {
		snprintf(err, errlen, "%s", e.detail);
		PQfinish(conn);
		return NULL;
	}
	PQclear(res);
	return conn;
}

bool db_alive(PGconn *conn)
{
	PGresult *res;
	bool alive;

	if (PQstatus(conn) != CONNECTION_OK)
		return false;
	res = PQexec(conn, "");
	alive = PQresultStatus(res) == PGRES_EMPTY_QUERY;
	PQclear(res);
	return alive && PQstatus(conn) == CONNECTION_OK;
}

PGresult *db_exec(PGconn *conn, const char *sql, int nparams, const char *const *params,
		  struct svc_error *err)
{
	PGresult *res;
	const char *constraint;
	ExecStatusType st;

	db_constraint[0] = '\0';
	res = nparams > 0 ? PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0)
			  : PQexec(conn, sql);
	st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;

	constraint = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
	snprintf(db_constraint, sizeof(db_constraint), "%s", constraint ? constraint : "");
	db_result_fail(conn, res, err, NULL);
	PQclear(res);
	return NULL;
}

bool db_result_fail(PGconn *conn, const PGresult *res, struct svc_error *err,
		    const char *context)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", state ? state : "");
	snprintf(err->detail, sizeof(err->detail), "%s%s%s", context ? context : "",
		 context ? ": " : "",
		 res && PQresultErrorMessage(res)[0] ? PQresultErrorMessage(res)
						     : PQerrorMessage(conn));
	err->detail[strcspn(err->detail, "\n")] = '\0';
	/* A lost connection or a statement cut short by statement_timeout is
	 * worth retrying; anything else is partd's or the database's fault. */
	err->code = db_error_is_connection(conn, err) || strcmp(err->sqlstate, "57014") == 0
			    ? SVC_UNAVAILABLE
			    : SVC_INTERNAL;
	return false;
}

char *db_ident(PGconn *conn, const char *s)
{
	return PQescapeIdentifier(conn, s, strlen(s));
}

bool db_cancel(PGconn *conn, char *why, size_t whylen)
{
	PGcancel *c = PQgetCancel(conn);
	bool sent;

	if (!c) {
		snprintf(why, whylen, "no cancel handle (the connection is not open)");
		return false;
	}
	sent = PQcancel(c, why, (int)whylen) == 1;
	PQfreeCancel(c);
	return sent;
}

void db_wait_cancel(struct db_wait *w)
{
	char why[256];

	if (monotonic_ms() - w->cancel_at < 1000)
		return;
	if (!db_cancel(w->conn, why, sizeof(why)))
		LOG_WARN(w->job_id ? json_pack("{s:I}", "job_id", (json_int_t)w->job_id) : NULL,
			 "could not cancel %s: %s", w->what, why);
	w->cancel_at = monotonic_ms();
}

bool db_wait_input(struct db_wait *w, bool cancel)
{
	struct pollfd pfd = {.fd = PQsocket(w->conn), .events = POLLIN};

	if (cancel)
		db_wait_cancel(w);
	(void)poll(&pfd, 1, 100);
	return PQconsumeInput(w->conn) == 1;
}

bool db_error_is_connection(PGconn *conn, const struct svc_error *err)
{
	return PQstatus(conn) == CONNECTION_BAD || err->sqlstate[0] == '\0' ||
	       strncmp(err->sqlstate, "08", 2) == 0 || strncmp(err->sqlstate, "57P", 3) == 0;
}

const char *db_last_constraint(void)
{
	return db_constraint;
}

const char *db_get(const PGresult *res, int row, const char *col)
{
	int c = PQfnumber(res, col);

	if (c < 0 || row >= PQntuples(res) || PQgetisnull(res, row, c))
		return NULL;
	return PQgetvalue(res, row, c);
}

int64_t db_get_int64(const PGresult *res, int row, const char *col)
{
	const char *v = db_get(res, row, col);

	return v ? strtoll(v, NULL, 10) : 0;
}

bool db_get_bool(const PGresult *res, int row, const char *col)
{
	const char *v = db_get(res, row, col);

	return v && v[0] == 't';
}

void db_timestamp_rfc3339(const char *pg, char *out, size_t outlen)
{
	size_t n = strlen(pg);

	/* With TimeZone UTC the server always ends the value in "+00". */
	if (n > 3 && strcmp(pg + n - 3, "+00") == 0)
		n -= 3;
	snprintf(out, outlen, "%.*sZ", (int)n, pg);
	if (strlen(out) > 10 && out[10] == ' ')
		out[10] = 'T';
}
