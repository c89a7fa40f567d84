/*
 * The Check suites that need a real PostgreSQL (DATABASE_URL, the test
 * cluster run.sh starts); check_main.c runs them all, t_suites.sh runs it.
 */
#ifndef PARTD_ITEST_SUITES_H
#define PARTD_ITEST_SUITES_H

#include <check.h>
#include <stdlib.h>
#include <time.h>

Suite *pool_suite(void);
Suite *archive_db_suite(void);

/* DATABASE_URL: the test cluster run.sh started. */
static inline const char *itest_url(void)
{
	const char *u = getenv("DATABASE_URL");

	ck_assert_msg(u && *u, "DATABASE_URL must point at the test cluster");
	return u;
}

static inline double itest_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
