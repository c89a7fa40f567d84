/*
 * DESIGN: each family is a small array of series under one mutex, found by
 * a linear scan of its label string. Label values come from partd's own
 * tables (route patterns, job kinds and states, HTTP statuses), so the
 * number of series stays small and bounded; past the cap new series are
 * dropped and counted in partd_metrics_dropped_total.
 */
#include "metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jobs.h"
#include "scheduler.h"
#include "tables.h"

#define MAX_SERIES 512
#define MAX_BUCKETS 16

struct series {
	char labels[192];
	unsigned long long count;
	double sum;
	unsigned long long buckets[MAX_BUCKETS];
};

struct family {
	const char *name;
	const char *help;
	bool histogram;
	const double *bounds;
	int nbounds;
	int n;
	struct series series[MAX_SERIES];
};

static const double http_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
				     0.25,  0.5,    1,     2.5,  5,     10};
static const double job_bounds[] = {1, 5, 15, 60, 300, 900, 3600, 14400, 86400};

static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long long metrics_dropped;

static struct family http_requests = {
	.name = "partd_http_requests_total",
	.help = "HTTP requests by route pattern, method and status",
};
static struct family http_duration = {
	.name = "partd_http_request_duration_seconds",
	.help = "HTTP request latency by route pattern",
	.histogram = true,
	.bounds = http_bounds,
	.nbounds = sizeof(http_bounds) / sizeof(http_bounds[0]),
};
static struct family job_duration = {
	.name = "partd_job_duration_seconds",
	.help = "time from first start to end of jobs finished by this process, by kind and "
		"final state",
	.histogram = true,
	.bounds = job_bounds,
	.nbounds = sizeof(job_bounds) / sizeof(job_bounds[0]),
};

/* Escapes a label value per the exposition format. */
static void label_escape(char *out, size_t outlen, const char *in)
{
	size_t o = 0;

	for (; *in && o + 3 < outlen; in++) {
		if (*in == '\\' || *in == '"') {
			out[o++] = '\\';
			out[o++] = *in;
		} else if (*in == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
}

/* Finds or adds the series with these labels; call with metrics_lock held. */
static struct series *family_series(struct family *f, const char *labels)
{
	int i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->series[i].labels, labels) == 0)
			return &f->series[i];
	if (f->n == MAX_SERIES) {
		metrics_dropped++;
		return NULL;
	}
	snprintf(f->series[f->n].labels, sizeof(f->series[0].labels), "%s", labels);
	return &f->series[f->n++];
}

static void family_observe(struct family *f, const char *labels, double value)
{
	struct series *s;
	int i;

	pthread_mutex_lock(&metrics_lock);
	if ((s = family_series(f, labels)) != NULL) {
		s->count++;
		s->sum += value;
		for (i = 0; i < f->nbounds; i++)
			if (value <= f->bounds[i])
				s->buckets[i]++;
	}
	pthread_mutex_unlock(&metrics_lock);
}

void metrics_http_observe(const char *route, const char *method, int status, double seconds)
{
	char r[96], m[24], labels[192];

	label_escape(r, sizeof(r), route);
	label_escape(m, sizeof(m), method);
	snprintf(labels, sizeof(labels), "route=\"%s\",method=\"%s\",status=\"%d\"", r, m, status);
	family_observe(&http_requests, labels, 1);
	snprintf(labels, sizeof(labels), "route=\"%s\"", r);
	family_observe(&http_duration, labels, seconds);
}

void metrics_job_observe(const char *kind, const char *state, double seconds)
{
	char k[96], s[32], labels[192];

	label_escape(k, sizeof(k), kind);
	label_escape(s, sizeof(s), state);
	snprintf(labels, sizeof(labels), "kind=\"%s\",state=\"%s\"", k, s);
	family_observe(&job_duration, labels, seconds);
}

static void family_render(strbuf *out, const struct family *f)
{
	int i, b;

	strbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
		      f->histogram ? "histogram" : "counter");
	for (i = 0; i < f->n; i++) {
		const struct series *s = &f->series[i];
		if (!f->histogram) {
			strbuf_printf(out, "%s{%s} %llu\n", f->name, s->labels, s->count);
			continue;
		}
		for (b = 0; b < f->nbounds; b++)
			strbuf_printf(out, "%s_bucket{%s,le=\"%g\"} %llu\n", f->name, s->labels,
				      f->bounds[b], s->buckets[b]);
		strbuf_printf(out, "%s_bucket{%s,le=\"+Inf\"} %llu\n", f->name, s->labels, s->count);
		strbuf_printf(out, "%s_sum{%s} %.6f\n%s_count{%s} %llu\n", f->name, s->labels, s->sum,
			      f->name, s->labels, s->count);
	}
}

