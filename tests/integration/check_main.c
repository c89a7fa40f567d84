/* Runs the Check suites that need a real PostgreSQL (suites.h). */
#include <check.h>

#include "suites.h"

int main(void)
{
	SRunner *sr = srunner_create(pool_suite());
	int failed;

	srunner_add_suite(sr, archive_db_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
