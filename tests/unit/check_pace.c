/* pace: the rows/s limit, on a clock the tests drive. */
#include "../../service/pace.h"
#include "suites.h"

/* Sends pieces of `rows` as soon as the pace lets, from t0 for ms; the rows sent. */
static double send_for(struct pace *p, double t0, double ms, double rows)
{
	double t = t0, sent = 0;

	while (t < t0 + ms) {
		int wait = pace_wait_ms(p, t, 250);
		if (wait > 0) {
			t += wait;
			continue;
		}
		pace_spend(p, rows);
		sent += rows;
	}
	return sent;
}

START_TEST(test_no_limit_never_waits)
{
	struct pace p;

	pace_init(&p, 0, 0);
	pace_spend(&p, 1e9);
	ck_assert_int_eq(pace_wait_ms(&p, 0, 250), 0);
	pace_init(&p, -5, 0);
	pace_spend(&p, 1e9);
	ck_assert_int_eq(pace_wait_ms(&p, 1, 250), 0);
}
END_TEST

START_TEST(test_first_piece_goes_at_once_then_the_rate)
{
	struct pace p;

	pace_init(&p, 1000, 5000);
	ck_assert_int_eq(pace_wait_ms(&p, 5000, 250), 0);
	pace_spend(&p, 100); /* 100 rows at 1000 rows/s: the next one 100 ms later */
	ck_assert_int_eq(pace_wait_ms(&p, 5000, 250), 101);
	ck_assert_int_eq(pace_wait_ms(&p, 5050, 250), 51);
	ck_assert_int_eq(pace_wait_ms(&p, 5100, 250), 0);
}
END_TEST

START_TEST(test_steady_rate_is_kept)
{
	struct pace p;
	double sent;

	pace_init(&p, 20000, 0);
	sent = send_for(&p, 0, 10000, 1000); /* 10 s */
	ck_assert(sent >= 199000 && sent <= 201000);
}
END_TEST

START_TEST(test_wait_is_capped)
{
	struct pace p;

	pace_init(&p, 1, 0);
	pace_spend(&p, 1e12); /* far beyond INT_MAX ms */
	ck_assert_int_eq(pace_wait_ms(&p, 0, 250), 250);
}
END_TEST

/* Work held up (a lock wait, a busy server) is not made up in a burst afterwards. */
START_TEST(test_slow_work_earns_no_burst)
{
	struct pace p;

	pace_init(&p, 10000, 0);
	pace_spend(&p, 1000);
	/* The piece took 60 s instead of 100 ms: only the slack may go at once. */
	ck_assert_int_eq(pace_wait_ms(&p, 60000, 250), 0);
	pace_spend(&p, 10000 * PACE_SLACK_S);
	ck_assert_int_eq(pace_wait_ms(&p, 60000, 250), 0);
	pace_spend(&p, 1000);
	ck_assert_int_eq(pace_wait_ms(&p, 60000, 250), 101);
}
END_TEST

/* A rate raised while the work runs holds from then on: no catching up on the time before. */
START_TEST(test_raised_rate_does_not_burst)
{
	struct pace p;
	double sent;

	pace_init(&p, 500, 0);
	ck_assert(send_for(&p, 0, 6000, 500) <= 3500);
	pace_set_rate(&p, 5000, 6000);
	sent = send_for(&p, 6000, 2000, 500);
	ck_assert_msg(sent <= 5000 * 2 + 500 + 5000 * PACE_SLACK_S, "%.0f rows in 2 s", sent);
	ck_assert(sent >= 5000 * 2 - 1000);
}
END_TEST

/* A rate lowered while the work runs does not stall it for the time before. */
START_TEST(test_lowered_rate_does_not_stall)
{
	struct pace p;

	pace_init(&p, 20000, 0);
	send_for(&p, 0, 10000, 1000);
	pace_set_rate(&p, 1000, 10000);
	/* At most the last piece is owed: 1000 rows at 1000 rows/s. */
	ck_assert_int_le(pace_wait_ms(&p, 10000, 5000), 1001);
	ck_assert_int_eq(pace_wait_ms(&p, 11001, 5000), 0);
}
END_TEST

START_TEST(test_limit_set_after_none_starts_fresh)
{
	struct pace p;

	pace_init(&p, 0, 0);
	pace_spend(&p, 1e9);
	pace_set_rate(&p, 100, 1000);
	ck_assert_int_eq(pace_wait_ms(&p, 1000, 250), 0);
	pace_spend(&p, 10);
	ck_assert_int_eq(pace_wait_ms(&p, 1000, 250), 101);
	pace_set_rate(&p, 0, 1010);
	ck_assert_int_eq(pace_wait_ms(&p, 1010, 250), 0);
}
END_TEST

/* An estimate corrected by what the piece held. */
START_TEST(test_spend_corrects_an_estimate)
{
	struct pace p;

	pace_init(&p, 1000, 0);
	pace_spend(&p, 500);
	pace_spend(&p, 200);  /* read 700 */
	pace_spend(&p, -500); /* the estimate taken back */
	ck_assert_int_eq(pace_wait_ms(&p, 0, 5000), 201);
}
END_TEST

Suite *pace_suite(void)
{
	Suite *s = suite_create("pace");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_no_limit_never_waits);
	tcase_add_test(tc, test_first_piece_goes_at_once_then_the_rate);
	tcase_add_test(tc, test_steady_rate_is_kept);
	tcase_add_test(tc, test_wait_is_capped);
	tcase_add_test(tc, test_slow_work_earns_no_burst);
	tcase_add_test(tc, test_raised_rate_does_not_burst);
	tcase_add_test(tc, test_lowered_rate_does_not_stall);
	tcase_add_test(tc, test_limit_set_after_none_starts_fresh);
	tcase_add_test(tc, test_spend_corrects_an_estimate);
	suite_add_tcase(s, tc);
	return s;
}
