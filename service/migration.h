/*
 * migration: the online migration of a monolithic managed table into a
 * monthly-partitioned one while the application keeps writing, as jobs:
 *
 *   migration.run       plan/prepare -> dual-write -> copy -> validate -> cut-over
 *   migration.rollback  swap back to the original table (kept complete by a
 *                       reverse trigger during the rollback window)
 *   migration.finalize  drop the kept table and the trigger
 *
 * Names: <t>_new while copying, <t>_old after cut-over, <t>_view for
 * Prisma's @@map. State lives in partd.migrations; every phase resumes
 * from the job's checkpoint after a crash.
 */
#ifndef PARTD_MIGRATION_H
#define PARTD_MIGRATION_H

#include <jansson.h>
#include <stdbool.h>

#include "job.h"
#include "pool.h"

/* Connections the copy phase uses at once unless the request says "parallel". */
#define MIGRATION_PARALLEL_DEFAULT 2

extern const struct job_kind migration_run_kind;
extern const struct job_kind migration_rollback_kind;
extern const struct job_kind migration_finalize_kind;

/*
 * POST .../migration. With {"dry_run":true}, returns the plan and sets
 * *dry_run (nothing changes). Else enqueues migration.run; blockers make it
 * SVC_UNPROCESSABLE with err->extra {"blockers": [...]}.
 */
json_t *migration_start(struct pool *pool, const char *name, const json_t *body, const char *by,
			const char *idempotency_key, bool *dry_run, bool *replayed,
			struct svc_error *err);
/* GET .../migration: the migration's row, or SVC_NOT_FOUND. */
json_t *migration_get(struct pool *pool, const char *name, struct svc_error *err);
/* PATCH .../migration: batch_rows and max_rows_per_s of a running copy. */
json_t *migration_tune(struct pool *pool, const char *name, const json_t *body,
		       struct svc_error *err);
/* POST .../migration/rollback and .../migration/finalize. */
json_t *migration_after(struct pool *pool, const char *name, const char *kind,
			const json_t *body, const char *by, const char *idempotency_key,
			bool *replayed, struct svc_error *err);

/* PARTD_PLAN_SCAN_BUDGET_MS: see mig_range in migration.c. */
void migration_set_plan_scan_budget_ms(long ms);

#endif
