#include "tables.h"

#include <libpq-fe.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bound.h"
#include "calendar.h"
#include "db.h"
#include "embed.h"
#include "log.h"
#include "retention.h"
#include "strbuf.h"

/* ---- policy ---------------------------------------------------------- */

static const char *const policy_keys[] = {"partition_column", "interval", "premake",
					  "retention", "alerts", NULL};
static const char *const alert_keys[] = {"max_partition_bytes", "vacuum_lag_hours",
					 "analyze_lag_hours", "default_rows_max", NULL};

static bool key_known(const char *const *keys, const char *k)
{
	for (; *keys; keys++)
		if (strcmp(*keys, k) == 0)
			return true;
	return false;
}

/* A non-negative number at key of obj (or fallback); false names the field. */
static bool policy_number(const json_t *obj, const char *key, const char *field, double max,
			  double fallback, double *out, struct svc_error *err)
{
	const json_t *v = json_object_get(obj, key);

	if (!v) {
		*out = fallback;
		return true;
	}
	if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > max)
		return svc_field(err, field, "%s must be a number from 0 to %.0f", field, max);
	*out = json_number_value(v);
	return true;
}

static bool policy_age(const json_t *retention, const char *key, const char *fallback, int *months,
		       int *days, struct svc_error *err)
{
	const json_t *v = json_object_get(retention, key);
	char field[32];

	snprintf(field, sizeof(field), "retention.%s", key);
	if (v && !json_is_string(v))
		return svc_field(err, field, "%s must be a string like \"3 months\"", field);
	if (!calendar_parse_age(v ? json_string_value(v) : fallback, months, days))
		return svc_field(err, field,
				 "%s must be a count and a unit, e.g. \"3 months\", \"90 days\" or "
				 "\"1 year\"",
				 field);
	return true;
}

static const char *const retention_keys[] = {"hot",     "warm",        "group_by", "metrics",
					     "archive", "archive_raw", "costs",    NULL};
static const char *const metric_fns[] = {"sum", "avg", "min", "max", "count", "last", NULL};

/* An identifier that leaves room for a suffix of extra bytes. */
static bool short_ident(const char *s, size_t extra)
{
	return ident_valid(s) && strlen(s) + extra <= IDENT_MAX;
}

/* The shape of a retention section (the catalog is checked by retention_check). */
static bool policy_retention(const json_t *ret, const char *column, struct table_policy *out,
			     struct svc_error *err)
{
	const json_t *gb = json_object_get(ret, "group_by"), *ms = json_object_get(ret, "metrics");
	const json_t *ar = json_object_get(ret, "archive"), *raw = json_object_get(ret, "archive_raw");
	const json_t *costs = json_object_get(ret, "costs"), *v, *w;
	const char *key, *url;
	json_t *value;
	size_t i, j;
	long today = calendar_today();

	json_object_foreach((json_t *)ret, key, value) {
		if (!key_known(retention_keys, key))
			return svc_field(err, "retention",
					 "unknown field 'retention.%.40s'; retention has hot, warm, "
					 "group_by, metrics, archive, archive_raw and costs",
					 key);
	}
	if (out->hot_months == 0 && out->hot_days == 0)
		return svc_field(err, "retention.hot",
				 "retention.hot must be at least 1 day: a hot window of 0 would "
				 "drop hot data");
	if (calendar_sub_age(today, out->warm_months, out->warm_days) >=
	    calendar_sub_age(today, out->hot_months, out->hot_days))
		return svc_field(err, "retention.warm",
				 "retention.warm must be longer than retention.hot: the warm tier "
				 "starts where the hot one ends, and a shorter one would drop hot data");
	if (gb && !json_is_array(gb))
		return svc_field(err, "retention.group_by",
				 "retention.group_by must be an array of column names");
	json_array_foreach(gb, i, v) {
		if (!json_is_string(v) || !short_ident(json_string_value(v), 0))
			return svc_field(err, "retention.group_by",
					 "retention.group_by[%zu] must be a column name", i);
		if (strcmp(json_string_value(v), column) == 0)
			return svc_field(err, "retention.group_by",
					 "retention.group_by must not name the partition column %s: "
					 "rollups always group by it",
					 column);
		for (j = 0; j < i; j++)
			if (strcmp(json_string_value(json_array_get(gb, j)), json_string_value(v)) == 0)
				return svc_field(err, "retention.group_by",
						 "retention.group_by names %s twice",
						 json_string_value(v));
	}
	if (json_array_size(gb) > 16)
		return svc_field(err, "retention.group_by", "retention.group_by has at most 16 columns");
	if (ms && !json_is_array(ms))
		return svc_field(err, "retention.metrics",
				 "retention.metrics must be an array of {column, fn, as}");
	if (json_array_size(ms) > 64)
		return svc_field(err, "retention.metrics", "retention.metrics has at most 64 entries");
	json_array_foreach(ms, i, v) {
		const json_t *c = json_object_get(v, "column"), *fn = json_object_get(v, "fn");
		const json_t *as = json_object_get(v, "as");
		const char *name;
		if (!json_is_object(v) || !json_is_string(c) || !short_ident(json_string_value(c), 0))
			return svc_field(err, "retention.metrics",
					 "retention.metrics[%zu].column must be a column name", i);
		if (!json_is_string(fn) || !key_known(metric_fns, json_string_value(fn)))
			return svc_field(err, "retention.metrics",
					 "retention.metrics[%zu].fn must be one of sum, avg, min, max, "
					 "count, last",
					 i);
		json_object_foreach((json_t *)v, key, value) {
			if (strcmp(key, "column") && strcmp(key, "fn") && strcmp(key, "as"))
				return svc_field(err, "retention.metrics",
						 "unknown field 'retention.metrics[%zu].%.40s'; a metric "
						 "has column, fn and as",
						 i, key);
		}
		name = as ? json_string_value(as) : json_string_value(c);
		if (as && !json_is_string(as))
			return svc_field(err, "retention.metrics",
					 "retention.metrics[%zu].as must be a column name", i);
		if (!short_ident(name, 6))
			return svc_field(err, "retention.metrics",
					 "retention.metrics[%zu].as must be a column name of at most 57 "
					 "bytes",
					 i);
		if (strcmp(name, "rows") == 0 || strcmp(name, column) == 0)
			return svc_field(err, "retention.metrics",
					 "retention.metrics[%zu].as may not be '%s': the rollups use "
					 "that name",
					 i, name);
		json_array_foreach(gb, j, w)
			if (strcmp(json_string_value(w), name) == 0)
				return svc_field(err, "retention.metrics",
						 "retention.metrics[%zu].as '%s' is a group_by column", i,
						 name);
		for (j = 0; j < i; j++) {
			const json_t *o = json_array_get(ms, j);
			const json_t *oas = json_object_get(o, "as");
			const char *oname = json_string_value(oas ? oas : json_object_get(o, "column"));
			if (strcmp(oname, name) == 0)
				return svc_field(err, "retention.metrics",
						 "retention.metrics: two metrics are called %s; give one "
						 "another 'as'",
						 name);
		}
	}
	if (ar && !json_is_string(ar))
		return svc_field(err, "retention.archive",
				 "retention.archive must be a file:// URL of a directory");
	url = ar ? json_string_value(ar) : NULL;
	if (url && strncmp(url, "file://", 7) != 0)
		return svc_field(err, "retention.archive",
				 "retention.archive: only file:// URLs are supported (a directory on "
				 "partd's host), e.g. file:///var/lib/partd/archive");
	if (url && (url[7] != '/' || strlen(url) > 512 || strstr(url, "/../") ||
		    strchr(url, '\n')))
		return svc_field(err, "retention.archive",
				 "retention.archive must be file:// followed by an absolute path, "
				 "e.g. file:///var/lib/partd/archive");
	if (raw && !json_is_boolean(raw))
		return svc_field(err, "retention.archive_raw", "retention.archive_raw must be true or false");
	if (json_is_true(raw) && !url)
		return svc_field(err, "retention.archive_raw",
				 "retention.archive_raw needs retention.archive: where should the raw "
				 "rows go?");
	if (costs && !json_is_object(costs))
		return svc_field(err, "retention.costs",
				 "retention.costs must be an object of $/GB/month: hot, warm, cold");
	json_object_foreach((json_t *)costs, key, value) {
		if (strcmp(key, "hot") && strcmp(key, "warm") && strcmp(key, "cold"))
			return svc_field(err, "retention.costs",
					 "unknown field 'retention.costs.%.40s'; costs has hot, warm "
					 "and cold",
					 key);
		if (!json_is_number(value) || json_number_value(value) < 0 ||
		    json_number_value(value) > 1000)
			return svc_field(err, "retention.costs",
					 "retention.costs.%s must be a number of $/GB/month from 0 to "
					 "1000",
					 key);
	}
	out->has_retention = true;
	return true;
}

