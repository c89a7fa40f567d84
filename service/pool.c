/*
 * DESIGN: the pool is a fixed array of slots under one mutex. Any request
 * thread may borrow; it takes a free slot (preferring one already open),
 * marks it busy, and leaves the mutex before doing any network I/O (connect
 * or health check), so a slow database never blocks other borrowers on the
 * mutex. A thread that finds every slot busy waits on a condition variable
 * until a slot is returned or its deadline passes.
 */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "log.h"

struct pool_slot {
	PGconn *conn;     /* NULL until first used, or after it broke */
	bool busy;
	time_t last_used; /* CLOCK_MONOTONIC seconds */
};

struct pool {
	pthread_mutex_t lock;
	pthread_cond_t freed;
	char *conninfo;
	long timeout_ms;
	long idle_check_s;
	long statement_timeout_ms;
	int size;
	int waiting;
	struct pool_slot *slots;
};

static time_t monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

struct pool *pool_create(const char *conninfo, int size, long timeout_ms, long idle_check_s,
			 long statement_timeout_ms)
{
	struct pool *pool = calloc(1, sizeof(*pool));
	pthread_condattr_t attr;

	if (!pool)
		return NULL;
	pool->slots = calloc((size_t)size, sizeof(*pool->slots));
	pool->conninfo = strdup(conninfo);
	if (!pool->slots || !pool->conninfo) {
		free(pool->slots);
		free(pool->conninfo);
		free(pool);
		return NULL;
	}
	pool->size = size;
	pool->timeout_ms = timeout_ms;
	pool->idle_check_s = idle_check_s;
	pool->statement_timeout_ms = statement_timeout_ms;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&pool->freed, &attr);
	pthread_condattr_destroy(&attr);
	return pool;
}

/* Takes a free slot, preferring an open connection; -1 when all are busy. */
static int pool_take_slot(struct pool *pool)
{
	int i, closed = -1;

	for (i = 0; i < pool->size; i++) {
		if (pool->slots[i].busy)
			continue;
		if (pool->slots[i].conn) {
			pool->slots[i].busy = true;
			return i;
		}
		if (closed < 0)
			closed = i;
	}
	if (closed >= 0)
		pool->slots[closed].busy = true;
	return closed;
}

/* Stores what became of a lent slot's connection and frees the slot. */
static void pool_release_slot(struct pool *pool, int i, PGconn *conn)
{
	pthread_mutex_lock(&pool->lock);
	pool->slots[i].conn = conn;
	pool->slots[i].busy = false;
	pool->slots[i].last_used = monotonic_s();
	pthread_cond_signal(&pool->freed);
	pthread_mutex_unlock(&pool->lock);
}

PGconn *pool_borrow(struct pool *pool, char *err, size_t errlen)
{
	struct timespec deadline;
	PGconn *conn;
	bool check;
	int i, rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += pool->timeout_ms / 1000;
	deadline.tv_nsec += (pool->timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}

	pthread_mutex_lock(&pool->lock);
	while ((i = pool_take_slot(pool)) < 0 && rc != ETIMEDOUT) {
		pool->waiting++;
		rc = pthread_cond_timedwait(&pool->freed, &pool->lock, &deadline);
		pool->waiting--;
	}
	if (i < 0) {
		pthread_mutex_unlock(&pool->lock);
		snprintf(err, errlen,
			 "all %d database connections are busy; waited %ld ms (raise PARTD_POOL_SIZE "
			 "if this persists)",
			 pool->size, pool->timeout_ms);
		return NULL;
	}
	conn = pool->slots[i].conn;
	check = conn && monotonic_s() - pool->slots[i].last_used >= pool->idle_check_s;
	pthread_mutex_unlock(&pool->lock);

	/* The slot is ours now: network I/O happens outside the mutex.
	 * Reconnect after CONNECTION_BAD, or when an idle one fails its check. */
	if (conn && (PQstatus(conn) == CONNECTION_BAD || (check && !db_alive(conn)))) {
		LOG_INFO(NULL, "pool: dropping a broken database connection");
		PQfinish(conn);
		conn = NULL;
	}
	if (!conn) {
		conn = db_connect(pool->conninfo, "partd", pool->statement_timeout_ms, err, errlen);
		if (!conn) {
			pool_release_slot(pool, i, NULL);
			return NULL;
		}
		pthread_mutex_lock(&pool->lock);
		pool->slots[i].conn = conn;
		pthread_mutex_unlock(&pool->lock);
	}
	return conn;
}

void pool_return(struct pool *pool, PGconn *conn)
{
	int i;

	if (!conn)
		return;
	pthread_mutex_lock(&pool->lock);
	for (i = 0; i < pool->size; i++)
		if (pool->slots[i].busy && pool->slots[i].conn == conn)
			break;
	pthread_mutex_unlock(&pool->lock);
	if (i == pool->size) {
		/* Not ours: a programming error; do not leak it. */
		LOG_ERROR(NULL, "pool: returned connection does not belong to the pool");
		PQfinish(conn);
		return;
	}
	/* Never lend again a connection left in a transaction or broken. */
	if (PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) != PQTRANS_IDLE) {
		LOG_WARN(NULL, "pool: discarding a connection returned %s",
			 PQstatus(conn) != CONNECTION_OK ? "broken" : "inside a transaction");
		PQfinish(conn);
		conn = NULL;
	}
	pool_release_slot(pool, i, conn);
}

void pool_get_stats(struct pool *pool, struct pool_stats *out)
{
	int i;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&pool->lock);
	out->size = pool->size;
	out->waiting = pool->waiting;
	for (i = 0; i < pool->size; i++) {
		if (pool->slots[i].busy)
			out->in_use++;
		else if (pool->slots[i].conn)
			out->idle++;
	}
	pthread_mutex_unlock(&pool->lock);
}

void pool_destroy(struct pool *pool)
{
	int i;

	if (!pool)
		return;
	for (i = 0; i < pool->size; i++)
		PQfinish(pool->slots[i].conn);
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->freed);
	free(pool->slots);
	free(pool->conninfo);
	free(pool);
}

