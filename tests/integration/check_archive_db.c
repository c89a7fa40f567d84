/*
 * Archive COPY against a real PostgreSQL (DATABASE_URL): what is written
 * reads back the same, and a stop ends a COPY early on the server (while
 * rows stream, while the COPY waits for a lock, and into a table) leaving
 * no file, no rows and a connection that still works; a COPY that fails
 * while it is being stopped is reported as the failure it is.
 */
#include <check.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

#include "../../service/archive.h"
#include "suites.h"

static PGconn *connect_db(void)
{
	PGconn *c = PQconnectdb(itest_url());

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	return c;
}

static void exec_ok(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);

	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
		      "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
}

static long long count_of(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	long long n;

	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	n = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	return n;
}

/* Says stop once it has been asked more than *arg times. */
static bool stop_after(void *arg)
{
	int *left = arg;

	return --*left < 0;
}

/* Says stop once the COPY has counted 5,000 rows (arg: its archive_stats). */
static bool stop_at_5000_rows(void *arg)
{
	const struct archive_stats *st = arg;

	return st->rows >= 5000;
}

/* The connection is idle and answers, after whatever the COPY went through. */
static void assert_usable(PGconn *c)
{
	ck_assert_int_eq(PQtransactionStatus(c), PQTRANS_IDLE);
	ck_assert_int_eq(count_of(c, "SELECT 41 + 1"), 42);
}

static void temp_path(char *path, size_t n, const char *what)
{
	snprintf(path, n, "/tmp/partd-arcdb-%s-%ld.csv.gz", what, (long)getpid());
}

/* An archive's path (char[128]) and the temp file it is written to first (char[160]). */
static void temp_paths(char *path, char *tmp, const char *what)
{
	temp_path(path, 128, what);
	snprintf(tmp, 160, "%s.tmp", path);
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* Neither the archive nor its temp file is there. */
static void assert_gone(const char *path, const char *tmp)
{
	ck_assert_msg(!exists(path), "%s is there", path);
	ck_assert_msg(!exists(tmp), "%s is there", tmp);
}

#define ROWS_SQL(n)                                                                                \
	"COPY (SELECT g, 'row ' || g, CASE WHEN g % 3 = 0 THEN E'two\\nlines, \"q\"' END "         \
	"FROM generate_series(1, " #n ") g) TO STDOUT (FORMAT csv)"

/*
 * 100 million rows, streamed as the server makes them (a set-returning
 * function in the select list is not materialized first): a minute or more
 * to read to the end, so only a cancel on the server ends it in seconds.
 */
#define STREAM_SQL                                                                                 \
	"COPY (SELECT g, 'row ' || g FROM (SELECT generate_series(1, 100000000) AS g) s) TO "      \
	"STDOUT (FORMAT csv)"

START_TEST(test_written_reads_back)
{
	PGconn *c = connect_db();
	char path[128], why[512];
	struct archive_stats w, r, h;

	temp_path(path, sizeof(path), "whole");
	ck_assert_msg(archive_copy_out(c, ROWS_SQL(20000), path, 1, NULL, &w, why, sizeof(why)),
		      "%s", why);
	ck_assert_int_eq(w.rows, 20000);
	ck_assert(!w.stopped);
	ck_assert_int_gt(w.file_bytes, 0);
	ck_assert_msg(archive_read(path, NULL, &r, why, sizeof(why)), "%s", why);
	ck_assert_int_eq(r.rows, 20000);
	ck_assert_str_eq(r.sha256, w.sha256);
	/* Hashing only (no file) gives the same digest. */
	ck_assert_msg(archive_copy_out(c, ROWS_SQL(20000), NULL, 1, NULL, &h, why, sizeof(why)),
		      "%s", why);
	ck_assert_str_eq(h.sha256, w.sha256);
	ck_assert_int_eq(unlink(path), 0);
	assert_usable(c);
	PQfinish(c);
}
END_TEST

START_TEST(test_stop_while_rows_stream)
{
	PGconn *c = connect_db();
	char path[128], tmp[160], why[512];
	struct archive_stats st;
	struct archive_stop stop = {.requested = stop_at_5000_rows, .arg = &st};
	double t0 = itest_now_s();

	temp_paths(path, tmp, "stream");
	ck_assert(!archive_copy_out(c, STREAM_SQL, path, 1, &stop, &st, why, sizeof(why)));
	ck_assert_msg(st.stopped, "%s", why);
	ck_assert_int_ge(st.rows, 5000);
	ck_assert_int_le(st.rows, 5120); /* asked every 1024 rows at the latest */
	ck_assert_msg(strstr(why, "stopped after") && strstr(why, "removed"), "%s", why);
	ck_assert_msg(itest_now_s() - t0 < 2.0, "took %.2f s", itest_now_s() - t0);
	assert_gone(path, tmp);
	assert_usable(c);
	PQfinish(c);
}
END_TEST

/* Says stop once the COPY is done and hashed: while its file is read back. */
static bool stop_once_hashed(void *arg)
{
	const struct archive_stats *st = arg;

	return st->sha256[0] != '\0';
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	fclose(f);
}

START_TEST(test_stop_while_reading_back_keeps_the_old_file)
{
	PGconn *c = connect_db();
	char path[128], tmp[160], why[512], old[64] = "";
	struct archive_stats st;
	struct archive_stop stop = {.requested = stop_once_hashed, .arg = &st};
	FILE *f;

	temp_paths(path, tmp, "readback");
	write_file(path, "the old archive");
	ck_assert(!archive_copy_out(c, ROWS_SQL(200000), path, 1, &stop, &st, why, sizeof(why)));
	ck_assert(st.stopped);
	ck_assert_int_eq(st.rows, 200000); /* the COPY was whole; its check was not */
	ck_assert_msg(strstr(why, "stopped reading") && strstr(why, "removed"), "%s", why);
	ck_assert(!exists(tmp));
	/* What was under the archive's name is untouched: only a checked file goes there. */
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(old, sizeof(old), f));
	fclose(f);
	ck_assert_str_eq(old, "the old archive");
	unlink(path);
	assert_usable(c);
	PQfinish(c);
}
END_TEST