bool policy_parse(const json_t *in, json_t **normalized, struct table_policy *out,
		  struct svc_error *err)
{
	const json_t *col = json_object_get(in, "partition_column");
	const json_t *iv = json_object_get(in, "interval"), *pm = json_object_get(in, "premake");
	const json_t *ret = json_object_get(in, "retention"), *al = json_object_get(in, "alerts");
	const char *key;
	json_t *value;
	double n;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(in))
		return svc_fail(err, SVC_BAD_REQUEST, "the policy must be a JSON object");
	json_object_foreach((json_t *)in, key, value) {
		if (!key_known(policy_keys, key))
			return svc_field(err, key,
					 "unknown field '%.64s'; a policy has partition_column, "
					 "interval, premake, retention and alerts",
					 key);
	}
	if (!json_is_string(col) || !ident_valid(json_string_value(col)))
		return svc_field(err, "partition_column",
				 "partition_column is required: the name of a date, timestamp or "
				 "timestamptz column");
	snprintf(out->column, sizeof(out->column), "%s", json_string_value(col));
	if (iv && (!json_is_string(iv) || !interval_unit_parse(json_string_value(iv), &out->interval)))
		return svc_field(err, "interval", "interval must be \"month\" or \"day\"");
	if (!iv)
		out->interval = INTERVAL_MONTH;
	if (pm && (!json_is_integer(pm) || json_integer_value(pm) < 1 || json_integer_value(pm) > 120))
		return svc_field(err, "premake", "premake must be a whole number from 1 to 120");
	out->premake = pm ? (int)json_integer_value(pm) : 3;
	if (ret && !json_is_object(ret))
		return svc_field(err, "retention", "retention must be an object");
	if (!policy_age(ret, "hot", "3 months", &out->hot_months, &out->hot_days, err) ||
	    !policy_age(ret, "warm", "12 months", &out->warm_months, &out->warm_days, err))
		return false;
	if (ret && !policy_retention(ret, out->column, out, err))
		return false;
	if (al && !json_is_object(al))
		return svc_field(err, "alerts", "alerts must be an object");
	json_object_foreach((json_t *)al, key, value) {
		if (!key_known(alert_keys, key))
			return svc_field(err, "alerts",
					 "unknown field 'alerts.%.40s'; alerts has max_partition_bytes, "
					 "vacuum_lag_hours, analyze_lag_hours and default_rows_max",
					 key);
	}
	if (!policy_number(al, "max_partition_bytes", "alerts.max_partition_bytes", 1e18,
			   10737418240.0, &n, err))
		return false;
	out->max_partition_bytes = (long long)n;
	if (!policy_number(al, "vacuum_lag_hours", "alerts.vacuum_lag_hours", 1e6, 24,
			   &out->vacuum_lag_hours, err) ||
	    !policy_number(al, "analyze_lag_hours", "alerts.analyze_lag_hours", 1e6, 24,
			   &out->analyze_lag_hours, err) ||
	    !policy_number(al, "default_rows_max", "alerts.default_rows_max", 1e15, 0, &n, err))
		return false;
	out->default_rows_max = (long long)n;

	*normalized = json_pack("{s:s, s:s, s:i, s:{s:I, s:f, s:f, s:I}}", "partition_column",
				out->column, "interval", interval_unit_name(out->interval), "premake",
				out->premake, "alerts", "max_partition_bytes",
				(json_int_t)out->max_partition_bytes, "vacuum_lag_hours",
				out->vacuum_lag_hours, "analyze_lag_hours", out->analyze_lag_hours,
				"default_rows_max", (json_int_t)out->default_rows_max);
	if (!*normalized)
		return svc_fail(err, SVC_INTERNAL, "out of memory");
	if (ret)
		json_object_set(*normalized, "retention", (json_t *)ret);
	return true;
}

/* ---- catalog --------------------------------------------------------- */

struct table_ref {
	struct qualified_name qn;
	char display[2 * IDENT_MAX + 2];
	unsigned int oid;
	bool exists;
	bool partitioned; /* by RANGE on the policy's column */
	char relkind;
	char partstrat;
	char partition_key[256];
	char column_type[64];
};

static bool table_name_parse(const char *name, struct qualified_name *qn, struct svc_error *err)
{
	char why[256];

	if (!ident_parse_table(name, qn, why, sizeof(why)))
		return svc_fail(err, SVC_NOT_FOUND, "%s", why);
	if (strcmp(qn->schema, "pg_catalog") == 0 || strcmp(qn->schema, "information_schema") == 0 ||
	    strcmp(qn->schema, "partd") == 0 || strncmp(qn->schema, "pg_toast", 8) == 0)
		return svc_fail(err, SVC_NOT_FOUND, "%s.%s is a system table; partd manages user tables",
				qn->schema, qn->table);
	return true;
}

/* Looks the table up; ref->exists false when there is none. */
static bool table_resolve(PGconn *conn, const struct qualified_name *qn, const char *column,
			  struct table_ref *ref, struct svc_error *err)
{
	const char *params[3] = {qn->schema, qn->table, column};
	PGresult *res = db_exec(conn, sql_tables_resolve, 3, params, err);
	const char *v;

	memset(ref, 0, sizeof(*ref));
	ref->qn = *qn;
	ident_format(qn, ref->display, sizeof(ref->display));
	if (!res)
		return false;
	if (PQntuples(res) == 1) {
		ref->exists = true;
		ref->oid = (unsigned int)strtoul(db_get(res, 0, "oid"), NULL, 10);
		ref->relkind = db_get(res, 0, "relkind")[0];
		ref->partstrat = (v = db_get(res, 0, "partstrat")) ? v[0] : '\0';
		snprintf(ref->partition_key, sizeof(ref->partition_key), "%s",
			 (v = db_get(res, 0, "partition_key")) ? v : "");
		snprintf(ref->column_type, sizeof(ref->column_type), "%s",
			 (v = db_get(res, 0, "column_type")) ? v : "");
		if (column) {
			char want[IDENT_MAX + 8];
			snprintf(want, sizeof(want), "{%s}", column);
			ref->partitioned = ref->relkind == 'p' && ref->partstrat == 'r' &&
					   strcmp(ref->partition_key, want) == 0;
		}
	}
	PQclear(res);
	return true;
}

