/*
 * bound: a range partition's bounds read straight from the catalog's
 * pg_class.relpartbound (a pg_node_tree), without asking the server to
 * deparse it with pg_get_expr for every partition: at 10,000 partitions
 * that deparse is most of the cost of listing them. Handles date,
 * timestamp and timestamptz bounds, MINVALUE/MAXVALUE and DEFAULT; the
 * text it gives is what pg_get_expr prints in a UTC session.
 */
#ifndef PARTD_BOUND_H
#define PARTD_BOUND_H

#include <stdbool.h>

struct bound {
	bool is_default;
	bool has_from, has_to; /* false: MINVALUE / MAXVALUE */
	char from[40], to[40];
};

/*
 * Decodes relpartbound's text. Returns false for anything it does not
 * know (list or hash bounds, multi-column keys, other types); the caller
 * then asks the server.
 */
bool bound_decode(const char *node, struct bound *out);

#endif