/* At 5,000 rows, ends the COPY's backend from another session, then says stop. */
struct kill_at_5000 {
	const struct archive_stats *st;
	int pid;
};

static bool kill_then_stop(void *arg)
{
	struct kill_at_5000 *k = arg;
	char sql[160];
	PGconn *other;

	if (k->st->rows < 5000)
		return false;
	if (k->pid) {
		other = connect_db();
		snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d, 5000)::int", k->pid);
		ck_assert_int_eq(count_of(other, sql), 1); /* gone within 5 s */
		PQfinish(other);
		k->pid = 0;
	}
	return true;
}

/*
 * A COPY that fails some other way while it is being stopped (its backend
 * terminated) is a failure, not a stop: the caller must not take the
 * connection's loss for a clean cancel.
 */
START_TEST(test_failure_while_stopping_is_not_a_stop)
{
	PGconn *c = connect_db();
	char path[128], tmp[160], why[512];
	struct archive_stats st;
	struct kill_at_5000 k = {&st, PQbackendPID(c)};
	struct archive_stop stop = {.requested = kill_then_stop, .arg = &k};

	temp_paths(path, tmp, "killed");
	ck_assert(!archive_copy_out(c, STREAM_SQL, path, 1, &stop, &st, why, sizeof(why)));
	ck_assert_int_eq(k.pid, 0);
	ck_assert_msg(!st.stopped, "%s", why);
	ck_assert_msg(strstr(why, "COPY failed while stopping: ") && strstr(why, "terminat"), "%s",
		      why);
	assert_gone(path, tmp);
	ck_assert_int_eq(PQstatus(c), CONNECTION_BAD);
	PQfinish(c);
}
END_TEST

START_TEST(test_write_failure_cancels_the_copy)
{
	PGconn *c = connect_db();
	char path[128], tmp[160], why[512];
	struct archive_stats st;
	struct rlimit before, small;
	double t0;

	/* Files of this process stop at 256 kB: a write past it fails (EFBIG), like a full disk. */
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &before), 0);
	small = before;
	small.rlim_cur = 256 * 1024;
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
	temp_paths(path, tmp, "efbig");
	t0 = itest_now_s();
	ck_assert(!archive_copy_out(c,
				    "COPY (SELECT g, md5(g::text) FROM (SELECT generate_series(1, "
				    "100000000) AS g) s) TO STDOUT (FORMAT csv)",
				    path, 1, NULL, &st, why, sizeof(why)));
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &before), 0);
	ck_assert(!st.stopped);
	ck_assert_msg(strstr(why, "cannot write") && strstr(why, tmp), "%s", why);
	/* Cancelled on the server, not read to its end (minutes). */
	ck_assert_msg(itest_now_s() - t0 < 5.0, "took %.2f s", itest_now_s() - t0);
	assert_gone(path, tmp);
	assert_usable(c);
	PQfinish(c);
}
END_TEST

