#include "synctrig.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ident.h"
#include "strbuf.h"

enum sync_stmt { SYNC_DELETE, SYNC_UPDATE, SYNC_UPSERT };

/* The pieces every statement shares, made once from the column and key lists. */
struct gen {
	const struct synctrig_spec *spec;
	strbuf match;    /* k1 = OLD.k1 AND k2 = OLD.k2 */
	strbuf same_key; /* NEW.k1 = OLD.k1 AND NEW.k2 = OLD.k2 */
	strbuf values;   /* NEW.a, NEW.b */
	strbuf sets;     /* a = NEW.a, b = NEW.b */
	strbuf excluded; /* a = EXCLUDED.a, b = EXCLUDED.b */
};

static void gen_free(struct gen *g)
{
	strbuf_free(&g->match);
	strbuf_free(&g->same_key);
	strbuf_free(&g->values);
	strbuf_free(&g->sets);
	strbuf_free(&g->excluded);
}

/* False when a list is empty, key_eq does not match the key, or memory ran out. */
static bool gen_init(struct gen *g, const struct synctrig_spec *spec)
{
	strbuf id;
	const char *p;
	size_t k = 0;

	memset(g, 0, sizeof(*g));
	g->spec = spec;
	strbuf_init(&g->match);
	strbuf_init(&g->same_key);
	strbuf_init(&g->values);
	strbuf_init(&g->sets);
	strbuf_init(&g->excluded);
	strbuf_init(&id);
	for (p = spec->columns; ident_list_next(&p, &id);) {
		const char *sep = g->values.len ? ", " : "";
		strbuf_printf(&g->values, "%sNEW.%s", sep, id.data);
		strbuf_printf(&g->sets, "%s%s = NEW.%s", sep, id.data, id.data);
		strbuf_printf(&g->excluded, "%s%s = EXCLUDED.%s", sep, id.data, id.data);
	}
	for (p = spec->key; ident_list_next(&p, &id); k++) {
		const char *sep = g->match.len ? " AND " : "";
		const char *eq = "=";

		if (spec->key_eq && k < spec->nkey_eq && spec->key_eq[k])
			eq = spec->key_eq[k];
		strbuf_printf(&g->match, "%s%s %s OLD.%s", sep, id.data, eq, id.data);
		strbuf_printf(&g->same_key, "%sNEW.%s %s OLD.%s", sep, id.data, eq, id.data);
	}
	strbuf_free(&id);
	if (spec->key_eq && spec->nkey_eq != k)
		return false;
	return g->values.len && g->match.len && !g->values.failed && !g->sets.failed &&
	       !g->excluded.failed && !g->match.failed && !g->same_key.failed;
}

static void indent(strbuf *sb, int depth)
{
	while (depth-- > 0)
		strbuf_puts(sb, "  ");
}

/* The statement of kind, writing to table. */
static void write_to_table(strbuf *sb, const struct gen *g, enum sync_stmt kind, const char *table,
			   int depth)
{
	indent(sb, depth);
	switch (kind) {
	case SYNC_DELETE:
		strbuf_printf(sb, "DELETE FROM %s WHERE %s;\n", table, g->match.data);
		break;
	case SYNC_UPDATE:
		strbuf_printf(sb, "UPDATE %s SET %s\n", table, g->sets.data);
		indent(sb, depth + 2);
		strbuf_printf(sb, "WHERE %s;\n", g->match.data);
		break;
	case SYNC_UPSERT:
		strbuf_printf(sb, "INSERT INTO %s (%s) VALUES (%s)\n", table, g->spec->columns,
			      g->values.data);
		indent(sb, depth + 2);
		strbuf_printf(sb, "ON CONFLICT (%s) DO UPDATE SET %s;\n", g->spec->key,
			      g->excluded.data);
		break;
	}
}

/*
 * The statement for the row rec ("NEW" or "OLD"): on the one route of
 * lo..hi whose bounds admit it, found by halving, else on the target.
 */
