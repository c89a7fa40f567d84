/*
 * metrics: the Prometheus exposition. The counters are process-global;
 * Check forks each test, so every test starts from zero.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../service/metrics.h"
#include "suites.h"

#define REQS "partd_http_requests_total"
#define DUR "partd_http_request_duration_seconds"
#define JOB "partd_job_duration_seconds"
#define JOBS_ROUTE "{route=\"/v1/jobs\""
#define SLEEP_OK "{kind=\"diagnostic.sleep\",state=\"succeeded\""

static char *rendered;

static void teardown(void)
{
	free(rendered);
	rendered = NULL;
}

/* Renders without pool or workers; the text stays valid until teardown. */
static const char *render(void)
{
	strbuf sb;

	free(rendered);
	strbuf_init(&sb);
	ck_assert(metrics_render(&sb, NULL, NULL));
	rendered = strbuf_steal(&sb, NULL);
	return rendered;
}

/* Expects line, whole, among the lines of text. */
static void expect_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p;

	for (p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return;
	ck_abort_msg("no line '%s' in:\n%s", line, text);
}

static void expect_no_text(const char *text, const char *s)
{
	ck_assert_msg(strstr(text, s) == NULL, "unexpected '%s' in:\n%s", s, text);
}

START_TEST(test_http_counters_and_histogram)
{
	const char *t;

	metrics_http_observe("/v1/jobs", "GET", 200, 0.003);
	metrics_http_observe("/v1/jobs", "GET", 200, 0.003);
	metrics_http_observe("/v1/jobs", "POST", 405, 0.0005);
	t = render();

	expect_line(t, "# TYPE partd_http_requests_total counter");
	expect_line(t, REQS JOBS_ROUTE ",method=\"GET\",status=\"200\"} 2");
	expect_line(t, REQS JOBS_ROUTE ",method=\"POST\",status=\"405\"} 1");

	expect_line(t, "# TYPE partd_http_request_duration_seconds histogram");
	/* Buckets are cumulative: 0.0005 is in every bucket, 0.003 from 0.005 up. */
	expect_line(t, DUR "_bucket" JOBS_ROUTE ",le=\"0.001\"} 1");
	expect_line(t, DUR "_bucket" JOBS_ROUTE ",le=\"0.0025\"} 1");
	expect_line(t, DUR "_bucket" JOBS_ROUTE ",le=\"0.005\"} 3");
	expect_line(t, DUR "_bucket" JOBS_ROUTE ",le=\"10\"} 3");
	expect_line(t, DUR "_bucket" JOBS_ROUTE ",le=\"+Inf\"} 3");
	expect_line(t, DUR "_count" JOBS_ROUTE "} 3");
	expect_line(t, DUR "_sum" JOBS_ROUTE "} 0.006500");
}
END_TEST

START_TEST(test_two_gets)
{
	const char *t;

	metrics_http_observe("/v1/jobs", "GET", 200, 0.003);
	metrics_http_observe("/v1/jobs", "GET", 200, 0.003);
	metrics_job_observe("diagnostic.sleep", "succeeded", 2.0);
	t = render();

	expect_line(t, REQS JOBS_ROUTE ",method=\"GET\",status=\"200\"} 2");
	expect_line(t, DUR "_bucket" JOBS_ROUTE ",le=\"0.0025\"} 0");
	expect_line(t, DUR "_bucket" JOBS_ROUTE ",le=\"0.005\"} 2");
	expect_line(t, DUR "_count" JOBS_ROUTE "} 2");
	expect_line(t, DUR "_sum" JOBS_ROUTE "} 0.006000");

	expect_line(t, "# TYPE partd_job_duration_seconds histogram");
	expect_line(t, JOB "_count" SLEEP_OK "} 1");
	expect_line(t, JOB "_bucket" SLEEP_OK ",le=\"1\"} 0");
	expect_line(t, JOB "_bucket" SLEEP_OK ",le=\"5\"} 1");
	expect_line(t, JOB "_sum" SLEEP_OK "} 2.000000");
}
END_TEST

