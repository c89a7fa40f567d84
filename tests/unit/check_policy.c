/* policy_parse: a table's policy, defaults and every field's error. */
#include <string.h>

#include "../../service/tables.h"
#include "suites.h"

static bool parse(const char *text, struct table_policy *pol, json_t **norm, struct svc_error *err)
{
	json_t *in = json_loads(text, 0, NULL);
	bool ok;

	ck_assert_ptr_nonnull(in);
	memset(err, 0, sizeof(*err));
	*norm = NULL;
	ok = policy_parse(in, norm, pol, err);
	json_decref(in);
	return ok;
}

START_TEST(test_defaults)
{
	struct table_policy pol;
	struct svc_error err;
	json_t *norm;

	ck_assert(parse("{\"partition_column\":\"date\"}", &pol, &norm, &err));
	ck_assert_str_eq(pol.column, "date");
	ck_assert_int_eq(pol.interval, INTERVAL_MONTH);
	ck_assert_int_eq(pol.premake, 3);
	ck_assert_int_eq(pol.hot_months, 3);
	ck_assert_int_eq(pol.warm_months, 12);
	ck_assert(pol.max_partition_bytes == 10737418240LL);
	ck_assert(pol.vacuum_lag_hours == 24);
	ck_assert_int_eq(json_integer_value(json_object_get(norm, "premake")), 3);
	ck_assert_str_eq(json_string_value(json_object_get(norm, "interval")), "month");
	ck_assert_ptr_nonnull(json_object_get(json_object_get(norm, "alerts"), "max_partition_bytes"));
	json_decref(norm);
}
END_TEST

START_TEST(test_retention_kept_and_used)
{
	struct table_policy pol;
	struct svc_error err;
	json_t *norm;

	ck_assert(parse("{\"partition_column\":\"d\",\"interval\":\"day\",\"premake\":7,"
			"\"retention\":{\"hot\":\"90 days\",\"warm\":\"1 year\",\"archive_raw\":true,"
			"\"archive\":\"file:///tmp/a\"}}",
			&pol, &norm, &err));
	ck_assert_int_eq(pol.interval, INTERVAL_DAY);
	ck_assert_int_eq(pol.premake, 7);
	ck_assert_int_eq(pol.hot_days, 90);
	ck_assert_int_eq(pol.warm_months, 12);
	ck_assert(json_is_true(json_object_get(json_object_get(norm, "retention"), "archive_raw")));
	json_decref(norm);
}
END_TEST

struct bad_case {
	const char *json;
	const char *field;
};

