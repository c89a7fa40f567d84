/*
 * pool: the libpq connections HTTP requests borrow. Exclusive checkout
 * with a timeout; a connection idle for a while is checked before it is
 * lent; a broken one is reopened; one handed back inside a transaction is
 * discarded, never lent again.
 */
#ifndef PARTD_POOL_H
#define PARTD_POOL_H

#include <stddef.h>

/* libpq's PGconn, named so that callers need not include libpq. */
struct pg_conn;

struct pool;

struct pool_stats {
	int size;
	int in_use;
	int idle;    /* open and free */
	int waiting; /* requests waiting for a connection */
};

/* On error (out of memory), NULL is returned. Connects lazily. */
struct pool *pool_create(const char *conninfo, int size, long timeout_ms, long idle_check_s,
			 long statement_timeout_ms);
/*
 * Lends a connection for the caller's exclusive use, waiting at most the
 * pool's timeout. On error, NULL is returned and err says whether the pool
 * was exhausted or the database could not be reached.
 */
struct pg_conn *pool_borrow(struct pool *pool, char *err, size_t errlen);
/* Takes conn back; a conn not idle and healthy is closed. NULL is fine. */
void pool_return(struct pool *pool, struct pg_conn *conn);
void pool_get_stats(struct pool *pool, struct pool_stats *out);
void pool_destroy(struct pool *pool);

#endif
