/*
 * The Check suites of partd's unit tests, one per module; main.c runs them
 * all. No test here needs a database.
 */
#ifndef PARTD_TEST_SUITES_H
#define PARTD_TEST_SUITES_H

#include <check.h>

Suite *archive_suite(void);
Suite *auth_suite(void);
Suite *bound_suite(void);
Suite *calendar_suite(void);
Suite *config_suite(void);
Suite *copy_suite(void);
Suite *db_suite(void);
Suite *hash_suite(void);
Suite *http_suite(void);
Suite *ident_suite(void);
Suite *job_suite(void);
Suite *jobs_suite(void);
Suite *metrics_suite(void);
Suite *pace_suite(void);
Suite *policy_suite(void);
Suite *routes_suite(void);
Suite *strbuf_suite(void);
Suite *synctrig_suite(void);

#endif
