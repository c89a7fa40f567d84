/*
 * ddl: how every job runs DDL (safety rule 1 of DESIGN): statements in one
 * transaction, sent as one round trip, under lock_timeout; a lock
 * time-out is retried with backoff and jitter, and each retry's event
 * names who held locks on the relations the job touches.
 */
#ifndef PARTD_DDL_H
#define PARTD_DDL_H

#include <stdbool.h>
#include <stddef.h>

#include "job.h"

#define DDL_ATTEMPTS 8

/*
 * Whether a statement that failed with sqlstate may simply be tried again
 * later: a lock_timeout (55P03) or a deadlock with the application's
 * writes (40P01). The one rule for every DDL retry and for a job's retry.
 */
bool ddl_retryable(const char *sqlstate);
/* How long to wait before attempt + 1: exponential, capped, with jitter. */
long ddl_backoff_ms(int attempt);

/*
 * Runs stmts[0..n) in one transaction on the job's connection. oids (noids
 * of them) are the relations whose lock holders a retry reports. On error,
 * false, the transaction rolled back and err filled (SQLSTATE 55P03 when
 * the locks never came, or the job was asked to stop while waiting).
 */
bool ddl_transaction(struct job_ctx *ctx, const char *what, const char *const *stmts, size_t n,
		     const unsigned int *oids, size_t noids, struct svc_error *err);

/*
 * The same for undoing what a cancelled job made: its retries go on through
 * the cancel (which is what asked for the cleanup).
 */
bool ddl_cleanup_transaction(struct job_ctx *ctx, const char *what, const char *const *stmts,
			     size_t n, const unsigned int *oids, size_t noids, struct svc_error *err);

/*
 * The same for one statement that cannot run inside a transaction block
 * (DETACH PARTITION ... CONCURRENTLY, or its FINALIZE): lock_timeout is set
 * for the session around it and reset after, whatever happened.
 */
bool ddl_statement_alone(struct job_ctx *ctx, const char *what, const char *sql,
			 const unsigned int *oids, size_t noids, struct svc_error *err);

#endif
