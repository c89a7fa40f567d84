/*
 * worker: the threads that run jobs. Each worker thread has its own
 * database connection (not from the request pool); one heartbeat thread,
 * with one more connection, renews the leases of the jobs this process
 * runs and notices cancel requests.
 */
#ifndef PARTD_WORKER_H
#define PARTD_WORKER_H

#include <stdbool.h>

#include "config.h"

struct workers;

/* Starts cfg->workers threads. On error, NULL is returned and none run. */
struct workers *workers_start(const struct config *cfg);
/*
 * Asks every running job to stop at its next safe point, hands unfinished
 * jobs back to the queue (checkpoint kept), joins the threads and frees w.
 * NULL is fine.
 */
void workers_stop(struct workers *w);
/* True when every worker thread is running. */
bool workers_ready(struct workers *w, char *why, size_t whylen);
int workers_busy(struct workers *w);
int workers_count(struct workers *w);

#endif
