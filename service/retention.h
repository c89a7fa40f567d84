/*
 * retention: the seed's tiered retention for a managed table, as jobs.
 *
 *   hot   (upper bound after today - hot)   raw rows stay
 *   warm  (older than hot, newer than warm) rows rolled up per day into
 *         <t>_daily (verified), raw optionally archived, then detached
 *         and dropped
 *   cold  (older than warm)                 daily rolled up per month into
 *         <t>_monthly (verified), raw archived when the policy has an
 *         archive, then detached and dropped; its daily rows go (the
 *         monthly ones stay)
 *
 * One function builds the plan (retention_plan); the dry run returns it
 * and retention.run stores it in its checkpoint and carries it out, one
 * partition at a time, each step idempotent and in this order: rollup ->
 * verify -> archive -> verify -> detach -> drop. A rerun after a crash
 * finds where things stand from the catalog, partd.retiring and
 * partd.archives.
 *
 * retention.restore brings an archived partition back from its file.
 */
#ifndef PARTD_RETENTION_H
#define PARTD_RETENTION_H

#include <jansson.h>
#include <stdbool.h>

#include "ident.h"
#include "job.h"
#include "pool.h"

struct pg_conn;

extern const struct job_kind retention_run_kind;
extern const struct job_kind retention_restore_kind;

/* PARTD_RETENTION_HOUR and PARTD_RETENTION_STEP_DELAY_MS (see config.c). */
void retention_configure(long hour_utc, long step_delay_ms);
long retention_hour(void);

/*
 * Checks a policy's retention section against the catalog (its group_by
 * and metric columns exist and suit their fn). True when the policy has
 * none. On error, SVC_BAD_REQUEST naming the field.
 */
bool retention_check(struct pg_conn *conn, const struct qualified_name *qn, const json_t *policy,
		     struct svc_error *err);

/*
 * POST .../retention. With {"dry_run":true} returns the plan and sets
 * *dry_run; else enqueues retention.run. Errors as jobs_enqueue, plus
 * SVC_NOT_FOUND (not managed) and SVC_CONFLICT (no retention policy, not
 * partitioned).
 */
json_t *retention_start(struct pool *pool, const char *name, const json_t *body, const char *by,
			const char *idempotency_key, bool *dry_run, bool *replayed,
			struct svc_error *err);
/* GET .../archives: {"table", "archives":[...]}. */
json_t *retention_archives(struct pool *pool, const char *name, struct svc_error *err);
/* POST .../archives/{id}/restore: enqueues retention.restore. */
json_t *retention_restore(struct pool *pool, const char *name, const char *id, const json_t *body,
			  const char *by, const char *idempotency_key, bool *replayed,
			  struct svc_error *err);

#endif
