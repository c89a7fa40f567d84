/*
 * synctrig: the text of a migration's sync trigger function. The trigger
 * applies every row the application writes to a second table, in the
 * writer's own transaction, so the function runs once per row written and
 * its cost is paid by the application: it runs one statement per row.
 *
 * - An UPDATE that keeps the key changes the target's row in place (a HOT
 *   update when no indexed column changes); when no row matched (the copy
 *   has not reached it yet) it upserts. An UPDATE that changes the key
 *   deletes the old key and upserts the new row; DELETE deletes, INSERT
 *   upserts.
 * - When the target is partitioned, each statement names the partition the
 *   row belongs to, found by a binary tree of comparisons on the partition
 *   column over the routes given. Through the parent, every row would pay
 *   for tuple routing, and every DELETE and UPDATE for planning against
 *   all partitions. A row no route admits (an older month, a gap, the
 *   default partition, a partition made later) goes through the parent.
 *   A route only receives rows inside its own bounds, and its bounds are
 *   checked where the tree ends, so routes in the wrong order only make
 *   the path slower. The routes are fixed when the function is made: a
 *   routed partition detached or dropped later would take rows outside
 *   the target or fail the writer's statement.
 * - The function is SECURITY DEFINER: it writes as its owner (partd's
 *   role, which owns or may rename both tables), so an application role
 *   needs privileges on the table it writes, not on the target or its
 *   partitions. Its search_path is '', and every name in it is
 *   schema-qualified, as is the operator that compares a key column whose
 *   type's equality is not pg_catalog's (ltree's, citext's).
 *
 * Names and literals arrive escaped (PQescapeIdentifier, PQescapeLiteral);
 * this module assembles text and knows nothing of libpq.
 */
#ifndef PARTD_SYNCTRIG_H
#define PARTD_SYNCTRIG_H

#include <stddef.h>

/* The routes a function gets at most: the newest partitions, by their lower bound. */
#define SYNCTRIG_MAX_ROUTES 36

/* Rows with from <= column < to go to partition. */
struct synctrig_route {
	const char *partition; /* "schema"."name", escaped */
	const char *from, *to; /* escaped literals; NULL: unbounded (MINVALUE, MAXVALUE) */
};

struct synctrig_spec {
	const char *function; /* "schema"."name" of the function, escaped */
	const char *target;   /* "schema"."name": the target, its parent when partitioned */
	const char *columns;  /* the columns written, quoted: "a, b, c" */
	const char *key;      /* the target's conflict key, quoted: "a, b" */
	const char *column;   /* the partition column, quoted; unused without routes */
	/* ascending by from; only the first may lack from, only the last to */
	const struct synctrig_route *routes;
	size_t nroutes;
	/*
	 * The operator each key column is compared with, in key order: "=" or
	 * "OPERATOR(schema.=)" for a type whose equality is not pg_catalog's
	 * (the function's search_path is ''). NULL, or a NULL entry: "=".
	 */
	const char *const *key_eq;
	size_t nkey_eq;
};

/*
 * The CREATE OR REPLACE FUNCTION statement (caller frees). On error (out of
 * memory, an empty column or key list, key_eq not one per key column,
 * more than SYNCTRIG_MAX_ROUTES routes, routes without a column, an
 * unbounded side anywhere but at the ends) NULL is returned.
 */
char *synctrig_function_sql(const struct synctrig_spec *spec);

#endif
