/* calendar: day numbers, intervals, partition names, bounds, ages. */
#include <string.h>

#include "../../service/calendar.h"
#include "suites.h"

START_TEST(test_day_numbers_round_trip)
{
	int y, m, d;
	long day;

	ck_assert_int_eq(calendar_day(1970, 1, 1), 0);
	ck_assert_int_eq(calendar_day(2000, 3, 1) - calendar_day(2000, 2, 28), 2); /* leap */
	ck_assert_int_eq(calendar_day(2100, 3, 1) - calendar_day(2100, 2, 28), 1); /* not leap */
	for (day = -800000; day < 800000; day += 997) {
		calendar_ymd(day, &y, &m, &d);
		ck_assert_int_eq(calendar_day(y, m, d), day);
	}
}
END_TEST

START_TEST(test_parse_date_is_strict)
{
	long day;

	ck_assert(calendar_parse_date("2026-11-25", &day));
	ck_assert_int_eq(day, calendar_day(2026, 11, 25));
	ck_assert(calendar_parse_date("2024-02-29", &day));
	ck_assert(!calendar_parse_date("2026-02-29", &day));
	ck_assert(!calendar_parse_date("2026-02-30", &day));
	ck_assert(!calendar_parse_date("2026-13-01", &day));
	ck_assert(!calendar_parse_date("2026-1-01", &day));
	ck_assert(!calendar_parse_date("2026-01-01x", &day));
	ck_assert(!calendar_parse_date("", &day));
}
END_TEST

START_TEST(test_bounds_from_the_catalog)
{
	bool aligned;
	long day;

	ck_assert(calendar_parse_bound("2027-01-01", &day, &aligned));
	ck_assert(aligned);
	ck_assert(calendar_parse_bound("2027-01-01 00:00:00", &day, &aligned));
	ck_assert(aligned);
	ck_assert(calendar_parse_bound("2027-01-01 00:00:00+00", &day, &aligned));
	ck_assert(aligned);
	ck_assert_int_eq(day, calendar_day(2027, 1, 1));
	ck_assert(calendar_parse_bound("2027-01-01 06:30:00", &day, &aligned));
	ck_assert(!aligned);
	ck_assert(!calendar_parse_bound("MAXVALUE", &day, &aligned));
}
END_TEST

START_TEST(test_intervals)
{
	long jan31 = calendar_day(2027, 1, 31), dec = calendar_day(2026, 12, 1);

	ck_assert_int_eq(interval_start(INTERVAL_MONTH, jan31), calendar_day(2027, 1, 1));
	ck_assert_int_eq(interval_start(INTERVAL_DAY, jan31), jan31);
	ck_assert_int_eq(interval_add(INTERVAL_MONTH, dec, 1), calendar_day(2027, 1, 1));
	ck_assert_int_eq(interval_add(INTERVAL_MONTH, dec, 14), calendar_day(2028, 2, 1));
	ck_assert_int_eq(interval_add(INTERVAL_MONTH, dec, -12), calendar_day(2025, 12, 1));
	ck_assert_int_eq(interval_add(INTERVAL_DAY, dec, 31), calendar_day(2027, 1, 1));
}
END_TEST

START_TEST(test_partition_names)
{
	char name[64], parent[80];

	interval_partition_name(INTERVAL_MONTH, "platform_analytics", calendar_day(2027, 3, 1), name,
				sizeof(name));
	ck_assert_str_eq(name, "platform_analytics_2027_03");
	interval_partition_name(INTERVAL_DAY, "ev", calendar_day(2027, 3, 9), name, sizeof(name));
	ck_assert_str_eq(name, "ev_2027_03_09");
	memset(parent, 'p', 63);
	parent[63] = '\0';
	interval_partition_name(INTERVAL_MONTH, parent, calendar_day(2027, 3, 1), name, sizeof(name));
	ck_assert_uint_eq(strlen(name), 63); /* the parent is cut, the suffix kept */
	ck_assert_str_eq(name + 55, "_2027_03");
}
END_TEST

START_TEST(test_ages)
{
	int months = -1, days = -1;

	ck_assert(calendar_parse_age("3 months", &months, &days));
	ck_assert_int_eq(months, 3);
	ck_assert_int_eq(days, 0);
	ck_assert(calendar_parse_age("1 year", &months, &days));
	ck_assert_int_eq(months, 12);
	ck_assert(calendar_parse_age("90 days", &months, &days));
	ck_assert_int_eq(days, 90);
	ck_assert_int_eq(months, 0);
	ck_assert(!calendar_parse_age("3 fortnights", &months, &days));
	ck_assert(!calendar_parse_age("soon", &months, &days));
	ck_assert(!calendar_parse_age("-1 months", &months, &days));
	ck_assert(!calendar_parse_age("3 months ago", &months, &days));
	/* 31 May minus 3 months is 28 Feb: clamped, not rolled into March. */
	ck_assert_int_eq(calendar_sub_age(calendar_day(2027, 5, 31), 3, 0), calendar_day(2027, 2, 28));
	ck_assert_int_eq(calendar_sub_age(calendar_day(2027, 1, 10), 0, 10), calendar_day(2026, 12, 31));
}
END_TEST

START_TEST(test_interval_names)
{
	enum interval_unit u;

	ck_assert(interval_unit_parse("month", &u) && u == INTERVAL_MONTH);
	ck_assert(interval_unit_parse("day", &u) && u == INTERVAL_DAY);
	ck_assert(!interval_unit_parse("week", &u));
	ck_assert_str_eq(interval_unit_name(INTERVAL_DAY), "day");
}
END_TEST

Suite *calendar_suite(void)
{
	Suite *s = suite_create("calendar");
	TCase *tc = tcase_create("calendar");

	tcase_add_test(tc, test_day_numbers_round_trip);
	tcase_add_test(tc, test_parse_date_is_strict);
	tcase_add_test(tc, test_bounds_from_the_catalog);
	tcase_add_test(tc, test_intervals);
	tcase_add_test(tc, test_partition_names);
	tcase_add_test(tc, test_ages);
	tcase_add_test(tc, test_interval_names);
	suite_add_tcase(s, tc);
	return s;
}
