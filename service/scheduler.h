/*
 * scheduler: keeps every managed table's coming partitions made, without
 * anyone calling. Every PARTD_SCHEDULER_INTERVAL_S it looks at each
 * managed table and enqueues an ordinary partitions.create job (created_by
 * "scheduler") for a table missing any of its coming `premake` intervals.
 * Only the replica holding the scheduler's advisory lock acts.
 */
#ifndef PARTD_SCHEDULER_H
#define PARTD_SCHEDULER_H

#include "config.h"

struct pg_conn;
struct scheduler;

struct scheduler_pass {
	int tables;   /* looked at */
	int enqueued; /* jobs made */
	int failed;   /* tables that could not be checked */
	double seconds;
};

/* Starts the scheduler thread. On error, NULL is returned. */
struct scheduler *scheduler_start(const struct config *cfg);
/* Stops and joins the thread, frees s. NULL is fine. */
void scheduler_stop(struct scheduler *s);
/*
 * One pass on conn (which must hold the scheduler lock). A failure on one
 * table is logged and counted, and the others go on.
 */
void scheduler_pass(struct pg_conn *conn, struct scheduler_pass *out);
/* The last pass's duration in seconds, -1 before any (for /metrics). */
double scheduler_last_pass_seconds(void);

#endif