static const struct bad_case bad_cases[] = {
	{"{}", "partition_column"},
	{"{\"partition_column\":\"a;b\"}", "partition_column"},
	{"{\"partition_column\":5}", "partition_column"},
	{"{\"partition_column\":\"d\",\"interval\":\"week\"}", "interval"},
	{"{\"partition_column\":\"d\",\"premake\":0}", "premake"},
	{"{\"partition_column\":\"d\",\"premake\":121}", "premake"},
	{"{\"partition_column\":\"d\",\"premake\":\"3\"}", "premake"},
	{"{\"partition_column\":\"d\",\"retention\":[]}", "retention"},
	{"{\"partition_column\":\"d\",\"retention\":{\"hot\":\"later\"}}", "retention.hot"},
	{"{\"partition_column\":\"d\",\"retention\":{\"warm\":12}}", "retention.warm"},
	{"{\"partition_column\":\"d\",\"alerts\":{\"vacuum_lag_hours\":-1}}", "alerts.vacuum_lag_hours"},
	{"{\"partition_column\":\"d\",\"alerts\":{\"nope\":1}}", "alerts"},
	{"{\"partition_column\":\"d\",\"colour\":\"blue\"}", "colour"},
	{"{\"partition_column\":\"d\",\"retention\":{\"hot\":\"12 months\",\"warm\":\"3 months\"}}",
	 "retention.warm"},
	{"{\"partition_column\":\"d\",\"retention\":{\"hot\":\"1 year\",\"warm\":\"12 months\"}}",
	 "retention.warm"},
	{"{\"partition_column\":\"d\",\"retention\":{\"hot\":\"0 months\"}}", "retention.hot"},
	{"{\"partition_column\":\"d\",\"retention\":{\"group_by\":\"a\"}}", "retention.group_by"},
	{"{\"partition_column\":\"d\",\"retention\":{\"group_by\":[\"d\"]}}", "retention.group_by"},
	{"{\"partition_column\":\"d\",\"retention\":{\"group_by\":[\"a\",\"a\"]}}",
	 "retention.group_by"},
	{"{\"partition_column\":\"d\",\"retention\":{\"metrics\":[{\"column\":\"x\",\"fn\":\"median\"}]}}",
	 "retention.metrics"},
	{"{\"partition_column\":\"d\",\"retention\":{\"metrics\":[{\"column\":\"x);--\",\"fn\":\"sum\"}]}}",
	 "retention.metrics"},
	{"{\"partition_column\":\"d\",\"retention\":{\"metrics\":[{\"column\":\"x\",\"fn\":\"sum\",\"as\":\"rows\"}]}}",
	 "retention.metrics"},
	{"{\"partition_column\":\"d\",\"retention\":{\"metrics\":[{\"column\":\"x\",\"fn\":\"sum\"},{\"column\":\"x\",\"fn\":\"max\"}]}}",
	 "retention.metrics"},
	{"{\"partition_column\":\"d\",\"retention\":{\"metrics\":[{\"column\":\"x\",\"fn\":\"sum\",\"sql\":\"1\"}]}}",
	 "retention.metrics"},
	{"{\"partition_column\":\"d\",\"retention\":{\"archive\":\"s3://b/x\"}}", "retention.archive"},
	{"{\"partition_column\":\"d\",\"retention\":{\"archive\":\"file://rel\"}}", "retention.archive"},
	{"{\"partition_column\":\"d\",\"retention\":{\"archive_raw\":true}}", "retention.archive_raw"},
	{"{\"partition_column\":\"d\",\"retention\":{\"costs\":{\"hot\":-1}}}", "retention.costs"},
	{"{\"partition_column\":\"d\",\"retention\":{\"costs\":{\"lukewarm\":1}}}", "retention.costs"},
	{"{\"partition_column\":\"d\",\"retention\":{\"keep_forever\":true}}", "retention"},
};

START_TEST(test_bad_fields_named)
{
	const struct bad_case *c = &bad_cases[_i];
	struct table_policy pol;
	struct svc_error err;
	json_t *norm;

	ck_assert_msg(!parse(c->json, &pol, &norm, &err), "%s was accepted", c->json);
	ck_assert_int_eq(err.code, SVC_BAD_REQUEST);
	ck_assert_str_eq(err.field, c->field);
	ck_assert_ptr_null(norm);
}
END_TEST

START_TEST(test_retention_full)
{
	struct table_policy pol;
	struct svc_error err;
	json_t *norm;

	ck_assert_msg(parse("{\"partition_column\":\"date\",\"retention\":{\"hot\":\"3 months\","
			    "\"warm\":\"12 months\",\"group_by\":[\"workspace_id\",\"social_account_id\"],"
			    "\"metrics\":[{\"column\":\"impressions\",\"fn\":\"sum\",\"as\":\"impressions\"},"
			    "{\"column\":\"followers\",\"fn\":\"max\"},{\"column\":\"engagement_rate\","
			    "\"fn\":\"avg\"},{\"column\":\"followers\",\"fn\":\"last\",\"as\":\"f_last\"}],"
			    "\"archive\":\"file:///var/lib/partd/archive\",\"archive_raw\":true,"
			    "\"costs\":{\"hot\":0.2}}}",
			    &pol, &norm, &err),
		      "%s", err.detail);
	ck_assert(pol.has_retention);
	ck_assert_int_eq(pol.hot_months, 3);
	ck_assert_int_eq(pol.warm_months, 12);
	json_decref(norm);
	ck_assert(parse("{\"partition_column\":\"d\"}", &pol, &norm, &err));
	ck_assert(!pol.has_retention);
	json_decref(norm);
}
END_TEST

Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("policy");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_retention_kept_and_used);
	tcase_add_test(tc, test_retention_full);
	tcase_add_loop_test(tc, test_bad_fields_named, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}
