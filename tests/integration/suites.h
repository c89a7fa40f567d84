/*
 * The Check suites that need a real PostgreSQL (DATABASE_URL, the test
 * cluster run.sh starts); check_main.c runs them all, t_suites.sh runs it.
 */
#ifndef PARTD_ITEST_SUITES_H
#define PARTD_ITEST_SUITES_H

#include <check.h>

Suite *pool_suite(void);
Suite *archive_db_suite(void);

#endif
