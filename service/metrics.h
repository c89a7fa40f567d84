/*
 * metrics: counters and histograms kept in memory, rendered in
 * Prometheus' text format together with gauges read at scrape time (pool,
 * workers, and job counts from the job table).
 */
#ifndef PARTD_METRICS_H
#define PARTD_METRICS_H

#include <stdbool.h>

#include "pool.h"
#include "strbuf.h"
#include "worker.h"

/* route is the route's pattern (bounded set), or "unmatched". */
void metrics_http_observe(const char *route, const char *method, int status, double seconds);
void metrics_job_observe(const char *kind, const char *state, double seconds);
/* Appends the whole exposition to out; pool and w may be NULL. */
bool metrics_render(strbuf *out, struct pool *pool, struct workers *w);

#endif