struct part {
	int row; /* in part_set.res */
	struct bound b;
	bool decoded; /* b was read from relpartbound */
	const char *name;
	const char *from_text, *to_text; /* NULL: MINVALUE / MAXVALUE */
	bool is_default;
	long from, to;                  /* day numbers; LONG_MIN/MAX when unbounded */
	bool aligned;
	long long rows, table_bytes, index_bytes, dead, mods;
	double vacuum_age_s, analyze_age_s; /* -1: never */
};

struct part_set {
	PGresult *res;
	struct part *p;
	int n;
	int default_idx;
};

static void part_set_free(struct part_set *ps)
{
	PQclear(ps->res);
	free(ps->p);
	memset(ps, 0, sizeof(*ps));
}


static int part_cmp(const void *a, const void *b)
{
	const struct part *x = a, *y = b;

	if (x->is_default != y->is_default)
		return x->is_default ? 1 : -1;
	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	/* The same day: bounds inside it, in the catalog's ISO text, sort as text. */
	if (x->b.has_from && y->b.has_from)
		return strcmp(x->b.from, y->b.from);
	return (int)x->b.has_from - (int)y->b.has_from; /* MINVALUE first */
}

/* A column's value by number (-1: absent), or NULL. */
static const char *col(const PGresult *res, int row, int c)
{
	return c < 0 || PQgetisnull(res, row, c) ? NULL : PQgetvalue(res, row, c);
}

static long long col_ll(const PGresult *res, int row, int c, long long fallback)
{
	const char *v = col(res, row, c);

	return v ? strtoll(v, NULL, 10) : fallback;
}

/*
 * Fills ps from rows [first, first + count) of res (which ps does not
 * own): partitions with their decoded bounds, in lower-bound order, the
 * default last. Columns are found by name once, not per row.
 */
static bool part_set_fill(struct part_set *ps, const PGresult *res, int first, int count,
			  struct svc_error *err)
{
	int c_name = PQfnumber(res, "name"), c_node = PQfnumber(res, "bound_node");
	int c_rows = PQfnumber(res, "rows_estimate"), c_tb = PQfnumber(res, "table_bytes");
	int c_ib = PQfnumber(res, "index_bytes"), c_dead = PQfnumber(res, "dead_tuples");
	int c_mods = PQfnumber(res, "mods_since_analyze");
	int c_va = PQfnumber(res, "vacuum_age_s"), c_aa = PQfnumber(res, "analyze_age_s");
	int i, n = 0;

	ps->default_idx = -1;
	ps->p = calloc((size_t)(count ? count : 1), sizeof(*ps->p));
	if (!ps->p)
		return svc_fail(err, SVC_INTERNAL, "out of memory");
	for (i = first; i < first + count; i++) {
		struct part *p = &ps->p[n];
		const char *va, *aa, *node = col(res, i, c_node);
		bool al1 = true, al2 = true;

		if (!node)
			continue; /* a table with no partitions, in a LEFT JOIN */
		p->row = i;
		p->name = col(res, i, c_name);
		p->decoded = bound_decode(node, &p->b);
		if (!p->decoded)
			LOG_WARN(json_pack("{s:s?}", "partition", p->name),
				 "cannot decode the partition bound; listing it without bounds");
		p->is_default = p->b.is_default;
		p->from = LONG_MIN;
		p->to = LONG_MAX;
		if (p->b.has_from)
			calendar_parse_bound(p->b.from, &p->from, &al1);
		if (p->b.has_to && calendar_parse_bound(p->b.to, &p->to, &al2) && !al2)
			p->to++; /* a bound inside a day still covers part of it */
		p->aligned = al1 && al2;
		p->rows = col_ll(res, i, c_rows, -1);
		p->table_bytes = col_ll(res, i, c_tb, 0);
		p->index_bytes = col_ll(res, i, c_ib, 0);
		p->dead = col_ll(res, i, c_dead, 0);
		p->mods = col_ll(res, i, c_mods, 0);
		va = col(res, i, c_va);
		aa = col(res, i, c_aa);
		p->vacuum_age_s = va ? strtod(va, NULL) : -1;
		p->analyze_age_s = aa ? strtod(aa, NULL) : -1;
		n++;
	}
	ps->n = n;
	/* Lower bound order, the default last: what the gap check walks. */
	qsort(ps->p, (size_t)ps->n, sizeof(*ps->p), part_cmp);
	for (i = 0; i < ps->n; i++) {
		struct part *p = &ps->p[i];
		/* Point into the struct only now that qsort has stopped moving it. */
		p->from_text = p->b.has_from ? p->b.from : NULL;
		p->to_text = p->b.has_to ? p->b.to : NULL;
		if (p->is_default)
			ps->default_idx = i;
	}
	return true;
}

/* full: sizes and statistics too (sql/partitions_list); else only bounds. */
static bool part_set_load(PGconn *conn, unsigned int oid, bool full, struct part_set *ps,
			  struct svc_error *err)
{
	char oidtext[16];
	const char *params[1] = {oidtext};

	memset(ps, 0, sizeof(*ps));
	snprintf(oidtext, sizeof(oidtext), "%u", oid);
	ps->res = db_exec(conn, full ? sql_partitions_list : sql_partitions_bounds, 1, params, err);
	if (!ps->res)
		return false;
	if (!part_set_fill(ps, ps->res, 0, PQntuples(ps->res), err)) {
		part_set_free(ps);
		return false;
	}
	return true;
}

bool tables_column_equality(struct pg_conn *conn, unsigned int oid, const char *const *names,
			    size_t n, char (*eq)[TABLES_EQ_MAX], struct svc_error *err)
{
	json_t *list = json_array();
	char oidtext[16], *text = NULL;
	const char *p[2] = {oidtext, NULL};
	PGresult *res = NULL;
	bool ok = false;
	size_t i;

	if (n == 0) {
		json_decref(list);
		return true;
	}
	for (i = 0; list && i < n; i++)
		if (json_array_append_new(list, json_string(names[i])) != 0)
			break;
	if (!list || i < n || !(text = json_dumps(list, JSON_COMPACT))) {
		svc_fail(err, SVC_INTERNAL, "out of memory");
		goto done;
	}
	snprintf(oidtext, sizeof(oidtext), "%u", oid);
	p[1] = text;
	if (!(res = db_exec(conn, sql_column_equality, 2, p, err)))
		goto done;
	if ((size_t)PQntuples(res) != n) {
		svc_fail(err, SVC_CONFLICT,
			 "a column compared by key is gone from the table (oid %u); it changed while "
			 "partd worked on it",
			 oid);
		goto done;
	}
	for (i = 0; i < n; i++)
		snprintf(eq[i], TABLES_EQ_MAX, "%s", db_get(res, (int)i, "eq"));
	ok = true;
done:
	PQclear(res);
	free(text);
	json_decref(list);
	return ok;
}

bool tables_visit_partitions(struct pg_conn *conn, unsigned int oid, tables_partition_fn visit,
			     void *arg, struct svc_error *err)
{
	struct part_set ps;
	int i, c_schema, c_pending;

	if (!part_set_load(conn, oid, false, &ps, err))
		return false;
	c_schema = PQfnumber(ps.res, "schema_name");
	c_pending = PQfnumber(ps.res, "detach_pending");
	for (i = 0; i < ps.n; i++) {
		const struct part *p = &ps.p[i];
		const char *pending = col(ps.res, p->row, c_pending);
		const struct table_partition tp = {
		    .schema = col(ps.res, p->row, c_schema),
		    .name = p->name,
		    .bound = p->decoded ? &p->b : NULL,
		    .from = p->from,
		    .to = p->to,
		    .detach_pending = pending && pending[0] == 't',
		};
		visit(&tp, arg);
	}
	part_set_free(&ps);
	return true;
}

