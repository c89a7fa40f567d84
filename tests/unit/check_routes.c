/* routes: the route table and route_match. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../../api/handlers.h"
#include "../../api/routes.h"
#include "suites.h"

struct match {
	enum route_result result;
	const struct route *route;
	char params[HTTP_MAX_PARAMS][HTTP_PARAM_MAX];
	int nparams;
	char allow[64];
};

static struct match match(const char *method, const char *path)
{
	struct match m;

	memset(&m, 0, sizeof(m));
	m.nparams = -1;
	strcpy(m.allow, "junk");
	m.result = route_match(method, path, &m.route, m.params, &m.nparams, m.allow,
			       sizeof(m.allow));
	return m;
}

/* Expects method and path to find pattern with handler, scope and no params. */
static void expect_found(const char *method, const char *path, const char *pattern,
			 route_handler handler, enum auth_scope scope)
{
	struct match m = match(method, path);

	ck_assert_msg(m.result == ROUTE_FOUND, "%s %s: result %d, not found", method, path,
		      m.result);
	ck_assert_ptr_nonnull(m.route);
	ck_assert_str_eq(m.route->method, method);
	ck_assert_str_eq(m.route->pattern, pattern);
	ck_assert_msg(m.route->handler == handler, "%s %s: wrong handler", method, path);
	ck_assert_int_eq(m.route->scope, scope);
	if (!strchr(pattern, '{'))
		ck_assert_int_eq(m.nparams, 0);
}

static void expect_no_path(const char *method, const char *path)
{
	struct match m = match(method, path);

	ck_assert_msg(m.result == ROUTE_NO_PATH, "%s '%.40s': result %d, not ROUTE_NO_PATH",
		      method, path, m.result);
}

START_TEST(test_open_routes)
{
	expect_found("GET", "/healthz", "/healthz", h_healthz, AUTH_NONE);
	expect_found("GET", "/readyz", "/readyz", h_readyz, AUTH_NONE);
	expect_found("GET", "/metrics", "/metrics", h_metrics, AUTH_NONE);
	expect_found("GET", "/openapi.yaml", "/openapi.yaml", h_openapi, AUTH_NONE);
}
END_TEST

START_TEST(test_tables_routes)
{
	struct match m;

	expect_found("GET", "/v1/tables", "/v1/tables", h_tables_list, AUTH_READ);
	expect_found("GET", "/v1/tables/public.ev", "/v1/tables/{table}", h_tables_get, AUTH_READ);
	expect_found("PUT", "/v1/tables/public.ev", "/v1/tables/{table}", h_tables_put, AUTH_ADMIN);
	expect_found("DELETE", "/v1/tables/ev", "/v1/tables/{table}", h_tables_delete, AUTH_ADMIN);
	expect_found("GET", "/v1/tables/ev/partitions", "/v1/tables/{table}/partitions",
		     h_partitions_list, AUTH_READ);
	expect_found("POST", "/v1/tables/ev/partitions", "/v1/tables/{table}/partitions",
		     h_partitions_create, AUTH_OPERATE);
	expect_found("GET", "/v1/tables/ev/pruning", "/v1/tables/{table}/pruning", h_tables_pruning,
		     AUTH_READ);
	m = match("POST", "/v1/tables/public.ev");
	ck_assert_int_eq(m.result, ROUTE_NO_METHOD);
	ck_assert_str_eq(m.allow, "GET, PUT, DELETE");
	m = match("GET", "/v1/tables/public.ev/partitions");
	ck_assert_str_eq(m.params[0], "public.ev");
	expect_no_path("GET", "/v1/tables/a/b/partitions");
	expect_found("POST", "/v1/tables/ev/migration", "/v1/tables/{table}/migration",
		     h_migration_start, AUTH_OPERATE);
	expect_found("GET", "/v1/tables/ev/migration", "/v1/tables/{table}/migration",
		     h_migration_get, AUTH_READ);
	expect_found("PATCH", "/v1/tables/ev/migration", "/v1/tables/{table}/migration",
		     h_migration_tune, AUTH_OPERATE);
	expect_found("POST", "/v1/tables/ev/migration/rollback",
		     "/v1/tables/{table}/migration/rollback", h_migration_rollback, AUTH_ADMIN);
	expect_found("POST", "/v1/tables/ev/migration/finalize",
		     "/v1/tables/{table}/migration/finalize", h_migration_finalize, AUTH_ADMIN);
	m = match("DELETE", "/v1/tables/ev/migration");
	ck_assert_str_eq(m.allow, "POST, GET, PATCH");
	expect_found("POST", "/v1/tables/ev/retention", "/v1/tables/{table}/retention",
		     h_retention_run, AUTH_OPERATE);
	expect_found("GET", "/v1/tables/ev/archives", "/v1/tables/{table}/archives", h_archives_list,
		     AUTH_READ);
	expect_found("POST", "/v1/tables/ev/archives/7/restore",
		     "/v1/tables/{table}/archives/{id}/restore", h_archive_restore, AUTH_ADMIN);
	m = match("POST", "/v1/tables/public.ev/archives/7/restore");
	ck_assert_str_eq(m.params[0], "public.ev");
	ck_assert_str_eq(m.params[1], "7");
	m = match("GET", "/v1/tables/ev/retention");
	ck_assert_int_eq(m.result, ROUTE_NO_METHOD);
	ck_assert_str_eq(m.allow, "POST");
	expect_no_path("POST", "/v1/tables/ev/archives/7");
}
END_TEST

