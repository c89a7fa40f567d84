/* jobs: the pure functions (states, ids, progress); no database. */
#include <math.h>
#include <string.h>

#include "../../service/jobs.h"
#include "suites.h"

static const struct {
	enum job_state state;
	const char *name;
} job_states[] = {
	{JOB_QUEUED, "queued"},       {JOB_RUNNING, "running"},
	{JOB_CANCELLING, "cancelling"}, {JOB_SUCCEEDED, "succeeded"},
	{JOB_FAILED_STATE, "failed"}, {JOB_CANCELLED, "cancelled"},
};

START_TEST(test_state_names_round_trip)
{
	size_t i;

	ck_assert_int_eq(sizeof(job_states) / sizeof(job_states[0]), JOB_STATE_COUNT);
	for (i = 0; i < sizeof(job_states) / sizeof(job_states[0]); i++) {
		enum job_state parsed = JOB_STATE_COUNT;
		ck_assert_str_eq(job_state_name(job_states[i].state), job_states[i].name);
		ck_assert_msg(job_state_parse(job_states[i].name, &parsed), "'%s' not parsed",
			      job_states[i].name);
		ck_assert_int_eq(parsed, job_states[i].state);
	}
}
END_TEST

START_TEST(test_state_parse_refuses)
{
	enum job_state s = JOB_RUNNING;

	ck_assert(!job_state_parse("done", &s));
	ck_assert(!job_state_parse("", &s));
	ck_assert(!job_state_parse("Queued", &s));
	ck_assert(!job_state_parse("queued ", &s));
	ck_assert(!job_state_parse("unknown", &s));
	ck_assert_int_eq(s, JOB_RUNNING);
}
END_TEST

START_TEST(test_state_name_out_of_range)
{
	ck_assert_str_eq(job_state_name(JOB_STATE_COUNT), "unknown");
	ck_assert_str_eq(job_state_name((enum job_state)99), "unknown");
}
END_TEST

START_TEST(test_parse_id_good)
{
	int64_t id = 0;

	ck_assert(jobs_parse_id("1", &id));
	ck_assert_int_eq(id, 1);
	ck_assert(jobs_parse_id("42", &id));
	ck_assert_int_eq(id, 42);
	ck_assert(jobs_parse_id("123456789012345678", &id));
	ck_assert_int_eq(id, 123456789012345678LL);
}
END_TEST

START_TEST(test_parse_id_bad)
{
	static const char *const bad[] = {
		"0", "-1", "1a", "", "01", "99999999999999999999", " 1", "1 ", "+1", "0x10", "1.0",
		"9223372036854775808",
	};
	int64_t id = 7;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!jobs_parse_id(bad[i], &id), "'%s' accepted", bad[i]);
	ck_assert(!jobs_parse_id(NULL, &id));
	ck_assert_int_eq(id, 7);
}
END_TEST

/* The number at key, which must be a JSON number. */
static double num(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	ck_assert_msg(json_is_number(v), "%s is not a number", key);
	return json_number_value(v);
}

static void expect_null(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	ck_assert_msg(v != NULL, "%s is missing", key);
	ck_assert_msg(json_is_null(v), "%s is not null", key);
}

START_TEST(test_progress_total_unknown)
{
	double rate = 10;
	json_t *p = job_progress_json(5, -1, "rows", &rate);

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "done")), 5);
	expect_null(p, "total");
	expect_null(p, "percent");
	expect_null(p, "eta_s");
	ck_assert_str_eq(json_string_value(json_object_get(p, "unit")), "rows");
	ck_assert_double_eq_tol(num(p, "rate_per_s"), 10.0, 1e-9);
	json_decref(p);
}
END_TEST

START_TEST(test_progress_partway)
{
	double rate = 10;
	json_t *p = job_progress_json(30, 100, "steps", &rate);

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "done")), 30);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "total")), 100);
	ck_assert_str_eq(json_string_value(json_object_get(p, "unit")), "steps");
	ck_assert_double_eq_tol(num(p, "percent"), 30.0, 1e-9);
	ck_assert_double_eq_tol(num(p, "eta_s"), 7.0, 1e-9);
	ck_assert_double_eq_tol(num(p, "rate_per_s"), 10.0, 1e-9);
	ck_assert_int_eq(json_object_size(p), 6);
	json_decref(p);
}
END_TEST