/*
 * Reads a row of sql/tables_load or sql/tables_scan: the policy and the
 * catalog facts. On error, false with err filled (SVC_NOT_FOUND when the
 * table no longer exists).
 */
static bool tables_load_row(const PGresult *res, int row, const struct qualified_name *qn,
			    struct table_policy *policy, unsigned int *oid, bool *partitioned,
			    struct svc_error *err)
{
	char want[IDENT_MAX + 8];
	const char *key, *strat;
	json_t *doc, *norm = NULL;
	bool ok;

	doc = json_loads(db_get(res, row, "policy"), 0, NULL);
	ok = doc && policy_parse(doc, &norm, policy, err);
	json_decref(doc);
	json_decref(norm);
	if (!ok) {
		if (!err->code)
			svc_fail(err, SVC_INTERNAL, "the stored policy of %s.%s is unreadable", qn->schema,
				 qn->table);
		return false;
	}
	if (!db_get(res, row, "oid"))
		return svc_fail(err, SVC_NOT_FOUND, "%s.%s is managed but no longer exists",
				qn->schema, qn->table);
	*oid = (unsigned int)strtoul(db_get(res, row, "oid"), NULL, 10);
	strat = db_get(res, row, "partstrat");
	key = db_get(res, row, "partition_key");
	snprintf(want, sizeof(want), "{%s}", policy->column);
	*partitioned = db_get(res, row, "relkind")[0] == 'p' && strat && strat[0] == 'r' && key &&
		       strcmp(key, want) == 0;
	return true;
}

bool tables_load(PGconn *conn, const struct qualified_name *qn, struct table_policy *policy,
		 unsigned int *oid, bool *partitioned, struct svc_error *err)
{
	const char *params[2] = {qn->schema, qn->table};
	PGresult *res;
	bool ok;

	res = db_exec(conn, sql_tables_load, 2, params, err);
	if (!res)
		return false;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return svc_fail(err, SVC_NOT_FOUND,
				"%s.%s is not a managed table; register it first with PUT /v1/tables/%s.%s",
				qn->schema, qn->table, qn->schema, qn->table);
	}
	ok = tables_load_row(res, 0, qn, policy, oid, partitioned, err);
	PQclear(res);
	return ok;
}

/* ---- status ---------------------------------------------------------- */

static void alert_add(json_t *alerts, const char *code, const char *severity, const char *action,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void alert_add(json_t *alerts, const char *code, const char *severity, const char *action,
		      const char *fmt, ...)
{
	char message[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	json_array_append_new(alerts, json_pack("{s:s, s:s, s:s, s:s}", "code", code, "severity",
						severity, "message", message, "action", action));
}

/* True when [a, b) lies inside one partition. */
static bool part_set_covers(const struct part_set *ps, long a, long b)
{
	int i;

	for (i = 0; i < ps->n; i++)
		if (!ps->p[i].is_default && ps->p[i].from <= a && ps->p[i].to >= b)
			return true;
	return false;
}

static const char *tier_of(const struct part *p, const struct table_policy *pol, long today)
{
	if (p->is_default || p->to == LONG_MAX)
		return "hot";
	if (p->to > calendar_sub_age(today, pol->hot_months, pol->hot_days))
		return "hot";
	if (p->to > calendar_sub_age(today, pol->warm_months, pol->warm_days))
		return "warm";
	return "cold";
}

/*
 * Rows in the default partition, counted exactly up to a million (a default
 * partition is meant to be near empty; past that, the alert is what matters).
 */
static long long default_rows(PGconn *conn, const struct qualified_name *qn, const char *name,
			      struct svc_error *err)
{
	char *s = db_ident(conn, qn->schema);
	char *t = db_ident(conn, name);
	char sql[512];
	PGresult *res;
	long long n = -1;

	if (s && t) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM (SELECT 1 FROM %s.%s LIMIT 1000000) x",
			 s, t);
		if ((res = db_exec(conn, sql, 0, NULL, err)) != NULL)
			n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
	}
	PQfreemem(s);
	PQfreemem(t);
	return n;
}

static void month_label(enum interval_unit u, long day, char *out, size_t outlen)
{
	char d[16];

	calendar_format(day, d, sizeof(d));
	snprintf(out, outlen, "%.*s", u == INTERVAL_MONTH ? 7 : 10, d);
}

/* The coming intervals (the current one and premake after it) with no partition. */
static int missing_intervals(const struct part_set *ps, const struct table_policy *pol,
			     bool *current_missing)
{
	long a = interval_start(pol->interval, calendar_today());
	int i, n = 0;

	*current_missing = false;
	for (i = 0; i <= pol->premake; i++, a = interval_add(pol->interval, a, 1)) {
		if (part_set_covers(ps, a, interval_add(pol->interval, a, 1)))
			continue;
		*current_missing |= i == 0;
		n++;
	}
	return n;
}

bool tables_scan(PGconn *conn, tables_scan_fn visit, void *arg, struct svc_error *err)
{
	PGresult *res = db_exec(conn, sql_tables_scan, 0, NULL, err);
	int i, j, n;

	if (!res)
		return false;
	n = PQntuples(res);
	for (i = 0; i < n; i = j) {
		struct qualified_name qn;
		struct table_policy pol;
		struct svc_error e = {0};
		struct part_set ps = {0};
		char display[2 * IDENT_MAX + 2];
		unsigned int oid;
		bool partitioned = false, current;
		int missing = -1;

		snprintf(qn.schema, sizeof(qn.schema), "%s", db_get(res, i, "schema_name"));
		snprintf(qn.table, sizeof(qn.table), "%s", db_get(res, i, "table_name"));
		for (j = i + 1; j < n && strcmp(db_get(res, j, "schema_name"), qn.schema) == 0 &&
				strcmp(db_get(res, j, "table_name"), qn.table) == 0;
		     j++)
			;
		ident_format(&qn, display, sizeof(display));
		if (tables_load_row(res, i, &qn, &pol, &oid, &partitioned, &e) &&
		    part_set_fill(&ps, res, i, j - i, &e))
			missing = partitioned ? missing_intervals(&ps, &pol, &current) : 0;
		free(ps.p);
		visit(display, &pol, partitioned, missing, &e, arg);
		svc_error_clear(&e);
	}
	PQclear(res);
	return true;
}

/* Summary and alerts of a partitioned table into status. */
static bool status_partitioned(PGconn *conn, const struct table_ref *ref,
			       const struct table_policy *pol, json_t *status, json_t *alerts,
			       struct svc_error *err)
{
	struct part_set ps;
	long today = calendar_today(), s0 = interval_start(pol->interval, today), cursor, a;
	long long total_bytes = 0, rows = 0, drows = 0, largest = 0;
	double oldest_vacuum = -1;
	const char *oldest = NULL, *newest = NULL;
	char missing[512] = "", gaps[512] = "", big[512] = "", vac[512] = "", ana[512] = "";
	char label[16], action[512];
	int i, runway = 0, nmissing = 0, nparts = 0, last = -1;
	bool current_missing = false;