START_TEST(test_jobs_list)
{
	struct match m = match("GET", "/v1/jobs");
	const char *const *q;
	bool has_state = false, has_cursor = false;

	expect_found("GET", "/v1/jobs", "/v1/jobs", h_jobs_list, AUTH_READ);
	ck_assert_int_eq(m.route->body, BODY_NONE);
	ck_assert_ptr_nonnull(m.route->query);
	for (q = m.route->query; *q; q++) {
		has_state |= strcmp(*q, "state") == 0;
		has_cursor |= strcmp(*q, "cursor") == 0;
	}
	ck_assert(has_state);
	ck_assert(has_cursor);
}
END_TEST

START_TEST(test_jobs_get_captures_id)
{
	struct match m = match("GET", "/v1/jobs/42");

	ck_assert_int_eq(m.result, ROUTE_FOUND);
	ck_assert_str_eq(m.route->pattern, "/v1/jobs/{id}");
	ck_assert(m.route->handler == h_jobs_get);
	ck_assert_int_eq(m.route->scope, AUTH_READ);
	ck_assert_int_eq(m.nparams, 1);
	ck_assert_str_eq(m.params[0], "42");
}
END_TEST

START_TEST(test_jobs_events_captures_id)
{
	struct match m = match("GET", "/v1/jobs/42/events");

	ck_assert_int_eq(m.result, ROUTE_FOUND);
	ck_assert_str_eq(m.route->pattern, "/v1/jobs/{id}/events");
	ck_assert(m.route->handler == h_jobs_events);
	ck_assert_int_eq(m.route->scope, AUTH_READ);
	ck_assert_int_eq(m.nparams, 1);
	ck_assert_str_eq(m.params[0], "42");
}
END_TEST

START_TEST(test_jobs_cancel_captures_id)
{
	struct match m = match("POST", "/v1/jobs/42/cancel");

	ck_assert_int_eq(m.result, ROUTE_FOUND);
	ck_assert_str_eq(m.route->pattern, "/v1/jobs/{id}/cancel");
	ck_assert(m.route->handler == h_jobs_cancel);
	ck_assert_int_eq(m.route->scope, AUTH_OPERATE);
	ck_assert_int_eq(m.nparams, 1);
	ck_assert_str_eq(m.params[0], "42");
}
END_TEST

START_TEST(test_diagnostics_sleep)
{
	struct match m = match("POST", "/v1/diagnostics/sleep");

	expect_found("POST", "/v1/diagnostics/sleep", "/v1/diagnostics/sleep", h_diagnostics_sleep,
		     AUTH_ADMIN);
	ck_assert_int_eq(m.route->body, BODY_JSON);
}
END_TEST

START_TEST(test_id_is_captured_verbatim)
{
	/* The router captures; the handler validates (jobs_parse_id). */
	struct match m = match("GET", "/v1/jobs/abc");

	ck_assert_int_eq(m.result, ROUTE_FOUND);
	ck_assert_str_eq(m.params[0], "abc");
}
END_TEST