START_TEST(test_bucket_bounds_are_inclusive)
{
	const char *t;

	/* Prometheus' le means "less than or equal". */
	metrics_http_observe("/v1/jobs", "GET", 200, 0.005);
	metrics_job_observe("diagnostic.sleep", "succeeded", 60);
	t = render();
	expect_line(t, DUR "_bucket" JOBS_ROUTE ",le=\"0.0025\"} 0");
	expect_line(t, DUR "_bucket" JOBS_ROUTE ",le=\"0.005\"} 1");
	expect_line(t, JOB "_bucket" SLEEP_OK ",le=\"15\"} 0");
	expect_line(t, JOB "_bucket" SLEEP_OK ",le=\"60\"} 1");
}
END_TEST

START_TEST(test_gauges_without_pool)
{
	const char *t = render();

	expect_line(t, "# TYPE partd_up gauge");
	expect_line(t, "partd_up 1");
	expect_line(t, "partd_database_up 0");
	expect_line(t, "partd_pool_size 0");
	expect_line(t, "partd_workers 0");
	expect_line(t, "partd_workers_busy 0");
	expect_line(t, "partd_metrics_dropped_total 0");
	/* Nothing observed yet: families are declared but have no series. */
	expect_line(t, "# TYPE partd_http_requests_total counter");
	expect_no_text(t, "partd_http_requests_total{");
	expect_no_text(t, "partd_jobs{");
}
END_TEST

START_TEST(test_label_escaping)
{
	const char *t;

	metrics_job_observe("we\"ird", "fa\\iled", 1);
	metrics_http_observe("line\nbreak", "GET", 404, 0.001);
	t = render();

	expect_line(t, JOB "_count{kind=\"we\\\"ird\",state=\"fa\\\\iled\"} 1");
	expect_line(t, REQS "{route=\"line\\nbreak\",method=\"GET\",status=\"404\"} 1");
	expect_no_text(t, "line\nbreak");
}
END_TEST

START_TEST(test_long_label_is_cut_not_overflowed)
{
	char route[400];
	const char *t, *line;

	/* All quotes: each escapes to two bytes, so the cut must not split a pair. */
	memset(route, '"', sizeof(route) - 1);
	route[sizeof(route) - 1] = '\0';
	metrics_http_observe(route, "GET", 200, 0.01);
	t = render();
	line = strstr(t, "partd_http_requests_total{route=\"\\\"");
	ck_assert_ptr_nonnull(line);
	/* The value ends on a whole escape: backslash-quote pairs, then the closing quote. */
	line += strlen("partd_http_requests_total{route=\"");
	while (line[0] == '\\' && line[1] == '"')
		line += 2;
	ck_assert_msg(strncmp(line, "\",method=\"GET\",status=\"200\"} 1\n", 31) == 0,
		      "bad line tail: %.60s", line);
}
END_TEST

START_TEST(test_series_cap_counts_dropped)
{
	char route[32];
	const char *t;
	int i;

	/* 600 routes: each makes one requests series and one duration series. */
	for (i = 0; i < 600; i++) {
		snprintf(route, sizeof(route), "/r%d", i);
		metrics_http_observe(route, "GET", 200, 0.01);
	}
	/* An existing series still counts once its family is full. */
	metrics_http_observe("/r0", "GET", 200, 0.01);
	t = render();
	expect_line(t, "partd_metrics_dropped_total 176");
	expect_line(t, REQS "{route=\"/r0\",method=\"GET\",status=\"200\"} 2");
	expect_line(t, REQS "{route=\"/r511\",method=\"GET\",status=\"200\"} 1");
	expect_no_text(t, "route=\"/r512\"");
}
END_TEST

Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("render");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_http_counters_and_histogram);
	tcase_add_test(tc, test_two_gets);
	tcase_add_test(tc, test_bucket_bounds_are_inclusive);
	tcase_add_test(tc, test_gauges_without_pool);
	tcase_add_test(tc, test_label_escaping);
	tcase_add_test(tc, test_long_label_is_cut_not_overflowed);
	tcase_add_test(tc, test_series_cap_counts_dropped);
	suite_add_tcase(s, tc);
	return s;
}