	if (!part_set_load(conn, ref->oid, true, &ps, err))
		return false;
	for (i = 0; i < ps.n; i++) {
		const struct part *p = &ps.p[i];
		long long bytes = p->table_bytes + p->index_bytes;

		total_bytes += bytes;
		rows += p->rows > 0 ? p->rows : 0;
		largest = bytes > largest ? bytes : largest;
		if (p->vacuum_age_s > oldest_vacuum)
			oldest_vacuum = p->vacuum_age_s;
		if (p->is_default)
			continue;
		nparts++;
		if (p->from_text && (!oldest || strcmp(p->from_text, oldest) < 0))
			oldest = p->from_text;
		if (p->to_text && (!newest || strcmp(p->to_text, newest) > 0))
			newest = p->to_text;
		if (bytes > pol->max_partition_bytes)
			snprintf(big + strlen(big), sizeof(big) - strlen(big), "%s%s (%lld MB)",
				 *big ? ", " : "", p->name, bytes / 1048576);
		/* Never vacuumed or analyzed: its age is unknown (likely new), not lag. */
		if (p->dead > 0 && p->vacuum_age_s > pol->vacuum_lag_hours * 3600)
			snprintf(vac + strlen(vac), sizeof(vac) - strlen(vac), "%s%s", *vac ? ", " : "",
				 p->name);
		if (p->mods > 0 && p->analyze_age_s > pol->analyze_lag_hours * 3600)
			snprintf(ana + strlen(ana), sizeof(ana) - strlen(ana), "%s%s", *ana ? ", " : "",
				 p->name);
		/* Rows come ordered by lower bound: a gap is a hole between neighbours. */
		if (last >= 0 && ps.p[last].to < p->from) {
			char g1[16], g2[16];
			calendar_format(ps.p[last].to, g1, sizeof(g1));
			calendar_format(p->from, g2, sizeof(g2));
			snprintf(gaps + strlen(gaps), sizeof(gaps) - strlen(gaps), "%s[%s, %s)",
				 *gaps ? ", " : "", g1, g2);
		}
		if (last < 0 || p->to > ps.p[last].to)
			last = i;
	}
	nmissing = missing_intervals(&ps, pol, &current_missing);
	for (i = 0, a = s0; nmissing && i <= pol->premake; i++, a = interval_add(pol->interval, a, 1)) {
		if (part_set_covers(&ps, a, interval_add(pol->interval, a, 1)))
			continue;
		month_label(pol->interval, a, label, sizeof(label));
		snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s",
			 *missing ? ", " : "", label);
	}
	for (cursor = s0; part_set_covers(&ps, cursor, interval_add(pol->interval, cursor, 1));
	     cursor = interval_add(pol->interval, cursor, 1))
		runway += cursor > s0;
	if (ps.default_idx >= 0)
		drows = default_rows(conn, &ref->qn, ps.p[ps.default_idx].name, err);

	json_object_set_new(status, "summary",
			    json_pack("{s:i, s:b, s:I, s:I, s:s?, s:s?, s:i, s:s, s:o?, s:I, s:o?}",
				      "partitions", nparts, "has_default", ps.default_idx >= 0,
				      "total_bytes", (json_int_t)total_bytes, "rows_estimate",
				      (json_int_t)rows, "oldest_bound", oldest, "newest_bound", newest,
				      "runway", runway, "runway_unit", interval_unit_name(pol->interval),
				      "default_rows", ps.default_idx >= 0 ? json_integer(drows) : NULL,
				      "largest_partition_bytes", (json_int_t)largest,
				      "oldest_vacuum_age_s",
				      oldest_vacuum >= 0 ? json_integer((json_int_t)oldest_vacuum) : NULL));

	if (nmissing) {
		snprintf(action, sizeof(action),
			 "POST /v1/tables/%s/partitions {\"ahead\":%d} (the scheduler does it within "
			 "its interval)",
			 ref->display, pol->premake);
		alert_add(alerts, "partitions_missing", current_missing ? "critical" : "warning", action,
			  "no partition for %s (premake %d)%s", missing, pol->premake,
			  current_missing ? ": rows for the current interval have nowhere to go" : "");
	}
	snprintf(action, sizeof(action),
		 "create the partitions for those dates with POST /v1/tables/%s/partitions "
		 "{\"from\":...,\"to\":...}; the job moves the rows out of the default partition",
		 ref->display);
	if (drows > pol->default_rows_max)
		alert_add(alerts, "default_partition_rows", "warning", action,
			  "%lld rows sit in the default partition %s", drows,
			  ps.p[ps.default_idx].name);
	if (*big)
		alert_add(alerts, "partition_too_large", "warning",
			  "review the retention policy, or partition by day",
			  "partitions over %lld bytes: %s", pol->max_partition_bytes, big);
	if (*vac)
		alert_add(alerts, "vacuum_lag", "warning",
			  "run VACUUM on them, or lower autovacuum_vacuum_scale_factor for the table",
			  "not vacuumed for over %.0f h with dead rows: %s", pol->vacuum_lag_hours, vac);
	if (*ana)
		alert_add(alerts, "analyze_lag", "warning", "run ANALYZE on them",
			  "not analyzed for over %.0f h with changed rows: %s", pol->analyze_lag_hours,
			  ana);
	snprintf(action, sizeof(action),
		 "create partitions for the gaps with POST /v1/tables/%s/partitions "
		 "{\"from\":...,\"to\":...}",
		 ref->display);
	if (*gaps)
		alert_add(alerts, "partition_gap", "warning", action,
			  "ranges with no partition between partitions: %s", gaps);
	part_set_free(&ps);
	return true;
}

/* The status document of one managed table (policy row in res, row 0). */
static json_t *table_status(PGconn *conn, const PGresult *row, struct svc_error *err)
{
	struct qualified_name qn;
	struct table_policy pol;
	struct table_ref ref;
	json_t *policy = json_loads(db_get(row, 0, "policy"), 0, NULL), *norm = NULL;
	json_t *status = NULL, *alerts;
	char display[2 * IDENT_MAX + 2], ts[64];

	snprintf(qn.schema, sizeof(qn.schema), "%s", db_get(row, 0, "schema_name"));
	snprintf(qn.table, sizeof(qn.table), "%s", db_get(row, 0, "table_name"));
	ident_format(&qn, display, sizeof(display));
	if (!policy || !policy_parse(policy, &norm, &pol, err)) {
		json_decref(policy);
		return NULL;
	}
	json_decref(norm);
	if (!table_resolve(conn, &qn, pol.column, &ref, err)) {
		json_decref(policy);
		return NULL;
	}
	alerts = json_array();
	status = json_pack("{s:s, s:o, s:b, s:b}", "table", display, "policy", policy, "exists",
			   ref.exists, "partitioned", ref.partitioned);
	db_timestamp_rfc3339(db_get(row, 0, "created_at"), ts, sizeof(ts));
	json_object_set_new(status, "registered_at", json_string(ts));
	db_timestamp_rfc3339(db_get(row, 0, "updated_at"), ts, sizeof(ts));
	json_object_set_new(status, "updated_at", json_string(ts));
	json_object_set_new(status, "registered_by", json_string(db_get(row, 0, "created_by")));
	if (!ref.exists) {
		alert_add(alerts, "table_missing", "critical",
			  "recreate it, or stop managing it with DELETE on this table's URL",
			  "%s is managed but does not exist", display);
		json_object_set_new(status, "summary", json_null());
	} else if (!ref.partitioned) {
		char action[256];
		snprintf(action, sizeof(action),
			 "migrate it online with POST /v1/tables/%s/migration", display);
		alert_add(alerts, "not_partitioned", "warning", action,
			  "%s is a plain table: it needs a migration to be partitioned by %s on %s",
			  display, interval_unit_name(pol.interval), pol.column);
		json_object_set_new(status, "summary",
				    json_pack("{s:i, s:b}", "partitions", 0, "has_default", 0));
	} else if (!status_partitioned(conn, &ref, &pol, status, alerts, err)) {
		json_decref(status);
		json_decref(alerts);
		return NULL;
	}
	/* A migration under way or cut over is part of the table's state. */
	{
		const char *p[2] = {qn.schema, qn.table};
		PGresult *mig = db_exec(conn, sql_migration_status, 2, p, err);
		if (mig && PQntuples(mig) == 1) {
			const char *dl = db_get(mig, 0, "rollback_deadline");
			char ts[64] = "";
			if (dl)
				db_timestamp_rfc3339(dl, ts, sizeof(ts));
			json_object_set_new(status, "migration",
					    json_pack("{s:s, s:I, s:s?}", "state", db_get(mig, 0, "state"),
						      "job_id", (json_int_t)db_get_int64(mig, 0, "job_id"),
						      "rollback_deadline", dl ? ts : NULL));
		} else {
			json_object_set_new(status, "migration", json_null());
		}
		PQclear(mig);
		svc_error_clear(err);
	}
	json_object_set_new(status, "alerts", alerts);
	return status;
}

