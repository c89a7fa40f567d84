/* http: problem objects, status mapping, error responses and headers (api/problem.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../api/http.h"
#include "suites.h"

static struct http_response resp;
static struct svc_error err;

static void setup(void)
{
	memset(&resp, 0, sizeof(resp));
	memset(&err, 0, sizeof(err));
}

static void teardown(void)
{
	json_decref(resp.json);
	if (!resp.text_static)
		free(resp.text);
	svc_error_clear(&err);
}

static const char *str_at(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	ck_assert_msg(s != NULL, "%s is not a string", key);
	return s;
}

static const char *header(const char *name)
{
	int i;

	for (i = 0; i < resp.nheaders; i++)
		if (strcmp(resp.headers[i].name, name) == 0)
			return resp.headers[i].value;
	return NULL;
}

START_TEST(test_problem_not_found)
{
	json_t *p = http_problem_new(404, "x");

	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(str_at(p, "type"), "/problems/not-found");
	ck_assert_str_eq(str_at(p, "title"), "Not found");
	ck_assert_int_eq(json_integer_value(json_object_get(p, "status")), 404);
	ck_assert_str_eq(str_at(p, "detail"), "x");
	ck_assert_int_eq(json_object_size(p), 4);
	json_decref(p);
}
END_TEST

START_TEST(test_problem_types)
{
	static const struct {
		int status;
		const char *type;
	} cases[] = {
		{400, "/problems/bad-request"},   {401, "/problems/unauthorized"},
		{403, "/problems/forbidden"},     {405, "/problems/method-not-allowed"},
		{409, "/problems/conflict"},      {413, "/problems/payload-too-large"},
		{422, "/problems/unprocessable"}, {500, "/problems/internal"},
		{503, "/problems/unavailable"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *p = http_problem_new(cases[i].status, "d");
		ck_assert_str_eq(str_at(p, "type"), cases[i].type);
		ck_assert_int_eq(json_integer_value(json_object_get(p, "status")), cases[i].status);
		json_decref(p);
	}
}
END_TEST

START_TEST(test_problem_unknown_status_is_internal)
{
	json_t *p = http_problem_new(418, "teapot");

	ck_assert_str_eq(str_at(p, "type"), "/problems/internal");
	ck_assert_str_eq(str_at(p, "title"), "Internal error");
	ck_assert_str_eq(str_at(p, "detail"), "teapot");
	json_decref(p);
}
END_TEST

START_TEST(test_status_of)
{
	static const struct {
		enum svc_code code;
		int status;
	} cases[] = {
		{SVC_OK, 200},          {SVC_BAD_REQUEST, 400},   {SVC_NOT_FOUND, 404},
		{SVC_CONFLICT, 409},    {SVC_UNPROCESSABLE, 422}, {SVC_UNAVAILABLE, 503},
		{SVC_INTERNAL, 500},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err.code = cases[i].code;
		ck_assert_int_eq(http_status_of(&err), cases[i].status);
	}
	err.code = (enum svc_code)(SVC_INTERNAL + 7);
	ck_assert_int_eq(http_status_of(&err), 500);
}
END_TEST

START_TEST(test_svc_error_with_field)
{
	const json_t *errors, *e;

	svc_field(&err, "steps", "steps must be a whole number from 1 to 100000");
	http_respond_svc_error(&resp, &err);
	ck_assert_int_eq(resp.status, 400);
	ck_assert_str_eq(resp.content_type, "application/problem+json");
	ck_assert_str_eq(str_at(resp.json, "type"), "/problems/bad-request");
	ck_assert_str_eq(str_at(resp.json, "detail"), err.detail);
	errors = json_object_get(resp.json, "errors");
	ck_assert(json_is_array(errors));
	ck_assert_int_eq(json_array_size(errors), 1);
	e = json_array_get(errors, 0);
	ck_assert_str_eq(str_at(e, "field"), "steps");
	ck_assert_str_eq(str_at(e, "message"), "steps must be a whole number from 1 to 100000");
	ck_assert_ptr_null(json_object_get(resp.json, "sqlstate"));
}
END_TEST

START_TEST(test_svc_error_merges_extra)
{
	svc_fail(&err, SVC_CONFLICT, "public.t already has job 7 running");
	err.extra = json_pack("{s:I}", "active_job_id", (json_int_t)7);
	http_respond_svc_error(&resp, &err);
	ck_assert_int_eq(resp.status, 409);
	ck_assert_str_eq(str_at(resp.json, "type"), "/problems/conflict");
	ck_assert_int_eq(json_integer_value(json_object_get(resp.json, "active_job_id")), 7);
	ck_assert_ptr_null(json_object_get(resp.json, "errors"));
	ck_assert_str_eq(str_at(resp.json, "detail"), "public.t already has job 7 running");
}
END_TEST

START_TEST(test_svc_error_sqlstate_only_for_server_errors)
{
	svc_fail(&err, SVC_INTERNAL, "boom");
	snprintf(err.sqlstate, sizeof(err.sqlstate), "XX000");
	http_respond_svc_error(&resp, &err);
	ck_assert_int_eq(resp.status, 500);
	ck_assert_str_eq(str_at(resp.json, "sqlstate"), "XX000");
	json_decref(resp.json);
	resp.json = NULL;

	svc_field(&err, "table", "bad");
	err.code = SVC_BAD_REQUEST;
	http_respond_svc_error(&resp, &err);
	ck_assert_int_eq(resp.status, 400);
	ck_assert_ptr_null(json_object_get(resp.json, "sqlstate"));
}
END_TEST

START_TEST(test_svc_error_unavailable_sets_retry_after)
{
	svc_fail(&err, SVC_UNAVAILABLE, "the pool is exhausted");
	http_respond_svc_error(&resp, &err);
	ck_assert_int_eq(resp.status, 503);
	ck_assert_ptr_nonnull(header("Retry-After"));
	ck_assert_str_eq(header("Retry-After"), "1");
}
END_TEST

START_TEST(test_svc_error_without_detail)
{
	err.code = SVC_NOT_FOUND;
	http_respond_svc_error(&resp, &err);
	ck_assert_int_eq(resp.status, 404);
	ck_assert_str_eq(str_at(resp.json, "detail"), "unknown error");
}
END_TEST

START_TEST(test_respond_problem_formats)
{
	http_respond_problem(&resp, 405, "use %s", "GET");
	ck_assert_int_eq(resp.status, 405);
	ck_assert_str_eq(resp.content_type, "application/problem+json");
	ck_assert_str_eq(str_at(resp.json, "detail"), "use GET");
	ck_assert_ptr_null(header("Retry-After"));
	/* A second answer replaces the first (and frees it: see ASan). */
	http_respond_json(&resp, 200, json_pack("{s:b}", "ok", 1));
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(resp.content_type, "application/json");
	ck_assert(json_is_true(json_object_get(resp.json, "ok")));
}
END_TEST

