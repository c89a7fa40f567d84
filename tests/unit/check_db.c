/* db: the pure helpers, and what they do with a connection that is not open. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../service/db.h"
#include "suites.h"

static void expect_rfc3339(const char *pg, const char *want)
{
	char out[64];

	memset(out, 'x', sizeof(out));
	db_timestamp_rfc3339(pg, out, sizeof(out));
	ck_assert_str_eq(out, want);
}

START_TEST(test_timestamp_with_fraction)
{
	expect_rfc3339("2026-11-25 11:00:00.123+00", "2026-11-25T11:00:00.123Z");
	expect_rfc3339("2026-11-25 11:00:00.123456+00", "2026-11-25T11:00:00.123456Z");
}
END_TEST

START_TEST(test_timestamp_without_fraction)
{
	expect_rfc3339("2026-11-25 11:00:00+00", "2026-11-25T11:00:00Z");
	expect_rfc3339("1999-12-31 23:59:59+00", "1999-12-31T23:59:59Z");
}
END_TEST

START_TEST(test_timestamp_small_buffer_is_safe)
{
	char out[12];

	memset(out, 'x', sizeof(out));
	db_timestamp_rfc3339("2026-11-25 11:00:00+00", out, sizeof(out));
	ck_assert_str_eq(out, "2026-11-25T");
}
END_TEST

/*
 * A cancel that cannot be sent (no connection) is logged with the
 * statement's name and, when the wait is a job's, the job_id field.
 */
static void cancel_log_line(int64_t job_id, char *line, size_t len)
{
	PGconn *conn = PQconnectdb("host=/nonexistent-partd-test port=1 connect_timeout=1");
	struct db_wait w = {.conn = conn, .what = "the test's statement", .job_id = job_id};
	FILE *log = tmpfile();
	int saved = dup(STDERR_FILENO);

	ck_assert_ptr_nonnull(log);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(PQstatus(conn), CONNECTION_BAD);
	fflush(stderr);
	ck_assert_int_ge(dup2(fileno(log), STDERR_FILENO), 0);
	db_wait_cancel(&w);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	ck_assert(w.cancel_at > 0);
	rewind(log);
	ck_assert_ptr_nonnull(fgets(line, (int)len, log));
	fclose(log);
	PQfinish(conn);
}

START_TEST(test_failed_cancel_names_the_job)
{
	char line[1024];

	cancel_log_line(42, line, sizeof(line));
	ck_assert_ptr_nonnull(strstr(line, "\"level\":\"warn\""));
	ck_assert_ptr_nonnull(strstr(line, "could not cancel the test's statement: "));
	ck_assert_ptr_nonnull(strstr(line, "\"job_id\":42"));
	cancel_log_line(0, line, sizeof(line));
	ck_assert_ptr_nonnull(strstr(line, "could not cancel the test's statement: "));
	ck_assert_ptr_null(strstr(line, "job_id"));
}
END_TEST

Suite *db_suite(void)
{
	Suite *s = suite_create("db");
	TCase *tc = tcase_create("timestamp");

	tcase_add_test(tc, test_timestamp_with_fraction);
	tcase_add_test(tc, test_timestamp_without_fraction);
	tcase_add_test(tc, test_timestamp_small_buffer_is_safe);
	tcase_add_test(tc, test_failed_cancel_names_the_job);
	suite_add_tcase(s, tc);
	return s;
}
