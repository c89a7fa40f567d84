/* The registry of job kinds: one row per kind, looked up by name. */
#include <string.h>

#include "diag.h"
#include "job.h"
#include "migration.h"
#include "partitions.h"
#include "retention.h"

static const struct job_kind *const job_kinds[] = {
	&diag_sleep_kind,
	&partitions_create_kind,
	&migration_run_kind,
	&migration_rollback_kind,
	&migration_finalize_kind,
	&retention_run_kind,
	&retention_restore_kind,
};

const struct job_kind *job_kind_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(job_kinds) / sizeof(job_kinds[0]); i++)
		if (strcmp(job_kinds[i]->name, name) == 0)
			return job_kinds[i];
	return NULL;
}
