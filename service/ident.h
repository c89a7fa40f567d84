/*
 * ident: table names as the API accepts them. A name is "schema.table" or a
 * bare "table" (meaning public); each part is 1-63 bytes of letters, digits
 * and '_', not starting with a digit. Anything else is refused before it
 * gets near SQL; what passes still goes into SQL only as a parameter or
 * through PQescapeIdentifier / format('%I').
 */
#ifndef PARTD_IDENT_H
#define PARTD_IDENT_H

#include <stdbool.h>
#include <stddef.h>

#define IDENT_MAX 63

struct qualified_name {
	char schema[IDENT_MAX + 1];
	char table[IDENT_MAX + 1];
};

bool ident_valid(const char *s);
/* Parses name into out; on failure writes why into err and returns false. */
bool ident_parse_table(const char *name, struct qualified_name *out, char *err, size_t errlen);
/* "schema.table" into buf (at least 2 * IDENT_MAX + 2 bytes). */
void ident_format(const struct qualified_name *q, char *buf, size_t buflen);

struct strbuf;
/*
 * The next identifier of a list like "a, \"b,c\", d" (quoted or bare, as
 * PQescapeIdentifier and quote_ident write them) into out; *p moves past
 * it and its comma. False at the end of the list. A comma inside quotes
 * belongs to the name.
 */
bool ident_list_next(const char **p, struct strbuf *out);

#endif
