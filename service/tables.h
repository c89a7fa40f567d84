/*
 * tables: managed tables: their policy, their partitions as the catalog
 * sees them, and the status (summary and alerts) derived from both.
 * Functions borrow one pooled connection each and return a new JSON value
 * the caller decrefs. On error, NULL is returned, err says why and nothing
 * is changed.
 */
#ifndef PARTD_TABLES_H
#define PARTD_TABLES_H

#include <jansson.h>
#include <stdbool.h>

#include "calendar.h"
#include "ident.h"
#include "pool.h"
#include "svc.h"

struct pg_conn;

struct table_policy {
	char column[IDENT_MAX + 1];
	enum interval_unit interval;
	int premake;
	int hot_months, hot_days;   /* raw rows kept this long (tier hot) */
	int warm_months, warm_days; /* then daily rollups (tier warm); cold after */
	long long max_partition_bytes;
	double vacuum_lag_hours;
	double analyze_lag_hours;
	long long default_rows_max;
	bool has_retention;         /* the policy has a retention section */
};

/*
 * Checks a policy document and fills in defaults. On success *normalized
 * (caller decrefs) is what gets stored. Catalog checks (the column) are
 * separate: see tables_put.
 */
bool policy_parse(const json_t *in, json_t **normalized, struct table_policy *out,
		  struct svc_error *err);

/* Registers or changes a table's policy; *created tells which. Returns the status. */
json_t *tables_put(struct pool *pool, const char *name, const json_t *policy, const char *by,
		   bool *created, struct svc_error *err);
json_t *tables_get(struct pool *pool, const char *name, struct svc_error *err);
/* {"tables":[status...]} */
json_t *tables_list(struct pool *pool, struct svc_error *err);
/* Stops managing name; no data is touched. */
bool tables_delete(struct pool *pool, const char *name, struct svc_error *err);
/*
 * {"table", "partitions":[...]}; exact counts rows with count(*) and
 * measures sizes. Without exact, the answer may come from a cache up to
 * the cache age old (see tables_set_cache_ms).
 */
json_t *tables_partitions(struct pool *pool, const char *name, bool exact, struct svc_error *err);
/*
 * The same list as JSON text (caller frees; *len its length): what the
 * JSON answer sends, without building a tree. Not exact: from the cache.
 */
char *tables_partitions_text(struct pool *pool, const char *name, bool exact, size_t *len,
			     struct svc_error *err);
/* What the planner scans for a count over [from, to). */
json_t *tables_pruning(struct pool *pool, const char *name, const char *from, const char *to,
		       struct svc_error *err);

/*
 * For jobs and the scheduler, on a connection they own: the managed table's
 * policy (false with SVC_NOT_FOUND when not managed) and its oid.
 */
bool tables_load(struct pg_conn *conn, const struct qualified_name *qn, struct table_policy *policy,
		 unsigned int *oid, bool *partitioned, struct svc_error *err);

/*
 * Visits every managed table in one round trip: its policy, whether it is
 * partitioned, and how many of its coming intervals have no partition
 * (-1, with err, when that could not be worked out).
 */
typedef void (*tables_scan_fn)(const char *table, const struct table_policy *policy,
			       bool partitioned, int missing, const struct svc_error *err,
			       void *arg);
bool tables_scan(struct pg_conn *conn, tables_scan_fn visit, void *arg, struct svc_error *err);

struct bound;

/* A partition as the catalog bounds it, for tables_visit_partitions. */
struct table_partition {
	const char *schema, *name;
	const struct bound *bound; /* NULL: relpartbound could not be decoded */
	/* Day numbers; LONG_MIN / LONG_MAX when unbounded or unreadable by the calendar. */
	long from, to;
	bool detach_pending; /* DETACH ... CONCURRENTLY is under way */
};
typedef void (*tables_partition_fn)(const struct table_partition *p, void *arg);
/*
 * Visits every partition of the table oid in lower-bound order (MINVALUE
 * first, the default last), on a connection the caller owns. On error,
 * false with err set and nothing visited.
 */
bool tables_visit_partitions(struct pg_conn *conn, unsigned int oid, tables_partition_fn visit,
			     void *arg, struct svc_error *err);

/*
 * "=" or "OPERATOR(<quoted schema>.<operator>)", with its NUL: a quoted
 * name takes 2 * 63 + 2 bytes at most and an operator 63, so 256 holds any.
 */
#define TABLES_EQ_MAX 256
/*
 * The operator to compare each of n columns of the table oid with, as
 * sql/column_equality gives it: "=" for pg_catalog's, else the type's own,
 * schema-qualified (a statement run with search_path '' would otherwise
 * find none for an extension's type, or text's for citext). On error,
 * false with err set: SVC_CONFLICT when a column is not there.
 */
bool tables_column_equality(struct pg_conn *conn, unsigned int oid, const char *const *names,
			    size_t n, char (*eq)[TABLES_EQ_MAX], struct svc_error *err);

/* PARTD_PARTITIONS_CACHE_MS: how long a partition list may be served again; 0: never. */
void tables_set_cache_ms(long ms);
/* Drops name's cached partition list (partd changed its partitions). */
void tables_cache_forget(const char *name);

#endif