static PGconn *tables_borrow(struct pool *pool, struct svc_error *err)
{
	char why[400];
	PGconn *conn = pool_borrow(pool, why, sizeof(why));

	if (!conn)
		svc_fail(err, SVC_UNAVAILABLE, "the database is not available: %s", why);
	return conn;
}

/* Reads the policy row of qn into *res; SVC_NOT_FOUND when not managed. */
static bool tables_row(PGconn *conn, const struct qualified_name *qn, PGresult **res,
		       struct svc_error *err)
{
	const char *params[2] = {qn->schema, qn->table};

	*res = db_exec(conn, sql_tables_get, 2, params, err);
	if (!*res)
		return false;
	if (PQntuples(*res) == 0) {
		PQclear(*res);
		*res = NULL;
		return svc_fail(err, SVC_NOT_FOUND,
				"%s.%s is not a managed table; register it with PUT /v1/tables/%s.%s",
				qn->schema, qn->table, qn->schema, qn->table);
	}
	return true;
}

json_t *tables_get(struct pool *pool, const char *name, struct svc_error *err)
{
	struct qualified_name qn;
	PGresult *row = NULL;
	json_t *out = NULL;
	PGconn *conn;

	if (!table_name_parse(name, &qn, err) || !(conn = tables_borrow(pool, err)))
		return NULL;
	if (tables_row(conn, &qn, &row, err))
		out = table_status(conn, row, err);
	PQclear(row);
	pool_return(pool, conn);
	return out;
}

json_t *tables_list(struct pool *pool, struct svc_error *err)
{
	PGresult *res;
	json_t *list = NULL;
	PGconn *conn;
	int i;

	if (!(conn = tables_borrow(pool, err)))
		return NULL;
	res = db_exec(conn, sql_tables_list, 0, NULL, err);
	if (res) {
		list = json_array();
		for (i = 0; i < PQntuples(res) && list; i++) {
			/* table_status reads row 0: hand it a one-row view. */
			PGresult *one = PQcopyResult(res, PG_COPYRES_ATTRS);
			json_t *st;
			int c;
			for (c = 0; c < PQnfields(res); c++)
				PQsetvalue(one, 0, c, PQgetvalue(res, i, c),
					   PQgetisnull(res, i, c) ? -1 : PQgetlength(res, i, c));
			st = table_status(conn, one, err);
			PQclear(one);
			if (!st) {
				json_decref(list);
				list = NULL;
				break;
			}
			json_array_append_new(list, st);
		}
	}
	PQclear(res);
	pool_return(pool, conn);
	return list ? json_pack("{s:o}", "tables", list) : NULL;
}

json_t *tables_put(struct pool *pool, const char *name, const json_t *policy, const char *by,
		   bool *created, struct svc_error *err)
{
	struct qualified_name qn;
	struct table_policy pol;
	struct table_ref ref;
	json_t *norm = NULL, *out = NULL;
	char *text = NULL;
	const char *params[4];
	PGresult *res = NULL, *row = NULL;
	PGconn *conn = NULL;

	if (!table_name_parse(name, &qn, err) || !policy_parse(policy, &norm, &pol, err))
		goto done;
	if (!(conn = tables_borrow(pool, err)) || !table_resolve(conn, &qn, pol.column, &ref, err))
		goto done;
	if (!ref.exists) {
		svc_fail(err, SVC_NOT_FOUND, "table %s does not exist", ref.display);
		goto done;
	}
	if (!ref.column_type[0]) {
		svc_field(err, "partition_column", "%s has no column '%s'", ref.display, pol.column);
		goto done;
	}
	/* Wrong strategy first, then the column's type, then the wrong column. */
	if (ref.relkind == 'p' && ref.partstrat != 'r') {
		svc_field(err, "partition_column",
			  "%s is partitioned by %s; partd manages RANGE partitioning on a date or "
			  "timestamp column",
			  ref.display, ref.partstrat == 'l' ? "LIST" : "HASH");
		goto done;
	}
	if (strcmp(ref.column_type, "date") != 0 &&
	    strcmp(ref.column_type, "timestamp without time zone") != 0 &&
	    strcmp(ref.column_type, "timestamp with time zone") != 0) {
		svc_field(err, "partition_column",
			  "%s.%s is %s; the partition column must be date, timestamp or timestamptz",
			  ref.display, pol.column, ref.column_type);
		goto done;
	}
	if (ref.relkind == 'p' && !ref.partitioned) {
		svc_field(err, "partition_column",
			  "%s is partitioned by RANGE on %s, not on %s; the policy must name the "
			  "partition key",
			  ref.display, ref.partition_key, pol.column);
		goto done;
	}
	if (!retention_check(conn, &qn, norm, err))
		goto done;
	text = json_dumps(norm, JSON_COMPACT | JSON_SORT_KEYS);
	params[0] = qn.schema;
	params[1] = qn.table;
	params[2] = text;
	params[3] = by;
	if (!(res = db_exec(conn, sql_tables_upsert, 4, params, err)))
		goto done;
	*created = db_get_bool(res, 0, "created");
	tables_cache_forget(ref.display);
	if (tables_row(conn, &qn, &row, err))
		out = table_status(conn, row, err);
done:
	PQclear(res);
	PQclear(row);
	pool_return(pool, conn);
	json_decref(norm);
	free(text);
	return out;
}

bool tables_delete(struct pool *pool, const char *name, struct svc_error *err)
{
	struct qualified_name qn;
	const char *params[2];
	PGresult *res;
	PGconn *conn;
	bool ok = false;

	if (!table_name_parse(name, &qn, err) || !(conn = tables_borrow(pool, err)))
		return false;
	params[0] = qn.schema;
	params[1] = qn.table;
	res = db_exec(conn, sql_tables_delete, 2, params, err);
	if (res) {
		char display[2 * IDENT_MAX + 2];
		ident_format(&qn, display, sizeof(display));
		tables_cache_forget(display);
	}
	if (res && PQntuples(res) == 0)
		svc_fail(err, SVC_NOT_FOUND, "%s.%s is not a managed table", qn.schema, qn.table);
	ok = res && PQntuples(res) == 1;
	PQclear(res);
	pool_return(pool, conn);
	return ok;
}

/* ---- partitions ------------------------------------------------------ */

