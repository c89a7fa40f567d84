/* job: the kind registry and diagnostic.sleep's validate. */
#include <string.h>

#include "../../service/ident.h"
#include "../../service/job.h"
#include "suites.h"

static const struct job_kind *kind;
static char table[2 * IDENT_MAX + 2];
static struct svc_error err;
static json_t *out;

static void setup(void)
{
	kind = job_kind_find("diagnostic.sleep");
	ck_assert_ptr_nonnull(kind);
	ck_assert_ptr_nonnull(kind->validate);
	strcpy(table, "junk");
	memset(&err, 0, sizeof(err));
	out = NULL;
}

static void teardown(void)
{
	json_decref(out);
	svc_error_clear(&err);
}

/* Runs validate on the JSON text params. */
static bool validate(const char *params)
{
	json_error_t jerr;
	json_t *p = json_loads(params, 0, &jerr);
	bool ok;

	ck_assert_msg(p != NULL, "bad test JSON %s: %s", params, jerr.text);
	ok = kind->validate(p, &out, table, sizeof(table), &err);
	json_decref(p);
	return ok;
}

static json_int_t int_at(const char *key)
{
	json_t *v = json_object_get(out, key);

	ck_assert_msg(json_is_integer(v), "%s is not an integer", key);
	return json_integer_value(v);
}

/* Expects params to be refused as a bad request about field. */
static void expect_field_error(const char *params, const char *field)
{
	ck_assert_msg(!validate(params), "%s accepted", params);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(err.code, SVC_BAD_REQUEST);
	ck_assert_str_eq(err.field, field);
	ck_assert_msg(strstr(err.detail, field) != NULL, "detail '%s' does not name %s", err.detail,
		      field);
	svc_error_clear(&err);
}

START_TEST(test_registry)
{
	ck_assert_str_eq(kind->name, "diagnostic.sleep");
	ck_assert_int_ge(kind->max_attempts, 1);
	ck_assert_ptr_nonnull(kind->run);
	ck_assert_ptr_null(job_kind_find("diagnostic.nap"));
	ck_assert_ptr_null(job_kind_find(""));
	ck_assert_ptr_null(job_kind_find("Diagnostic.Sleep"));
	ck_assert_ptr_null(job_kind_find("diagnostic.sleep "));
}
END_TEST

START_TEST(test_defaults)
{
	ck_assert_msg(validate("{}"), "refused: %s", err.detail);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(int_at("steps"), 10);
	ck_assert_int_eq(int_at("step_ms"), 1000);
	ck_assert_int_eq(int_at("fail_attempts"), 1);
	ck_assert_ptr_null(json_object_get(out, "fail_at_step"));
	ck_assert_ptr_null(json_object_get(out, "table"));
	ck_assert_int_eq(json_object_size(out), 3);
	ck_assert_str_eq(table, "");
}
END_TEST

START_TEST(test_given_values_kept)
{
	ck_assert_msg(validate("{\"steps\":3, \"step_ms\":0,"
			       " \"fail_at_step\":2, \"fail_attempts\":5}"),
		      "refused: %s", err.detail);
	ck_assert_int_eq(int_at("steps"), 3);
	ck_assert_int_eq(int_at("step_ms"), 0);
	ck_assert_int_eq(int_at("fail_at_step"), 2);
	ck_assert_int_eq(int_at("fail_attempts"), 5);
	ck_assert_str_eq(table, "");
}
END_TEST

START_TEST(test_table_normalized)
{
	ck_assert_msg(validate("{\"table\":\"x\"}"), "refused: %s", err.detail);
	ck_assert_str_eq(table, "public.x");
	ck_assert_str_eq(json_string_value(json_object_get(out, "table")), "public.x");
	json_decref(out);
	out = NULL;

	ck_assert_msg(validate("{\"table\":\"analytics.post_analytics\"}"), "refused: %s",
		      err.detail);
	ck_assert_str_eq(table, "analytics.post_analytics");
	ck_assert_str_eq(json_string_value(json_object_get(out, "table")),
			 "analytics.post_analytics");
}
END_TEST

START_TEST(test_bad_fields)
{
	expect_field_error("{\"steps\":0}", "steps");
	expect_field_error("{\"steps\":\"3\"}", "steps");
	expect_field_error("{\"steps\":3.0}", "steps");
	expect_field_error("{\"steps\":null}", "steps");
	expect_field_error("{\"steps\":100001}", "steps");
	expect_field_error("{\"step_ms\":-1}", "step_ms");
	expect_field_error("{\"fail_at_step\":0}", "fail_at_step");
	expect_field_error("{\"fail_attempts\":101}", "fail_attempts");
	expect_field_error("{\"stpes\":3}", "stpes");
	expect_field_error("{\"table\":\"a;b\"}", "table");
	expect_field_error("{\"table\":5}", "table");
	expect_field_error("{\"table\":\"\"}", "table");
	expect_field_error("{\"table\":\"a.b.c\"}", "table");
}
END_TEST

START_TEST(test_bad_table_type_says_string)
{
	ck_assert(!validate("{\"table\":5}"));
	ck_assert_ptr_nonnull(strstr(err.detail, "string"));
}
END_TEST

START_TEST(test_error_after_good_fields_leaks_nothing)
{
	/* Runs under ASan/LSan: the half-built params must be freed. */
	expect_field_error("{\"steps\":3,\"table\":\"t\",\"bogus\":1}", "bogus");
}
END_TEST

Suite *job_suite(void)
{
	Suite *s = suite_create("job");
	TCase *tc = tcase_create("diagnostic.sleep");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_registry);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_given_values_kept);
	tcase_add_test(tc, test_table_normalized);
	tcase_add_test(tc, test_bad_fields);
	tcase_add_test(tc, test_bad_table_type_says_string);
	tcase_add_test(tc, test_error_after_good_fields_leaks_nothing);
	suite_add_tcase(s, tc);
	return s;
}
