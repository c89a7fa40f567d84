/* copy: which ranges of the online copy go with ON CONFLICT DO NOTHING. */
#include "../../service/copy.h"
#include "suites.h"

/* How many of the next n new ranges take the clause. */
static int taken(struct copy_conflicts *k, int n)
{
	int i, t = 0;

	for (i = 0; i < n; i++)
		t += copy_conflicts_take(k);
	return t;
}

START_TEST(test_quiet_table_never_takes_the_clause)
{
	struct copy_conflicts k = {0};
	int i;

	for (i = 0; i < 1000; i++) {
		ck_assert(!copy_conflicts_take(&k));
		copy_conflicts_passed(&k, k.conflicts);
	}
	ck_assert_int_eq(k.conflicts, 0);
}
END_TEST

START_TEST(test_a_conflict_sends_the_next_run_with_it)
{
	struct copy_conflicts k = {0};

	copy_conflicts_met(&k);
	ck_assert_int_eq(k.conflicts, 1);
	ck_assert_int_eq(taken(&k, 10), COPY_CONFLICT_RUN_MIN);
	/* run out: plain again */
	ck_assert(!copy_conflicts_take(&k));
}
END_TEST

START_TEST(test_conflicts_double_the_run_up_to_the_cap)
{
	struct copy_conflicts k = {0};
	long want = COPY_CONFLICT_RUN_MIN;
	int i;

	for (i = 0; i < 12; i++) {
		copy_conflicts_met(&k);
		ck_assert_int_eq(k.run, want);
		ck_assert_int_eq(taken(&k, 1000), want);
		want = want * 2 > COPY_CONFLICT_RUN_MAX ? COPY_CONFLICT_RUN_MAX : want * 2;
	}
	ck_assert_int_eq(k.run, COPY_CONFLICT_RUN_MAX);
}
END_TEST

START_TEST(test_plain_successes_halve_the_run)
{
	struct copy_conflicts k = {0};

	copy_conflicts_met(&k);
	copy_conflicts_met(&k);
	copy_conflicts_met(&k); /* 4, 8, 16 */
	ck_assert_int_eq(k.run, 4 * COPY_CONFLICT_RUN_MIN);
	taken(&k, 1000);
	copy_conflicts_passed(&k, k.conflicts);
	ck_assert_int_eq(k.run, 2 * COPY_CONFLICT_RUN_MIN);
	copy_conflicts_passed(&k, k.conflicts);
	copy_conflicts_passed(&k, k.conflicts);
	ck_assert_int_eq(k.run, COPY_CONFLICT_RUN_MIN / 2);
	/* the next conflict starts from the minimum again */
	copy_conflicts_met(&k);
	ck_assert_int_eq(k.run, COPY_CONFLICT_RUN_MIN);
}
END_TEST

START_TEST(test_a_range_sent_before_the_last_conflict_does_not_halve)
{
	struct copy_conflicts k = {0};
	long long seen = k.conflicts; /* sent now, on another lane */

	copy_conflicts_met(&k);
	copy_conflicts_met(&k);
	ck_assert_int_eq(k.run, 2 * COPY_CONFLICT_RUN_MIN);
	copy_conflicts_passed(&k, seen);
	ck_assert_int_eq(k.run, 2 * COPY_CONFLICT_RUN_MIN);
	ck_assert_int_eq(taken(&k, 1000), 2 * COPY_CONFLICT_RUN_MIN);
}
END_TEST

Suite *copy_suite(void)
{
	Suite *s = suite_create("copy");
	TCase *tc = tcase_create("conflicts");

	tcase_add_test(tc, test_quiet_table_never_takes_the_clause);
	tcase_add_test(tc, test_a_conflict_sends_the_next_run_with_it);
	tcase_add_test(tc, test_conflicts_double_the_run_up_to_the_cap);
	tcase_add_test(tc, test_plain_successes_halve_the_run);
	tcase_add_test(tc, test_a_range_sent_before_the_last_conflict_does_not_halve);
	suite_add_tcase(s, tc);
	return s;
}
