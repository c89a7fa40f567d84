/* db: the pure helpers (no connection). */
#include <string.h>

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

Suite *db_suite(void)
{
	Suite *s = suite_create("db");
	TCase *tc = tcase_create("timestamp");

	tcase_add_test(tc, test_timestamp_with_fraction);
	tcase_add_test(tc, test_timestamp_without_fraction);
	tcase_add_test(tc, test_timestamp_small_buffer_is_safe);
	suite_add_tcase(s, tc);
	return s;
}