START_TEST(test_unknown_paths)
{
	expect_no_path("GET", "/v1/job");
	expect_no_path("GET", "/v1/jobs/");
	expect_no_path("GET", "/v1/jobs/1/2/3");
	expect_no_path("GET", "/v1/jobs/1/events/");
	expect_no_path("GET", "/v1/jobs//events");
	expect_no_path("GET", "");
	expect_no_path("GET", "/");
	expect_no_path("GET", "/healthz/x");
	expect_no_path("GET", "/healthz/");
	expect_no_path("GET", "/healthzz");
	expect_no_path("GET", "healthz");
	expect_no_path("GET", "//healthz");
	expect_no_path("GET", "/HEALTHZ");
	expect_no_path("POST", "/v1/diagnostics");
	expect_no_path("DELETE", "/nope");
}
END_TEST

START_TEST(test_wrong_method_lists_allowed)
{
	struct match m = match("DELETE", "/v1/jobs");

	ck_assert_int_eq(m.result, ROUTE_NO_METHOD);
	ck_assert_str_eq(m.allow, "GET");

	m = match("GET", "/v1/jobs/1/cancel");
	ck_assert_int_eq(m.result, ROUTE_NO_METHOD);
	ck_assert_str_eq(m.allow, "POST");

	m = match("POST", "/healthz");
	ck_assert_int_eq(m.result, ROUTE_NO_METHOD);
	ck_assert_str_eq(m.allow, "GET");

	m = match("GET", "/v1/diagnostics/sleep");
	ck_assert_int_eq(m.result, ROUTE_NO_METHOD);
	ck_assert_str_eq(m.allow, "POST");
}
END_TEST

START_TEST(test_method_is_case_sensitive)
{
	struct match m = match("get", "/healthz");

	ck_assert_int_eq(m.result, ROUTE_NO_METHOD);
	ck_assert_str_eq(m.allow, "GET");
}
END_TEST

START_TEST(test_found_clears_allow)
{
	struct match m = match("GET", "/healthz");

	ck_assert_int_eq(m.result, ROUTE_FOUND);
	ck_assert_str_eq(m.allow, "");
}
END_TEST

START_TEST(test_longest_id_that_fits)
{
	char path[400], id[HTTP_PARAM_MAX];
	struct match m;

	memset(id, '7', HTTP_PARAM_MAX - 1);
	id[HTTP_PARAM_MAX - 1] = '\0';
	snprintf(path, sizeof(path), "/v1/jobs/%s/events", id);
	m = match("GET", path);
	ck_assert_int_eq(m.result, ROUTE_FOUND);
	ck_assert_int_eq(strlen(m.params[0]), HTTP_PARAM_MAX - 1);
	ck_assert_str_eq(m.params[0], id);
}
END_TEST

START_TEST(test_oversized_id_does_not_match)
{
	char path[400], id[301];
	struct match m;

	memset(id, '1', 300);
	id[300] = '\0';
	snprintf(path, sizeof(path), "/v1/jobs/%s", id);
	m = match("GET", path);
	ck_assert_int_eq(m.result, ROUTE_NO_PATH);
	ck_assert_ptr_null(m.route);

	snprintf(path, sizeof(path), "/v1/jobs/%s/cancel", id);
	m = match("POST", path);
	ck_assert_int_eq(m.result, ROUTE_NO_PATH);

	/* One byte over the buffer. */
	memset(id, '1', HTTP_PARAM_MAX);
	id[HTTP_PARAM_MAX] = '\0';
	snprintf(path, sizeof(path), "/v1/jobs/%s", id);
	ck_assert_int_eq(match("GET", path).result, ROUTE_NO_PATH);
}
END_TEST

Suite *routes_suite(void)
{
	Suite *s = suite_create("routes");
	TCase *tc = tcase_create("match");

	tcase_add_test(tc, test_open_routes);
	tcase_add_test(tc, test_tables_routes);
	tcase_add_test(tc, test_jobs_list);
	tcase_add_test(tc, test_jobs_get_captures_id);
	tcase_add_test(tc, test_jobs_events_captures_id);
	tcase_add_test(tc, test_jobs_cancel_captures_id);
	tcase_add_test(tc, test_diagnostics_sleep);
	tcase_add_test(tc, test_id_is_captured_verbatim);
	tcase_add_test(tc, test_unknown_paths);
	tcase_add_test(tc, test_wrong_method_lists_allowed);
	tcase_add_test(tc, test_method_is_case_sensitive);
	tcase_add_test(tc, test_found_clears_allow);
	tcase_add_test(tc, test_longest_id_that_fits);
	tcase_add_test(tc, test_oversized_id_does_not_match);
	suite_add_tcase(s, tc);
	return s;
}