START_TEST(test_stop_while_waiting_for_a_lock)
{
	PGconn *c = connect_db(), *holder = connect_db();
	char path[128], tmp[160], why[512];
	struct archive_stats st;
	int asks = 3; /* ~300 ms of waiting */
	struct archive_stop stop = {.requested = stop_after, .arg = &asks};
	double t0;

	exec_ok(holder, "DROP TABLE IF EXISTS arcdb_locked; CREATE TABLE arcdb_locked AS "
			"SELECT g FROM generate_series(1, 10) g");
	exec_ok(holder, "BEGIN; LOCK TABLE arcdb_locked IN ACCESS EXCLUSIVE MODE");
	temp_paths(path, tmp, "lock");
	t0 = itest_now_s();
	ck_assert(!archive_copy_out(c, "COPY (SELECT g FROM arcdb_locked) TO STDOUT (FORMAT csv)",
				    path, 1, &stop, &st, why, sizeof(why)));
	ck_assert(st.stopped);
	ck_assert_int_eq(st.rows, 0);
	ck_assert_msg(itest_now_s() - t0 < 2.0, "took %.2f s", itest_now_s() - t0);
	assert_gone(path, tmp);
	assert_usable(c);
	exec_ok(holder, "ROLLBACK");
	/* Not asked to stop, the same COPY runs once the lock is gone. */
	asks = 1000;
	ck_assert_msg(archive_copy_out(c,
				       "COPY (SELECT g FROM arcdb_locked) TO STDOUT (FORMAT csv)",
				       NULL, 1, &stop, &st, why, sizeof(why)),
		      "%s", why);
	ck_assert_int_eq(st.rows, 10);
	exec_ok(holder, "DROP TABLE arcdb_locked");
	PQfinish(holder);
	PQfinish(c);
}
END_TEST

START_TEST(test_stop_while_restoring)
{
	PGconn *c = connect_db();
	char path[128], why[512];
	struct archive_stats w, in;
	int asks = 1; /* one chunk in, then stop */
	struct archive_stop stop = {.requested = stop_after, .arg = &asks};

	temp_path(path, sizeof(path), "restore");
	ck_assert_msg(archive_copy_out(c, ROWS_SQL(200000), path, 1, NULL, &w, why, sizeof(why)),
		      "%s", why);
	exec_ok(c, "DROP TABLE IF EXISTS arcdb_restored; "
		   "CREATE TABLE arcdb_restored (g int, label text, note text)");
	ck_assert(!archive_copy_in(c, "COPY arcdb_restored FROM STDIN (FORMAT csv)", path, &stop,
				   &in, why, sizeof(why)));
	ck_assert(in.stopped);
	ck_assert_int_gt(in.rows, 0); /* some rows went, and none of them stayed */
	ck_assert_int_eq(count_of(c, "SELECT count(*) FROM arcdb_restored"), 0);
	assert_usable(c);
	/* Not stopped: every row. */
	ck_assert_msg(archive_copy_in(c, "COPY arcdb_restored FROM STDIN (FORMAT csv)", path, NULL,
				      &in, why, sizeof(why)),
		      "%s", why);
	ck_assert_int_eq(count_of(c, "SELECT count(*) FROM arcdb_restored"), 200000);
	ck_assert_str_eq(in.sha256, w.sha256);
	exec_ok(c, "DROP TABLE arcdb_restored");
	unlink(path);
	PQfinish(c);
}
END_TEST

Suite *archive_db_suite(void)
{
	Suite *s = suite_create("archive COPY (real PostgreSQL)");
	TCase *tc = tcase_create("archive");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_written_reads_back);
	tcase_add_test(tc, test_stop_while_rows_stream);
	tcase_add_test(tc, test_failure_while_stopping_is_not_a_stop);
	tcase_add_test(tc, test_stop_while_reading_back_keeps_the_old_file);
	tcase_add_test(tc, test_write_failure_cancels_the_copy);
	tcase_add_test(tc, test_stop_while_waiting_for_a_lock);
	tcase_add_test(tc, test_stop_while_restoring);
	suite_add_tcase(s, tc);
	return s;
}
