#include "ident.h"

#include "strbuf.h"

#include <stdio.h>
#include <string.h>

bool ident_valid(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > IDENT_MAX || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

bool ident_parse_table(const char *name, struct qualified_name *out, char *err, size_t errlen)
{
	const char *dot = strchr(name, '.');
	char schema[IDENT_MAX + 2] = "public", table[IDENT_MAX + 2];
	size_t slen;

	if (dot) {
		slen = (size_t)(dot - name);
		if (slen > IDENT_MAX || strchr(dot + 1, '.')) {
			snprintf(err, errlen, "'%.80s' is not a table name: use schema.table", name);
			return false;
		}
		memcpy(schema, name, slen);
		schema[slen] = '\0';
		name = dot + 1;
	}
	if (strlen(name) > IDENT_MAX) {
		snprintf(err, errlen, "table name is longer than %d bytes", IDENT_MAX);
		return false;
	}
	snprintf(table, sizeof(table), "%s", name);
	if (!ident_valid(schema) || !ident_valid(table)) {
		snprintf(err, errlen,
			 "'%.80s' is not a table name: each of schema and table must be 1-%d letters, "
			 "digits or '_', not starting with a digit",
			 !ident_valid(schema) ? schema : table, IDENT_MAX);
		return false;
	}
	memcpy(out->schema, schema, sizeof(out->schema));
	memcpy(out->table, table, sizeof(out->table));
	return true;
}

void ident_format(const struct qualified_name *q, char *buf, size_t buflen)
{
	snprintf(buf, buflen, "%s.%s", q->schema, q->table);
}

bool ident_list_next(const char **p, strbuf *out)
{
	const char *s = *p;
	bool quoted = false;

	out->len = 0;
	if (out->data)
		out->data[0] = '\0';
	while (*s == ' ')
		s++;
	if (!*s)
		return false;
	for (; *s && (quoted || *s != ','); s++) {
		if (*s == '"')
			quoted = !quoted; /* a doubled "" toggles twice */
		strbuf_append(out, s, 1);
	}
	*p = *s ? s + 1 : s;
	return true;
}
