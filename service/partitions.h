/*
 * partitions: the job kind "partitions.create", which makes the missing
 * partitions of a managed table as standalone tables (LIKE the parent,
 * with a CHECK constraint matching the bounds), moves any rows for their
 * range out of the default partition in batches, and ATTACHes them, every
 * DDL transaction under lock_timeout with retries.
 */
#ifndef PARTD_PARTITIONS_H
#define PARTD_PARTITIONS_H

#include <jansson.h>

#include "ident.h"
#include "job.h"
#include "pool.h"

extern const struct job_kind partitions_create_kind;

/*
 * The non-default partitions of the table oid, from the catalog's bounds:
 * [{"name", "from", "to"}], from and to as day numbers (to exclusive; an
 * open side is LONG_MIN or LONG_MAX). On error, NULL and err filled.
 */
json_t *partitions_existing(PGconn *conn, unsigned int oid, struct svc_error *err);

/*
 * Checks that name is a managed, partitioned table and enqueues a
 * partitions.create job for it with the request body (ahead, or from and
 * to). Errors as jobs_enqueue, plus SVC_NOT_FOUND (not managed) and
 * SVC_CONFLICT (not partitioned yet).
 */
json_t *partitions_enqueue(struct pool *pool, const char *name, const json_t *body,
			   const char *by, const char *idempotency_key, bool *replayed,
			   struct svc_error *err);

/*
 * For other jobs (retention's rollup tables): makes the partition [from,
 * to) (day numbers, one interval) of the managed table qn on the job's
 * connection, the way partitions.create does, unless it exists. On error,
 * false with err filled (SVC_CONFLICT when another partition overlaps).
 */
bool partitions_ensure(struct job_ctx *ctx, const struct qualified_name *qn, long from, long to,
		       struct svc_error *err);

#endif