/* Exact row counts per partition (by name), in one GROUP BY tableoid. */
static PGresult *exact_counts(PGconn *conn, const struct qualified_name *qn, struct svc_error *err)
{
	char *s = db_ident(conn, qn->schema);
	char *t = db_ident(conn, qn->table);
	char sql[512];
	PGresult *res = NULL;

	if (s && t) {
		snprintf(sql, sizeof(sql),
			 "SELECT c.relname, x.n FROM (SELECT tableoid, count(*) AS n FROM %s.%s GROUP "
			 "BY tableoid) x JOIN pg_catalog.pg_class c ON c.oid = x.tableoid",
			 s, t);
		res = db_exec(conn, sql, 0, NULL, err);
	} else {
		svc_fail(err, SVC_INTERNAL, "out of memory");
	}
	PQfreemem(s);
	PQfreemem(t);
	return res;
}

/*
 * DESIGN: a short-lived cache of partition lists, for dashboards and curl
 * loops hammering one table: entries live PARTD_PARTITIONS_CACHE_MS
 * (default 1 s) and partd's own partition jobs drop theirs at once. Each
 * entry has its own mutex, held while it is refreshed, so a burst of
 * requests on a cold entry runs the catalog query once, not once each;
 * cache_lock guards only the entry table.
 */
#define LIST_CACHE_SLOTS 64

struct list_cache_entry {
	char key[2 * IDENT_MAX + 2];
	pthread_mutex_t lock;
	char *text; /* the list as JSON; guarded by lock, like the rest */
	size_t textlen;
	double at; /* monotonic_ms() of the read */
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct list_cache_entry list_cache[LIST_CACHE_SLOTS];
static int list_cache_n;
static _Atomic long list_cache_ms = 1000;

void tables_set_cache_ms(long ms)
{
	atomic_store(&list_cache_ms, ms);
}

/* The entry for key, made if needed; NULL when the table is full. */
static struct list_cache_entry *cache_entry(const char *key)
{
	struct list_cache_entry *e = NULL;
	int i;

	pthread_mutex_lock(&cache_lock);
	for (i = 0; i < list_cache_n && !e; i++)
		if (strcmp(list_cache[i].key, key) == 0)
			e = &list_cache[i];
	if (!e && list_cache_n < LIST_CACHE_SLOTS) {
		e = &list_cache[list_cache_n++];
		snprintf(e->key, sizeof(e->key), "%s", key);
		pthread_mutex_init(&e->lock, NULL);
	}
	pthread_mutex_unlock(&cache_lock);
	return e;
}

void tables_cache_forget(const char *name)
{
	struct list_cache_entry *e = cache_entry(name);

	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	free(e->text);
	e->text = NULL;
	pthread_mutex_unlock(&e->lock);
}

static char *tables_partitions_now(struct pool *pool, const char *name, bool exact, size_t *len,
				   struct svc_error *err);

/*
 * The fresh cache entry of name, locked (the caller unlocks), or NULL when
 * caching is off or the table is not a table name.
 */
static struct list_cache_entry *cache_fresh(struct pool *pool, const char *name,
					    struct svc_error *err)
{
	struct qualified_name qn;
	struct list_cache_entry *e;
	char key[2 * IDENT_MAX + 2], why[256];
	long ttl_ms = atomic_load(&list_cache_ms);

	if (ttl_ms <= 0 || !ident_parse_table(name, &qn, why, sizeof(why)))
		return NULL;
	ident_format(&qn, key, sizeof(key));
	if (!(e = cache_entry(key)))
		return NULL;
	pthread_mutex_lock(&e->lock);
	if (!e->text || monotonic_ms() - e->at >= (double)ttl_ms) {
		free(e->text);
		e->text = tables_partitions_now(pool, name, false, &e->textlen, err);
		e->at = monotonic_ms();
	}
	return e;
}

char *tables_partitions_text(struct pool *pool, const char *name, bool exact, size_t *len,
			     struct svc_error *err)
{
	struct list_cache_entry *e = exact ? NULL : cache_fresh(pool, name, err);
	char *out = NULL;