static void gauge(strbuf *out, const char *name, const char *help)
{
	strbuf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* Per managed table gauges, from the same status the API shows. */
static void metrics_render_tables_now(strbuf *out, struct pool *pool)
{
	static const struct {
		const char *name, *key, *help;
	} g[] = {
		{"partd_table_partitions", "partitions", "partitions of a managed table"},
		{"partd_table_runway", "runway", "whole intervals after the current one with partitions"},
		{"partd_table_default_rows", "default_rows", "rows in the default partition"},
		{"partd_table_largest_partition_bytes", "largest_partition_bytes",
		 "size of the largest partition, indexes included"},
		{"partd_table_oldest_vacuum_age_seconds", "oldest_vacuum_age_s",
		 "time since the least recently vacuumed partition was vacuumed"},
	};
	struct svc_error err = {0};
	json_t *list = pool ? tables_list(pool, &err) : NULL, *t;
	size_t i, k;

	for (k = 0; k < sizeof(g) / sizeof(g[0]); k++) {
		gauge(out, g[k].name, g[k].help);
		json_array_foreach(json_object_get(list, "tables"), i, t) {
			const json_t *v = json_object_get(json_object_get(t, "summary"), g[k].key);
			char name[160];
			if (!json_is_integer(v))
				continue;
			label_escape(name, sizeof(name), json_string_value(json_object_get(t, "table")));
			strbuf_printf(out, "%s{table=\"%s\"} %lld\n", g[k].name, name,
				      (long long)json_integer_value(v));
		}
	}
	json_decref(list);
	svc_error_clear(&err);
}

/*
 * /metrics needs no token, and a table's status costs catalog queries and a
 * bounded count of its default partition: scrapes within TABLES_TTL_S of
 * the last one get the same text, so no scrape rate can load the database.
 */
#define TABLES_TTL_S 15

static void metrics_render_tables(strbuf *out, struct pool *pool)
{
	static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
	static char *cache;
	static time_t cache_at;
	struct timespec now;
	strbuf fresh;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&cache_lock);
	if (!cache || now.tv_sec - cache_at >= TABLES_TTL_S) {
		strbuf_init(&fresh);
		metrics_render_tables_now(&fresh, pool);
		if (!fresh.failed) {
			free(cache);
			cache = strbuf_steal(&fresh, NULL);
			cache_at = now.tv_sec;
		}
		strbuf_free(&fresh);
	}
	if (cache)
		strbuf_puts(out, cache);
	pthread_mutex_unlock(&cache_lock);
}

bool metrics_render(strbuf *out, struct pool *pool, struct workers *w)
{
	struct svc_error err = {0};
	struct pool_stats ps = {0};
	json_t *counts = pool ? jobs_counts(pool, &err) : NULL, *row;
	size_t i;

	gauge(out, "partd_up", "1 while partd runs");
	strbuf_puts(out, "partd_up 1\n");

	pthread_mutex_lock(&metrics_lock);
	family_render(out, &http_requests);
	family_render(out, &http_duration);
	family_render(out, &job_duration);
	strbuf_printf(out,
		      "# HELP partd_metrics_dropped_total series dropped for being over the cap\n"
		      "# TYPE partd_metrics_dropped_total counter\npartd_metrics_dropped_total %llu\n",
		      metrics_dropped);
	pthread_mutex_unlock(&metrics_lock);

	if (pool)
		pool_get_stats(pool, &ps);
	gauge(out, "partd_pool_size", "request pool connections allowed");
	strbuf_printf(out, "partd_pool_size %d\n", ps.size);
	gauge(out, "partd_pool_connections", "request pool connections by state");
	strbuf_printf(out, "partd_pool_connections{state=\"in_use\"} %d\n", ps.in_use);
	strbuf_printf(out, "partd_pool_connections{state=\"idle\"} %d\n", ps.idle);
	gauge(out, "partd_pool_waiting", "requests waiting for a pool connection");
	strbuf_printf(out, "partd_pool_waiting %d\n", ps.waiting);
	gauge(out, "partd_workers", "job worker threads configured");
	strbuf_printf(out, "partd_workers %d\n", workers_count(w));
	gauge(out, "partd_workers_busy", "job worker threads running a job");
	strbuf_printf(out, "partd_workers_busy %d\n", workers_busy(w));

	gauge(out, "partd_jobs", "jobs in the job table by kind and state (all replicas)");
	json_array_foreach(counts, i, row) {
		char k[96], s[32];
		label_escape(k, sizeof(k), json_string_value(json_array_get(row, 0)));
		label_escape(s, sizeof(s), json_string_value(json_array_get(row, 1)));
		strbuf_printf(out, "partd_jobs{kind=\"%s\",state=\"%s\"} %lld\n", k, s,
			      (long long)json_integer_value(json_array_get(row, 2)));
	}
	metrics_render_tables(out, pool);
	gauge(out, "partd_scheduler_last_pass_seconds",
	      "duration of this replica's last scheduler pass (absent before the first)");
	if (scheduler_last_pass_seconds() >= 0)
		strbuf_printf(out, "partd_scheduler_last_pass_seconds %.6f\n",
			      scheduler_last_pass_seconds());
	gauge(out, "partd_database_up", "1 when the job table could be read for this scrape");
	strbuf_printf(out, "partd_database_up %d\n", counts ? 1 : 0);
	json_decref(counts);
	svc_error_clear(&err);
	return !out->failed;
}
