/*
 * The unit-test runner: every module's suite in one SRunner. Exits non-zero
 * when any test fails. Tests run forked (Check's default), so process-wide
 * state (environment, metrics) does not leak from one test to the next.
 */
#include <stdlib.h>

#include "suites.h"

int main(void)
{
	Suite *(*const suites[])(void) = {
		archive_suite, auth_suite,    bound_suite,    calendar_suite, config_suite, copy_suite,   db_suite,     hash_suite,
		http_suite,    ident_suite,    job_suite,    jobs_suite,   metrics_suite,
		pace_suite,    policy_suite,  routes_suite,   strbuf_suite,  synctrig_suite,
	};
	SRunner *sr = srunner_create(NULL);
	size_t i;
	int failed;

	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		srunner_add_suite(sr, suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
