/*
 * db: libpq helpers shared by the pool, the workers and the services.
 * Every connection partd opens has search_path '' (so every name in
 * partd's SQL is schema-qualified), TimeZone UTC and DateStyle ISO.
 */
#ifndef PARTD_DB_H
#define PARTD_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "svc.h"

/*
 * Opens a session. statement_timeout_ms 0 means none. On error, NULL is
 * returned and err holds libpq's message.
 */
PGconn *db_connect(const char *conninfo, const char *application_name, long statement_timeout_ms,
		   char *err, size_t errlen);

/*
 * Runs sql with text parameters (NULL entries are SQL NULL). Returns the
 * result when it is TUPLES_OK or COMMAND_OK; the caller PQclears it. On
 * error, NULL is returned and err is filled: SVC_UNAVAILABLE when the
 * connection is gone, else SVC_INTERNAL, with the SQLSTATE.
 */
/*
 * Whether conn still answers: one empty round trip, no statement to plan.
 * A session the server ended while it sat idle reads CONNECTION_OK until
 * its next I/O; this is that I/O.
 */
bool db_alive(PGconn *conn);
PGresult *db_exec(PGconn *conn, const char *sql, int nparams, const char *const *params,
		  struct svc_error *err);

/*
 * Fills err from a failed result (res may be NULL) of conn, as db_exec
 * does: SQLSTATE, the first line of the message after "context: " (when
 * context is not NULL), and SVC_UNAVAILABLE for a lost connection or a
 * statement_timeout, SVC_INTERNAL otherwise. Does not clear res. False.
 */
bool db_result_fail(PGconn *conn, const PGresult *res, struct svc_error *err,
		    const char *context);

/* s as a quoted identifier (PQescapeIdentifier: free with PQfreemem); NULL when out of memory. */
char *db_ident(PGconn *conn, const char *s);

/*
 * Asks the server to cancel the statement conn is running (PQcancel, on a
 * new connection of its own). False, and why says what failed, when the
 * request could not be sent. A cancel that reaches the server before the
 * statement starts, or after it ends, is dropped: a caller that must stop a
 * statement sends it again while the statement runs.
 */
bool db_cancel(PGconn *conn, char *why, size_t whylen);

/*
 * Waiting for a statement sent asynchronously (PQsendQuery...) that a stop
 * may cancel: what names it in the log when a cancel cannot be sent, and
 * job_id, when not 0, goes with it as the log line's job_id field.
 */
struct db_wait {
	PGconn *conn;
	const char *what;
	int64_t job_id;
	double cancel_at; /* when the last cancel went (monotonic ms); 0: none yet */
};

/*
 * With cancel, asks the server to cancel w's statement, again every second
 * while it runs (db_cancel says why); then waits up to 100 ms for input
 * and reads it (PQconsumeInput). False when the connection failed.
 */
bool db_wait_input(struct db_wait *w, bool cancel);
/* The cancel half alone, for a caller that reads input without waiting (a COPY's rows). */
void db_wait_cancel(struct db_wait *w);

/* True when err came from a lost connection (SQLSTATE class 08 or none). */
bool db_error_is_connection(PGconn *conn, const struct svc_error *err);

/* The constraint a failed statement violated, from the last db_exec error. */
const char *db_last_constraint(void);

/* Column helpers by name; NULL/0 when the column is missing or SQL NULL. */
const char *db_get(const PGresult *res, int row, const char *col);
int64_t db_get_int64(const PGresult *res, int row, const char *col);
bool db_get_bool(const PGresult *res, int row, const char *col);

/* "2026-11-25 11:00:00.123+00" (ISO, UTC) -> "2026-11-25T11:00:00.123Z". */
void db_timestamp_rfc3339(const char *pg, char *out, size_t outlen);

#endif