START_TEST(test_respond_text)
{
	char *owned = strdup("owned");

	http_respond_text(&resp, 200, "text/plain", "static", 6, true);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(resp.text, "static");
	ck_assert(resp.text_static);
	/* Replacing a static text must not free it; the owned one is freed in teardown. */
	http_respond_text(&resp, 201, "text/yaml", owned, 5, false);
	ck_assert_int_eq(resp.status, 201);
	ck_assert_ptr_eq(resp.text, owned);
	ck_assert_uint_eq(resp.textlen, 5);
	ck_assert_str_eq(resp.content_type, "text/yaml");
	ck_assert(!resp.text_static);
}
END_TEST

START_TEST(test_add_header_caps)
{
	char name[16], value[16];
	int i;

	for (i = 0; i < HTTP_MAX_HEADERS + 5; i++) {
		snprintf(name, sizeof(name), "X-H%d", i);
		snprintf(value, sizeof(value), "v%d", i);
		http_add_header(&resp, name, value);
	}
	ck_assert_int_eq(resp.nheaders, HTTP_MAX_HEADERS);
	ck_assert_str_eq(resp.headers[0].name, "X-H0");
	ck_assert_str_eq(resp.headers[HTTP_MAX_HEADERS - 1].name, "X-H7");
	ck_assert_str_eq(resp.headers[HTTP_MAX_HEADERS - 1].value, "v7");
	ck_assert_ptr_null(header("X-H8"));
}
END_TEST

START_TEST(test_add_header_truncates_long_values)
{
	char longname[100], longvalue[1000];

	memset(longname, 'N', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	memset(longvalue, 'v', sizeof(longvalue) - 1);
	longvalue[sizeof(longvalue) - 1] = '\0';
	http_add_header(&resp, longname, longvalue);
	ck_assert_int_eq(resp.nheaders, 1);
	ck_assert_uint_eq(strlen(resp.headers[0].name), sizeof(resp.headers[0].name) - 1);
	ck_assert_uint_eq(strlen(resp.headers[0].value), sizeof(resp.headers[0].value) - 1);
}
END_TEST

Suite *http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *problems = tcase_create("problems");
	TCase *responses = tcase_create("responses");

	tcase_add_checked_fixture(problems, setup, teardown);
	tcase_add_test(problems, test_problem_not_found);
	tcase_add_test(problems, test_problem_types);
	tcase_add_test(problems, test_problem_unknown_status_is_internal);
	tcase_add_test(problems, test_status_of);
	suite_add_tcase(s, problems);

	tcase_add_checked_fixture(responses, setup, teardown);
	tcase_add_test(responses, test_svc_error_with_field);
	tcase_add_test(responses, test_svc_error_merges_extra);
	tcase_add_test(responses, test_svc_error_sqlstate_only_for_server_errors);
	tcase_add_test(responses, test_svc_error_unavailable_sets_retry_after);
	tcase_add_test(responses, test_svc_error_without_detail);
	tcase_add_test(responses, test_respond_problem_formats);
	tcase_add_test(responses, test_respond_text);
	tcase_add_test(responses, test_add_header_caps);
	tcase_add_test(responses, test_add_header_truncates_long_values);
	suite_add_tcase(s, responses);
	return s;
}