START_TEST(test_progress_rounding)
{
	double rate = 3;
	json_t *p = job_progress_json(1, 3, "rows", &rate);

	/* 33.333.. % to one decimal, eta 2/3 s to one decimal. */
	ck_assert_double_eq_tol(num(p, "percent"), 33.3, 1e-9);
	ck_assert_double_eq_tol(num(p, "eta_s"), 0.7, 1e-9);
	json_decref(p);
}
END_TEST

START_TEST(test_progress_done)
{
	double rate = 4;
	json_t *p = job_progress_json(100, 100, "steps", &rate);

	ck_assert_double_eq_tol(num(p, "percent"), 100.0, 1e-9);
	ck_assert_double_eq_tol(num(p, "eta_s"), 0.0, 1e-9);
	json_decref(p);

	/* Finished needs no rate to know nothing is left. */
	p = job_progress_json(100, 100, "steps", NULL);
	ck_assert_double_eq_tol(num(p, "eta_s"), 0.0, 1e-9);
	expect_null(p, "rate_per_s");
	json_decref(p);
}
END_TEST

START_TEST(test_progress_done_past_total_clamps)
{
	double rate = 4;
	json_t *p = job_progress_json(150, 100, "rows", &rate);

	ck_assert_double_eq_tol(num(p, "percent"), 100.0, 1e-9);
	ck_assert_double_eq_tol(num(p, "eta_s"), 0.0, 1e-9);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "done")), 150);
	json_decref(p);
}
END_TEST

START_TEST(test_progress_no_rate)
{
	json_t *p = job_progress_json(30, 100, "rows", NULL);

	expect_null(p, "rate_per_s");
	expect_null(p, "eta_s");
	ck_assert_double_eq_tol(num(p, "percent"), 30.0, 1e-9);
	json_decref(p);
}
END_TEST

START_TEST(test_progress_unusable_rates)
{
	double zero = 0, negative = -5, nan = NAN, inf = INFINITY;
	json_t *p;

	p = job_progress_json(30, 100, "rows", &zero);
	ck_assert_double_eq_tol(num(p, "rate_per_s"), 0.0, 1e-9);
	expect_null(p, "eta_s");
	json_decref(p);

	p = job_progress_json(30, 100, "rows", &negative);
	expect_null(p, "rate_per_s");
	expect_null(p, "eta_s");
	json_decref(p);

	p = job_progress_json(30, 100, "rows", &nan);
	expect_null(p, "rate_per_s");
	expect_null(p, "eta_s");
	json_decref(p);

	p = job_progress_json(30, 100, "rows", &inf);
	expect_null(p, "rate_per_s");
	expect_null(p, "eta_s");
	json_decref(p);
}
END_TEST

START_TEST(test_progress_total_zero)
{
	json_t *p = job_progress_json(0, 0, NULL, NULL);

	ck_assert_int_eq(json_integer_value(json_object_get(p, "total")), 0);
	ck_assert_double_eq_tol(num(p, "percent"), 100.0, 1e-9);
	ck_assert_double_eq_tol(num(p, "eta_s"), 0.0, 1e-9);
	expect_null(p, "unit");
	json_decref(p);
}
END_TEST

Suite *jobs_suite(void)
{
	Suite *s = suite_create("jobs");
	TCase *states = tcase_create("states");
	TCase *ids = tcase_create("ids");
	TCase *progress = tcase_create("progress");

	tcase_add_test(states, test_state_names_round_trip);
	tcase_add_test(states, test_state_parse_refuses);
	tcase_add_test(states, test_state_name_out_of_range);
	suite_add_tcase(s, states);

	tcase_add_test(ids, test_parse_id_good);
	tcase_add_test(ids, test_parse_id_bad);
	suite_add_tcase(s, ids);

	tcase_add_test(progress, test_progress_total_unknown);
	tcase_add_test(progress, test_progress_partway);
	tcase_add_test(progress, test_progress_rounding);
	tcase_add_test(progress, test_progress_done);
	tcase_add_test(progress, test_progress_done_past_total_clamps);
	tcase_add_test(progress, test_progress_no_rate);
	tcase_add_test(progress, test_progress_unusable_rates);
	tcase_add_test(progress, test_progress_total_zero);
	suite_add_tcase(s, progress);
	return s;
}