static void write_routed(strbuf *sb, const struct gen *g, enum sync_stmt kind, const char *rec,
			 size_t lo, size_t hi, int depth)
{
	const struct synctrig_spec *s = g->spec;
	const struct synctrig_route *r;
	size_t mid;

	if (lo == hi) {
		r = &s->routes[lo];
		indent(sb, depth);
		if (r->from && r->to)
			strbuf_printf(sb, "IF %s.%s >= %s AND %s.%s < %s THEN\n", rec, s->column,
				      r->from, rec, s->column, r->to);
		else if (r->from)
			strbuf_printf(sb, "IF %s.%s >= %s THEN\n", rec, s->column, r->from);
		else if (r->to)
			strbuf_printf(sb, "IF %s.%s < %s THEN\n", rec, s->column, r->to);
		else /* MINVALUE to MAXVALUE: every value but NULL */
			strbuf_printf(sb, "IF %s.%s IS NOT NULL THEN\n", rec, s->column);
		write_to_table(sb, g, kind, r->partition, depth + 1);
		indent(sb, depth);
		strbuf_puts(sb, "ELSE\n");
		write_to_table(sb, g, kind, s->target, depth + 1);
		indent(sb, depth);
		strbuf_puts(sb, "END IF;\n");
		return;
	}
	mid = lo + (hi - lo) / 2;
	indent(sb, depth);
	strbuf_printf(sb, "IF %s.%s < %s THEN\n", rec, s->column, s->routes[mid + 1].from);
	write_routed(sb, g, kind, rec, lo, mid, depth + 1);
	indent(sb, depth);
	strbuf_puts(sb, "ELSE\n");
	write_routed(sb, g, kind, rec, mid + 1, hi, depth + 1);
	indent(sb, depth);
	strbuf_puts(sb, "END IF;\n");
}

/* The statement for the row rec, routed when there are routes. */
static void write_row(strbuf *sb, const struct gen *g, enum sync_stmt kind, const char *rec,
		      int depth)
{
	if (g->spec->nroutes)
		write_routed(sb, g, kind, rec, 0, g->spec->nroutes - 1, depth);
	else
		write_to_table(sb, g, kind, g->spec->target, depth);
}

/* Only the first route may lack its lower bound, only the last its upper one. */
static bool routes_valid(const struct synctrig_spec *s)
{
	size_t i;

	if (s->nroutes > SYNCTRIG_MAX_ROUTES || (s->nroutes && !s->column))
		return false;
	for (i = 0; i < s->nroutes; i++)
		if (!s->routes[i].partition || (i > 0 && !s->routes[i].from) ||
		    (i + 1 < s->nroutes && !s->routes[i].to))
			return false;
	return true;
}

char *synctrig_function_sql(const struct synctrig_spec *spec)
{
	struct gen g;
	strbuf body, sb;
	char tag[32] = "$partd$";
	int n = 0;
	char *out = NULL;

	strbuf_init(&body);
	strbuf_init(&sb);
	if (!gen_init(&g, spec) || !routes_valid(spec))
		goto done;
	strbuf_puts(&body, "BEGIN\n");
	strbuf_printf(&body, "  IF TG_OP = 'UPDATE' AND %s THEN\n", g.same_key.data);
	strbuf_puts(&body, "    -- the key stays: change the row where it is\n");
	write_row(&body, &g, SYNC_UPDATE, "OLD", 2);
	strbuf_puts(&body, "    IF FOUND THEN\n      RETURN NULL;\n    END IF;\n");
	strbuf_puts(&body, "    -- not there yet (the copy has not reached it): upsert below\n");
	strbuf_puts(&body, "  ELSIF TG_OP <> 'INSERT' THEN\n");
	write_row(&body, &g, SYNC_DELETE, "OLD", 2);
	strbuf_puts(&body, "  END IF;\n  IF TG_OP <> 'DELETE' THEN\n");
	write_row(&body, &g, SYNC_UPSERT, "NEW", 2);
	strbuf_puts(&body, "  END IF;\n  RETURN NULL;\nEND\n");
	if (body.failed)
		goto done;
	/* A quoted name may hold any text: the dollar quote must not occur in the body. */
	while (strstr(body.data, tag))
		snprintf(tag, sizeof(tag), "$partd%d$", ++n);
	strbuf_printf(&sb,
		      "CREATE OR REPLACE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql "
		      "SECURITY DEFINER SET search_path = '' AS %s\n%s%s",
		      spec->function, tag, body.data, tag);
	if (!sb.failed)
		out = strbuf_steal(&sb, NULL);
done:
	gen_free(&g);
	strbuf_free(&body);
	strbuf_free(&sb);
	return out;
}