	if (!e)
		return tables_partitions_now(pool, name, exact, len, err);
	if (e->text && (out = malloc(e->textlen + 1)) != NULL) {
		memcpy(out, e->text, e->textlen + 1);
		*len = e->textlen;
	} else if (e->text) {
		svc_fail(err, SVC_INTERNAL, "out of memory");
	}
	pthread_mutex_unlock(&e->lock);
	return out;
}

json_t *tables_partitions(struct pool *pool, const char *name, bool exact, struct svc_error *err)
{
	size_t len;
	char *text = tables_partitions_text(pool, name, exact, &len, err);
	json_error_t je;
	json_t *out;

	if (!text)
		return NULL;
	if (!(out = json_loadb(text, len, 0, &je)))
		svc_fail(err, SVC_INTERNAL, "the partition list does not read back as JSON: %s",
			 je.text);
	free(text);
	return out;
}

/*
 * The rows of res (column 0 a partition's name) in name order, so that
 * matching 10,000 exact counts or sizes to partitions is n log n, not n².
 */
struct by_name {
	const PGresult *res;
	int *rows, n;
};

static int by_name_cmp(const void *a, const void *b, void *arg)
{
	const PGresult *res = arg;

	return strcmp(PQgetvalue(res, *(const int *)a, 0), PQgetvalue(res, *(const int *)b, 0));
}

static bool by_name_make(struct by_name *ix, const PGresult *res)
{
	int i;

	ix->res = res;
	ix->n = res ? PQntuples(res) : 0;
	ix->rows = calloc((size_t)(ix->n ? ix->n : 1), sizeof(*ix->rows));
	if (!ix->rows)
		return false;
	for (i = 0; i < ix->n; i++)
		ix->rows[i] = i;
	qsort_r(ix->rows, (size_t)ix->n, sizeof(*ix->rows), by_name_cmp, (void *)res);
	return true;
}

/* The row of res named name, or -1. */
static int by_name_find(const struct by_name *ix, const char *name)
{
	int lo = 0, hi = ix->n - 1;

	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2, c = strcmp(PQgetvalue(ix->res, ix->rows[mid], 0), name);
		if (c == 0)
			return ix->rows[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* ,"key":value for a string (NULL: null) and for a timestamp column. */
static void put_str(strbuf *sb, const char *key, const char *v)
{
	strbuf_puts(sb, key);
	if (v)
		strbuf_json_string(sb, v);
	else
		strbuf_append(sb, "null", 4);
}

static void put_time(strbuf *sb, const char *key, const PGresult *res, int row, int c)
{
	const char *v = col(res, row, c);
	char ts[64];

	if (v)
		db_timestamp_rfc3339(v, ts, sizeof(ts));
	put_str(sb, key, v ? ts : NULL);
}

static void put_int(strbuf *sb, const char *key, long long v)
{
	strbuf_puts(sb, key);
	strbuf_int(sb, v);
}

/*
 * DESIGN: the list is written as JSON text straight from the catalog
 * rows. At 10,000 partitions a jansson tree of 170,000 values, built and
 * then serialized, cost partd more CPU than the catalog query took.
 * The members and their order are the OpenAPI schema's; text/plain and
 * callers wanting a tree read this text back (tables_partitions).
 */
static char *tables_partitions_now(struct pool *pool, const char *name, bool exact, size_t *len,
				   struct svc_error *err)
{
	struct qualified_name qn;
	struct table_policy pol;
	struct part_set ps = {0};
	struct by_name count_ix = {0}, size_ix = {0};
	PGresult *counts = NULL, *sizes = NULL;
	PGconn *conn;
	unsigned int oid;
	bool partitioned;
	long today = calendar_today();
	char oidtext[16];
	const char *oidparam[1] = {oidtext};
	int c_lv, c_lav, c_la, c_laa, i, r;
	char display[2 * IDENT_MAX + 2];
	char *out = NULL;
	strbuf sb;

	if (!table_name_parse(name, &qn, err) || !(conn = tables_borrow(pool, err)))
		return NULL;
	strbuf_init(&sb);
	ident_format(&qn, display, sizeof(display));
	if (!tables_load(conn, &qn, &pol, &oid, &partitioned, err))
		goto done;
	snprintf(oidtext, sizeof(oidtext), "%u", oid);
	if (!part_set_load(conn, oid, true, &ps, err))
		goto done;
	if (exact && (!(counts = exact_counts(conn, &qn, err)) ||
		      !(sizes = db_exec(conn, sql_partitions_sizes, 1, oidparam, err)))) {
		/* Not a 503: asking again meets the same limit. */
		if (strcmp(err->sqlstate, "53200") == 0)
			svc_fail(err, SVC_UNPROCESSABLE,
				 "exact counts lock every partition and its indexes at once (%d "
				 "partitions), more than the server's lock table holds: leave out "
				 "?exact=true for the estimates, or raise max_locks_per_transaction",
				 ps.n);
		goto done;
	}
	if (!by_name_make(&count_ix, counts) || !by_name_make(&size_ix, sizes)) {
		svc_fail(err, SVC_INTERNAL, "out of memory");
		goto done;
	}
	c_lv = PQfnumber(ps.res, "last_vacuum");
	c_lav = PQfnumber(ps.res, "last_autovacuum");
	c_la = PQfnumber(ps.res, "last_analyze");
	c_laa = PQfnumber(ps.res, "last_autoanalyze");
	put_str(&sb, "{\"table\":", display);
	strbuf_puts(&sb, partitioned ? ",\"partitioned\":true,\"partitions\":["
				     : ",\"partitioned\":false,\"partitions\":[");
	for (i = 0; i < ps.n; i++) {
		const struct part *p = &ps.p[i];
		long long rows = p->rows, tbytes = p->table_bytes, ibytes = p->index_bytes;

		if (sizes && (r = by_name_find(&size_ix, p->name)) >= 0) {
			tbytes = strtoll(PQgetvalue(sizes, r, 1), NULL, 10);
			ibytes = strtoll(PQgetvalue(sizes, r, 2), NULL, 10);
		}
		if (counts)
			rows = (r = by_name_find(&count_ix, p->name)) >= 0
				       ? strtoll(PQgetvalue(counts, r, 1), NULL, 10)
				       : 0;
		put_str(&sb, i ? ",{\"name\":" : "{\"name\":", p->name);
		put_str(&sb, ",\"from\":", p->from_text);
		put_str(&sb, ",\"to\":", p->to_text);
		strbuf_puts(&sb, p->is_default ? ",\"is_default\":true" : ",\"is_default\":false");
		if (rows >= 0)
			put_int(&sb, ",\"rows\":", rows);
		else
			strbuf_puts(&sb, ",\"rows\":null");
		strbuf_puts(&sb, counts ? ",\"rows_exact\":true" : ",\"rows_exact\":false");
		put_int(&sb, ",\"table_bytes\":", tbytes);
		put_int(&sb, ",\"index_bytes\":", ibytes);
		put_int(&sb, ",\"total_bytes\":", tbytes + ibytes);
		strbuf_puts(&sb, sizes ? ",\"sizes_exact\":true" : ",\"sizes_exact\":false");
		put_time(&sb, ",\"last_vacuum\":", ps.res, p->row, c_lv);
		put_time(&sb, ",\"last_autovacuum\":", ps.res, p->row, c_lav);
		put_time(&sb, ",\"last_analyze\":", ps.res, p->row, c_la);
		put_time(&sb, ",\"last_autoanalyze\":", ps.res, p->row, c_laa);
		put_int(&sb, ",\"dead_tuples\":", p->dead);
		put_str(&sb, ",\"tier\":", tier_of(p, &pol, today));
		strbuf_append(&sb, "}", 1);
	}
	strbuf_append(&sb, "]}", 2);
	if (sb.failed)
		svc_fail(err, SVC_INTERNAL, "out of memory");
	else
		out = strbuf_steal(&sb, len);
done:
	strbuf_free(&sb);
	free(count_ix.rows);
	free(size_ix.rows);
	PQclear(counts);
	PQclear(sizes);
	part_set_free(&ps);
	pool_return(pool, conn);
	return out;
}

/* Collects the relations a plan node (and its children) scans. */
static void plan_walk(const json_t *node, json_t *scanned, json_int_t *removed)
{
	const json_t *rel = json_object_get(node, "Relation Name"), *plans, *child;
	size_t i;

	if (json_is_string(rel))
		json_array_append(scanned, (json_t *)rel);
	if (json_is_integer(json_object_get(node, "Subplans Removed")))
		*removed += json_integer_value(json_object_get(node, "Subplans Removed"));
	plans = json_object_get(node, "Plans");
	json_array_foreach(plans, i, child) plan_walk(child, scanned, removed);
}

json_t *tables_pruning(struct pool *pool, const char *name, const char *from, const char *to,
		       struct svc_error *err)
{
	struct qualified_name qn;
	struct table_policy pol;
	struct part_set ps = {0};
	PGresult *res = NULL;
	json_t *out = NULL, *plan, *scanned;
	char *s = NULL, *t = NULL, *c = NULL, sql[512], display[2 * IDENT_MAX + 2];
	const char *params[2] = {from, to};
	json_int_t removed = 0;
	unsigned int oid;
	long f, e;
	bool partitioned;
	PGconn *conn;

	if (!from || !calendar_parse_date(from, &f))
		return svc_field(err, "from", "from must be a date, YYYY-MM-DD"), NULL;
	if (!to || !calendar_parse_date(to, &e))
		return svc_field(err, "to", "to must be a date, YYYY-MM-DD"), NULL;
	if (f >= e)
		return svc_field(err, "to", "to must be after from (the range is [from, to))"), NULL;
	if (!table_name_parse(name, &qn, err) || !(conn = tables_borrow(pool, err)))
		return NULL;
	ident_format(&qn, display, sizeof(display));
	if (!tables_load(conn, &qn, &pol, &oid, &partitioned, err) ||
	    !part_set_load(conn, oid, false, &ps, err))
		goto done;
	s = db_ident(conn, qn.schema);
	t = db_ident(conn, qn.table);
	c = db_ident(conn, pol.column);
	if (!s || !t || !c) {
		svc_fail(err, SVC_INTERNAL, "out of memory");
		goto done;
	}
	/* Parameters, not literals: the unnamed statement is planned with their values. */
	snprintf(sql, sizeof(sql),
		 "EXPLAIN (FORMAT JSON) SELECT count(*) FROM %s.%s WHERE %s >= $1 AND %s < $2", s, t,
		 c, c);
	if (!(res = db_exec(conn, sql, 2, params, err)))
		goto done;
	plan = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	scanned = json_array();
	plan_walk(json_object_get(json_array_get(plan, 0), "Plan"), scanned, &removed);
	out = json_pack("{s:s, s:s, s:s, s:i, s:i, s:o, s:I, s:b}", "table", display, "from", from,
			"to", to, "partitions_total", ps.n, "partitions_scanned",
			(int)json_array_size(scanned), "scanned", scanned, "subplans_removed_at_run",
			removed, "pruned", (int)json_array_size(scanned) < ps.n);
	json_object_set_new(out, "plan", json_incref(json_array_get(plan, 0)));
	json_decref(plan);
done:
	PQfreemem(s);
	PQfreemem(t);
	PQfreemem(c);
	PQclear(res);
	part_set_free(&ps);
	pool_return(pool, conn);
	return out;
}
