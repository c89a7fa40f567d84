#include "retention.h"

#include <libpq-fe.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "archive.h"
#include "bound.h"
#include "calendar.h"
#include "db.h"
#include "ddl.h"
#include "embed.h"
#include "jobs.h"
#include "partitions.h"
#include "strbuf.h"
#include "tables.h"

#define MAX_GROUP  16
#define MAX_METRIC 64
#define GIB        (1024.0 * 1024.0 * 1024.0)

static _Atomic long cfg_hour = 3;
static _Atomic long cfg_step_delay_ms = 0;

void retention_configure(long hour_utc, long step_delay_ms)
{
	atomic_store(&cfg_hour, hour_utc);
	atomic_store(&cfg_step_delay_ms, step_delay_ms);
}

long retention_hour(void)
{
	return atomic_load(&cfg_hour);
}

/* ---- the resolved policy ------------------------------------------------ */

enum metric_fn { FN_SUM, FN_AVG, FN_MIN, FN_MAX, FN_COUNT, FN_LAST };
static const char *const fn_names[] = {"sum", "avg", "min", "max", "count", "last"};

struct ret_metric {
	char column[IDENT_MAX + 1];
	char as[IDENT_MAX + 1];
	char type[128];
	enum metric_fn fn;
};

struct ret_spec {
	struct qualified_name qn, daily, monthly;
	struct table_policy pol;
	unsigned int oid;
	bool partitioned;
	char column_type[128];
	int ngroup;
	char group[MAX_GROUP][IDENT_MAX + 1];
	char group_type[MAX_GROUP][128];
	int nmetric;
	struct ret_metric m[MAX_METRIC];
	char archive_dir[600]; /* "" without an archive */
	bool archive_raw;
	double cost[3];  /* $/GB/month: hot, warm, cold */
	json_t *columns; /* [{"name","type"}] of the table, insertable ones */
};

static void spec_free(struct ret_spec *s)
{
	json_decref(s->columns);
	s->columns = NULL;
}

/* The seed's two tables get rollups without naming them in the policy. */
struct seed_default {
	const char *table;
	const char *group[3];
	const char *metrics[10][2]; /* column, fn */
};

static const struct seed_default seed_defaults[] = {
    {"platform_analytics",
     {"workspace_id", "social_account_id", NULL},
     {{"followers", "max"},
      {"followers_change", "sum"},
      {"impressions", "sum"},
      {"reach", "sum"},
      {"engagement_rate", "avg"},
      {"profile_views", "sum"},
      {"website_clicks", "sum"},
      {NULL, NULL}}},
    {"post_analytics",
     {"workspace_id", "social_account_id", "post_id"},
     {{"impressions", "sum"},
      {"reach", "sum"},
      {"likes", "sum"},
      {"comments", "sum"},
      {"shares", "sum"},
      {"saves", "sum"},
      {"clicks", "sum"},
      {"engagement_rate", "avg"},
      {NULL, NULL}}},
};

static const json_t *column_find(const json_t *cols, const char *name)
{
	const json_t *c;
	size_t i;

	json_array_foreach(cols, i, c) if (strcmp(json_string_value(json_object_get(c, "name")),
						  name) == 0) return c;
	return NULL;
}

static json_t *columns_load(PGconn *conn, const struct qualified_name *qn, struct svc_error *err)
{
	const char *params[2] = {qn->schema, qn->table};
	PGresult *res = db_exec(conn, sql_table_column_types, 2, params, err);
	json_t *cols;
	int i;

	if (!res)
		return NULL;
	cols = json_array();
	for (i = 0; i < PQntuples(res); i++)
		json_array_append_new(cols,
				      json_pack("{s:s, s:s, s:s}", "name", db_get(res, i, "name"),
						"type", db_get(res, i, "type"), "category",
						db_get(res, i, "category")));
	PQclear(res);
	return cols;
}

static bool fn_parse(const char *s, enum metric_fn *out)
{
	size_t i;

	for (i = 0; i < sizeof(fn_names) / sizeof(fn_names[0]); i++)
		if (strcmp(fn_names[i], s) == 0)
			return *out = (enum metric_fn)i, true;
	return false;
}

/* Fills s's group_by and metrics from the retention section (or the seed's defaults). */
static bool spec_columns(struct ret_spec *s, const json_t *ret, struct svc_error *err)
{
	const json_t *gb = json_object_get(ret, "group_by"), *ms = json_object_get(ret, "metrics");
	const json_t *c, *v;
	size_t i, k;

	if (!(c = column_find(s->columns, s->pol.column)))
		return svc_field(err, "partition_column", "%s.%s has no column %s", s->qn.schema,
				 s->qn.table, s->pol.column);
	snprintf(s->column_type, sizeof(s->column_type), "%s",
		 json_string_value(json_object_get(c, "type")));
	s->ngroup = s->nmetric = 0;
	if (!gb && !ms) {
		for (k = 0; k < sizeof(seed_defaults) / sizeof(seed_defaults[0]); k++) {
			const struct seed_default *d = &seed_defaults[k];
			if (strcmp(d->table, s->qn.table) != 0)
				continue;
			for (i = 0; i < 3 && d->group[i]; i++)
				if ((c = column_find(s->columns, d->group[i]))) {
					snprintf(s->group[s->ngroup], IDENT_MAX + 1, "%s",
						 d->group[i]);
					snprintf(s->group_type[s->ngroup++], 128, "%s",
						 json_string_value(json_object_get(c, "type")));
				}
			for (i = 0; d->metrics[i][0]; i++) {
				struct ret_metric *m = &s->m[s->nmetric];
				if (!(c = column_find(s->columns, d->metrics[i][0])))
					continue;
				snprintf(m->column, sizeof(m->column), "%s", d->metrics[i][0]);
				snprintf(m->as, sizeof(m->as), "%s", d->metrics[i][0]);
				snprintf(m->type, sizeof(m->type), "%s",
					 json_string_value(json_object_get(c, "type")));
				fn_parse(d->metrics[i][1], &m->fn);
				s->nmetric++;
			}
		}
		return true;
	}
	json_array_foreach(gb, i, v)
	{
		if (!(c = column_find(s->columns, json_string_value(v))))
			return svc_field(err, "retention.group_by",
					 "retention.group_by: %s.%s has no column %s", s->qn.schema,
					 s->qn.table, json_string_value(v));
		snprintf(s->group[s->ngroup], IDENT_MAX + 1, "%s", json_string_value(v));
		snprintf(s->group_type[s->ngroup++], 128, "%s",
			 json_string_value(json_object_get(c, "type")));
	}
	json_array_foreach(ms, i, v)
	{
		struct ret_metric *m = &s->m[s->nmetric];
		const char *col = json_string_value(json_object_get(v, "column"));
		const json_t *as = json_object_get(v, "as");
		const char *cat;
		if (!(c = column_find(s->columns, col)))
			return svc_field(err, "retention.metrics",
					 "retention.metrics[%zu]: %s.%s has no column %s", i,
					 s->qn.schema, s->qn.table, col);
		fn_parse(json_string_value(json_object_get(v, "fn")), &m->fn);
		cat = json_string_value(json_object_get(c, "category"));
		if ((m->fn == FN_SUM || m->fn == FN_AVG) && strcmp(cat, "N") != 0)
			return svc_field(
			    err, "retention.metrics",
			    "retention.metrics[%zu]: %s of %s, a %s column, needs a number "
			    "type",
			    i, fn_names[m->fn], col, json_string_value(json_object_get(c, "type")));
		if ((m->fn == FN_MIN || m->fn == FN_MAX || m->fn == FN_LAST) &&
		    (strcmp(cat, "U") == 0 &&
		     strstr(json_string_value(json_object_get(c, "type")), "json")))
			return svc_field(err, "retention.metrics",
					 "retention.metrics[%zu]: %s of %s: json has no order", i,
					 fn_names[m->fn], col);
		snprintf(m->column, sizeof(m->column), "%s", col);
		snprintf(m->as, sizeof(m->as), "%s", as ? json_string_value(as) : col);
		snprintf(m->type, sizeof(m->type), "%s",
			 json_string_value(json_object_get(c, "type")));
		s->nmetric++;
	}
	return true;
}

/* "<base>_<suffix>", base cut so that it fits 63 bytes. */
static void suffixed(const char *base, const char *suffix, char *out, size_t outlen)
{
	size_t room = IDENT_MAX - strlen(suffix) - 1;

	snprintf(out, outlen, "%.*s_%s", (int)room, base, suffix);
}

static bool spec_load(PGconn *conn, const struct qualified_name *qn, struct ret_spec *s,
		      struct svc_error *err)
{
	const char *params[2] = {qn->schema, qn->table};
	const json_t *ret, *costs, *ar;
	json_t *doc = NULL;
	PGresult *res = NULL;
	bool ok = false;

	memset(s, 0, sizeof(*s));
	s->qn = *qn;
	if (!tables_load(conn, qn, &s->pol, &s->oid, &s->partitioned, err))
		return false;
	if (!s->pol.has_retention)
		return svc_fail(
		    err, SVC_CONFLICT,
		    "%s.%s has no retention policy; add a \"retention\" section with PUT "
		    "/v1/tables/%s.%s",
		    qn->schema, qn->table, qn->schema, qn->table);
	if (!s->partitioned)
		return svc_fail(err, SVC_CONFLICT,
				"%s.%s is not partitioned yet: migrate it with POST "
				"/v1/tables/%s.%s/migration",
				qn->schema, qn->table, qn->schema, qn->table);
	if (s->pol.interval != INTERVAL_MONTH)
		return svc_fail(
		    err, SVC_CONFLICT,
		    "%s.%s is partitioned by day; retention retires monthly partitions only",
		    qn->schema, qn->table);
	if (!(res = db_exec(conn, sql_tables_get, 2, params, err)) || PQntuples(res) != 1)
		goto done;
	doc = json_loads(db_get(res, 0, "policy"), 0, NULL);
	ret = json_object_get(doc, "retention");
	if (!(s->columns = columns_load(conn, qn, err)) || !spec_columns(s, ret, err))
		goto done;
	ar = json_object_get(ret, "archive");
	if (ar && !archive_url_dir(json_string_value(ar), s->archive_dir, sizeof(s->archive_dir))) {
		svc_field(err, "retention.archive", "retention.archive: only file:// is supported");
		goto done;
	}
	s->archive_raw = json_is_true(json_object_get(ret, "archive_raw"));
	costs = json_object_get(ret, "costs");
	s->cost[0] = json_is_number(json_object_get(costs, "hot"))
			 ? json_number_value(json_object_get(costs, "hot"))
			 : 0.125;
	s->cost[1] = json_is_number(json_object_get(costs, "warm"))
			 ? json_number_value(json_object_get(costs, "warm"))
			 : 0.10;
	s->cost[2] = json_is_number(json_object_get(costs, "cold"))
			 ? json_number_value(json_object_get(costs, "cold"))
			 : 0.023;
	s->daily = s->monthly = *qn;
	suffixed(qn->table, "daily", s->daily.table, sizeof(s->daily.table));
	suffixed(qn->table, "monthly", s->monthly.table, sizeof(s->monthly.table));
	ok = true;
done:
	if (res && PQntuples(res) != 1 && !err->code)
		svc_fail(err, SVC_NOT_FOUND, "%s.%s is not a managed table", qn->schema, qn->table);
	PQclear(res);
	json_decref(doc);
	if (!ok)
		spec_free(s);
	return ok;
}

/*
 * Each group_by column needs an equality operator GROUP BY can use (json,
 * point and xml have none). PostgreSQL's parser answers, without reading a
 * row; a run would otherwise fail on every partition.
 */
static bool group_by_groupable(PGconn *conn, const struct ret_spec *s, struct svc_error *err)
{
	char *schema = db_ident(conn, s->qn.schema), *table = db_ident(conn, s->qn.table);
	bool ok = schema && table;
	int i;

	if (!ok)
		svc_fail(err, SVC_INTERNAL, "out of memory");
	for (i = 0; ok && i < s->ngroup; i++) {
		struct svc_error probe = {0};
		char *g = db_ident(conn, s->group[i]), *sql = NULL;
		PGresult *res = NULL;

		if (!g || asprintf(&sql, "EXPLAIN (COSTS OFF) SELECT 1 FROM %s.%s GROUP BY %s", schema,
				   table, g) < 0) {
			sql = NULL;
			ok = svc_fail(err, SVC_INTERNAL, "out of memory");
		} else if (!(res = db_exec(conn, sql, 0, NULL, &probe))) {
			if (strcmp(probe.sqlstate, "42883") == 0) {
				svc_error_clear(&probe);
				ok = svc_field(err, "retention.group_by",
					       "retention.group_by: %s is %s, a type with no equality "
					       "operator to group rows by; group by another column",
					       s->group[i], s->group_type[i]);
			} else {
				*err = probe;
				ok = false;
			}
		}
		PQclear(res);
		PQfreemem(g);
		free(sql);
	}
	PQfreemem(schema);
	PQfreemem(table);
	return ok;
}

bool retention_check(PGconn *conn, const struct qualified_name *qn, const json_t *policy,
		     struct svc_error *err)
{
	const json_t *ret = json_object_get(policy, "retention");
	struct ret_spec *s;
	bool ok;

	if (!ret)
		return true;
	if (!(s = calloc(1, sizeof(*s))))
		return svc_fail(err, SVC_INTERNAL, "out of memory");
	s->qn = *qn;
	snprintf(s->pol.column, sizeof(s->pol.column), "%s",
		 json_string_value(json_object_get(policy, "partition_column")));
	ok = (s->columns = columns_load(conn, qn, err)) != NULL && spec_columns(s, ret, err) &&
	     group_by_groupable(conn, s, err);
	spec_free(s);
	free(s);
	return ok;
}

/* ---- SQL pieces ---------------------------------------------------------- */

/* Quoted identifiers of one run, made once. */
struct ret_q {
	char *schema, *parent, *daily, *monthly, *column;
	char *group[MAX_GROUP];
	char *mcol[MAX_METRIC];
	char *mas[MAX_METRIC]; /* the base name; suffixes are added quoted by sq_suffix */
};

static void q_free(struct ret_q *q)
{
	int i;

	PQfreemem(q->schema);
	PQfreemem(q->parent);
	PQfreemem(q->daily);
	PQfreemem(q->monthly);
	PQfreemem(q->column);
	for (i = 0; i < MAX_GROUP; i++)
		PQfreemem(q->group[i]);
	for (i = 0; i < MAX_METRIC; i++) {
		PQfreemem(q->mcol[i]);
		PQfreemem(q->mas[i]);
	}
	memset(q, 0, sizeof(*q));
}

static bool q_make(PGconn *conn, const struct ret_spec *s, struct ret_q *q, struct svc_error *err)
{
	bool ok;
	int i;

	memset(q, 0, sizeof(*q));
	q->schema = db_ident(conn, s->qn.schema);
	q->parent = db_ident(conn, s->qn.table);
	q->daily = db_ident(conn, s->daily.table);
	q->monthly = db_ident(conn, s->monthly.table);
	q->column = db_ident(conn, s->pol.column);
	ok = q->schema && q->parent && q->daily && q->monthly && q->column;
	for (i = 0; i < s->ngroup; i++)
		ok &= (q->group[i] = db_ident(conn, s->group[i])) != NULL;
	for (i = 0; i < s->nmetric; i++) {
		ok &= (q->mcol[i] = db_ident(conn, s->m[i].column)) != NULL;
		ok &= (q->mas[i] = db_ident(conn, s->m[i].as)) != NULL;
	}
	if (!ok) {
		q_free(q);
		return svc_fail(err, SVC_INTERNAL, "out of memory");
	}
	return true;
}

/* A rollup column: the metric's name with a suffix, quoted. */
static void sq_col(PGconn *conn, strbuf *sb, const char *as, const char *suffix)
{
	char name[IDENT_MAX + 8];
	char *q;

	snprintf(name, sizeof(name), "%s%s", as, suffix);
	q = db_ident(conn, name);
	strbuf_puts(sb, q ? q : "\"?\"");
	PQfreemem(q);
}

/* ", g1, g2" (with prefix p: ", p.g1, p.g2"). */
static void sq_groups(strbuf *sb, const struct ret_spec *s, const struct ret_q *q, const char *p)
{
	int i;

	for (i = 0; i < s->ngroup; i++)
		strbuf_printf(sb, ", %s%s", p, q->group[i]);
}

/* The number of distinct group-by keys (1 for any rows when there are none). */
static void sq_month_groups(strbuf *sb, const struct ret_spec *s, const struct ret_q *q)
{
	int i;

	if (!s->ngroup) {
		strbuf_puts(sb, "least(count(*), 1)");
		return;
	}
	strbuf_puts(sb, "count(DISTINCT ROW(");
	for (i = 0; i < s->ngroup; i++)
		strbuf_printf(sb, "%s%s", i ? ", " : "", q->group[i]);
	strbuf_puts(sb, "))");
}

static char *day_literal(PGconn *conn, long day)
{
	char d[16];

	calendar_format(day, d, sizeof(d));
	return PQescapeLiteral(conn, d, strlen(d));
}

/* ---- the plan ----------------------------------------------------------- */

struct pentry {
	char name[IDENT_MAX + 1];
	long from, to;
	bool is_default, attached, pending, aligned;
	long long bytes, heap_bytes, rows_estimate;
};

static int pentry_cmp(const void *a, const void *b)
{
	const struct pentry *x = a, *y = b;

	if (x->is_default != y->is_default)
		return x->is_default ? 1 : -1;
	return x->from < y->from ? -1 : x->from > y->from;
}

static void day_text(long day, char *out, size_t outlen)
{
	if (day == LONG_MIN || day == LONG_MAX)
		snprintf(out, outlen, "%s", day == LONG_MIN ? "MINVALUE" : "MAXVALUE");
	else
		calendar_format(day, out, outlen);
}

/* Exact rows and distinct daily and monthly groups of one partition. */
static bool part_counts(PGconn *conn, const struct ret_spec *s, const struct ret_q *q,
			const char *name, long long *rows, long long *dgroups, long long *mgroups,
			struct svc_error *err)
{
	char *part = db_ident(conn, name);
	PGresult *res = NULL;
	strbuf sb;
	bool ok = false;

	strbuf_init(&sb);
	strbuf_printf(&sb, "SELECT count(*), count(DISTINCT ROW(%s::date", q->column);
	sq_groups(&sb, s, q, "");
	strbuf_puts(&sb, ")), ");
	sq_month_groups(&sb, s, q);
	strbuf_printf(&sb, " FROM %s.%s", q->schema, part ? part : "\"?\"");
	if (sb.failed || !part) {
		svc_fail(err, SVC_INTERNAL, "out of memory");
		goto done;
	}
	if (!(res = db_exec(conn, sb.data, 0, NULL, err)))
		goto done;
	*rows = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	*dgroups = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	*mgroups = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	ok = true;
done:
	PQclear(res);
	PQfreemem(part);
	strbuf_free(&sb);
	return ok;
}

static long long tree_bytes(PGconn *conn, const struct qualified_name *qn, struct svc_error *err)
{
	const char *params[2] = {qn->schema, qn->table};
	PGresult *res = db_exec(conn, sql_relation_tree_bytes, 2, params, err);
	long long n = res ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;

	PQclear(res);
	return n;
}

static bool relation_exists(PGconn *conn, const struct qualified_name *qn, bool *partition,
			    unsigned int *parent, struct svc_error *err)
{
	const char *params[2] = {qn->schema, qn->table};
	PGresult *res = db_exec(conn, sql_relation_state, 2, params, err);
	bool found;

	if (!res)
		return false;
	found = PQntuples(res) == 1;
	if (partition)
		*partition = found && db_get_bool(res, 0, "relispartition");
	if (parent)
		*parent = found ? (unsigned int)db_get_int64(res, 0, "parent") : 0;
	PQclear(res);
	return found;
}

/* A rollup row's size, estimated: header, key and metric columns, and its index. */
static double rollup_row_bytes(const struct ret_spec *s)
{
	int i, cols = 2 + s->ngroup;

	for (i = 0; i < s->nmetric; i++)
		cols += s->m[i].fn == FN_AVG || s->m[i].fn == FN_LAST ? 2 : 1;
	return (28.0 + 10.0 * cols) + (16.0 + 10.0 * (1 + s->ngroup));
}

#define ARCHIVE_RATIO 0.25 /* gzip'd CSV per heap byte, for the estimate only */
/* Above this many rows (pg_class.reltuples) a plan estimates instead of counting. */
#define PLAN_EXACT_MAX_ROWS 2000000LL

static json_t *steps_json(const char *const *steps)
{
	json_t *a = json_array();

	for (; *steps; steps++)
		json_array_append_new(a, json_string(*steps));
	return a;
}

/*
 * The plan: every partition of s with its action and why, and the storage
 * per tier before and after. On error, NULL and err.
 */
static json_t *ret_plan(PGconn *conn, struct ret_spec *s, long today, struct svc_error *err)
{
	char oidtext[16], hot_t[16], warm_t[16], today_t[16], why[2048], a[16], b[16];
	char hot_age[32], warm_age[32];
	const char *params[3] = {oidtext, s->qn.schema, s->qn.table};
	long hot_cut = calendar_sub_age(today, s->pol.hot_months, s->pol.hot_days);
	long warm_cut = calendar_sub_age(today, s->pol.warm_months, s->pol.warm_days);
	long newest = LONG_MIN;
	double row_bytes = rollup_row_bytes(s);
	double hot_before = 0, hot_after, warm_before, warm_after, cold_before, cold_after;
	double retired_bytes = 0, new_rollup = 0, gone_daily = 0, new_archive = 0;
	long long total_rows = 0;
	struct pentry *pe = NULL;
	struct ret_q q = {0};
	PGresult *res = NULL;
	json_t *plan = NULL, *list = json_array(), *storage;
	bool daily_exists, has_default = false;
	int i, n = 0;
	char arch[700];

	snprintf(oidtext, sizeof(oidtext), "%u", s->oid);
	snprintf(hot_age, sizeof(hot_age), "%d %s",
		 s->pol.hot_months ? s->pol.hot_months : s->pol.hot_days,
		 s->pol.hot_months ? "months" : "days");
	snprintf(warm_age, sizeof(warm_age), "%d %s",
		 s->pol.warm_months ? s->pol.warm_months : s->pol.warm_days,
		 s->pol.warm_months ? "months" : "days");
	calendar_format(hot_cut, hot_t, sizeof(hot_t));
	calendar_format(warm_cut, warm_t, sizeof(warm_t));
	calendar_format(today, today_t, sizeof(today_t));
	snprintf(arch, sizeof(arch), "archived to file://%s, re-read and verified (rows, sha256)",
		 s->archive_dir);
	if (!q_make(conn, s, &q, err) ||
	    !(res = db_exec(conn, sql_retention_partitions, 3, params, err)))
		goto fail;
	pe = calloc((size_t)PQntuples(res) + 1, sizeof(*pe));
	if (!pe) {
		svc_fail(err, SVC_INTERNAL, "out of memory");
		goto fail;
	}
	for (i = 0; i < PQntuples(res); i++) {
		struct pentry *p = &pe[n];
		const char *node = db_get(res, i, "bound_node");
		bool al1 = true, al2 = true;
		struct bound bd;

		snprintf(p->name, sizeof(p->name), "%s", db_get(res, i, "name"));
		p->from = LONG_MIN;
		p->to = LONG_MAX;
		p->attached = node != NULL;
		p->pending = db_get_bool(res, i, "detach_pending");
		p->bytes = db_get_int64(res, i, "bytes");
		p->heap_bytes = db_get_int64(res, i, "heap_bytes");
		p->rows_estimate = db_get_int64(res, i, "rows_estimate");
		if (node) {
			if (!bound_decode(node, &bd))
				continue;
			p->is_default = bd.is_default;
			if (bd.has_from)
				calendar_parse_bound(bd.from, &p->from, &al1);
			if (bd.has_to && calendar_parse_bound(bd.to, &p->to, &al2) && !al2)
				p->to++;
		} else {
			calendar_parse_date(db_get(res, i, "range_from"), &p->from);
			calendar_parse_date(db_get(res, i, "range_to"), &p->to);
		}
		p->aligned = al1 && al2 && p->from != LONG_MIN && p->to != LONG_MAX &&
			     interval_start(INTERVAL_MONTH, p->from) == p->from &&
			     interval_add(INTERVAL_MONTH, p->from, 1) == p->to;
		has_default |= p->is_default;
		if (p->attached && !p->is_default && p->from > newest)
			newest = p->from;
		hot_before += (double)p->bytes;
		n++;
	}
	PQclear(res);
	res = NULL;
	qsort(pe, (size_t)n, sizeof(*pe), pentry_cmp);

	for (i = 0; i < n; i++) {
		const struct pentry *p = &pe[i];
		const char *tier, *action = "keep";
		const char *steps[12] = {NULL};
		long long rows = -1, dg = 0, mg = 0;
		bool exact = true;
		int k = 0;
		json_t *e;

		day_text(p->from, a, sizeof(a));
		day_text(p->to, b, sizeof(b));
		if (p->is_default) {
			tier = "hot";
			snprintf(why, sizeof(why), "the default partition is never dropped");
		} else if (p->to == LONG_MAX || p->to > hot_cut) {
			tier = "hot";
			snprintf(
			    why, sizeof(why),
			    "hot: its upper bound %s is after the hot cutoff %s (today %s - %s); "
			    "raw rows stay",
			    b, hot_t, today_t, hot_age);
		} else if (p->attached && p->from == newest) {
			tier = p->to > warm_cut ? "warm" : "cold";
			snprintf(why, sizeof(why), "the newest partition is never dropped");
		} else if (!p->aligned) {
			tier = p->to > warm_cut ? "warm" : "cold";
			snprintf(why, sizeof(why),
				 "[%s, %s) is not one whole month; partd retires only monthly "
				 "partitions and leaves this one alone",
				 a, b);
		} else {
			bool cold = p->to <= warm_cut;
			bool archive = s->archive_dir[0] && (cold || s->archive_raw);
			tier = cold ? "cold" : "warm";
			action = "drop";
			steps[k++] = "rollup_daily";
			steps[k++] = "verify_daily";
			if (cold) {
				steps[k++] = "rollup_monthly";
				steps[k++] = "verify_monthly";
			}
			if (archive) {
				steps[k++] = "archive";
				steps[k++] = "verify_archive";
			}
			if (p->attached)
				steps[k++] = "detach";
			steps[k++] = "drop";
			if (cold)
				steps[k++] = "delete_daily";
			snprintf(
			    why, sizeof(why),
			    "%s: its upper bound %s is %s the %s cutoff %s; %s rolled up per day "
			    "into %s.%s and verified (groups, rows and metric totals equal the raw "
			    "rows)%s%s%s; then the raw partition is %s and dropped%s%s",
			    tier, b, "on or before", cold ? "warm" : "hot", cold ? warm_t : hot_t,
			    p->attached ? "its rows are"
					: "it was detached by a run that stopped "
					  "before DROP; its rows are",
			    s->qn.schema, s->daily.table,
			    cold ? ", then per month into the monthly rollup, verified against the "
				   "daily rows"
				 : "",
			    archive ? "; " : "", archive ? arch : "",
			    !p->attached ? "(already) detached"
			    : p->pending ? "detached (FINALIZE of a concurrent detach that stopped)"
			    : has_default ? "detached (plain DETACH under lock_timeout: the table "
					    "has a default partition)"
					  : "detached (DETACH CONCURRENTLY)",
			    cold ? "; its daily rows are deleted, the monthly rows stay" : "",
			    !cold && !archive && s->archive_dir[0]
				? " (archive_raw is false: warm raw rows are not archived)"
				: "");
			if (p->rows_estimate > PLAN_EXACT_MAX_ROWS) {
				/*
				 * Counting a big partition exactly could outlast a request's
				 * statement_timeout: its statistics stand in (the actions
				 * do not depend on counts), and rows_exact says so.
				 */
				rows = p->rows_estimate;
				dg = rows;
				mg = rows / 28 + 1;
				exact = false;
			} else if (!part_counts(conn, s, &q, p->name, &rows, &dg, &mg, err)) {
				goto fail;
			}
			total_rows += rows;
			retired_bytes += (double)p->bytes;
			new_rollup += row_bytes * (double)(cold ? mg : dg);
			if (archive)
				new_archive += ARCHIVE_RATIO * (double)p->heap_bytes;
		}
		e = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:b, s:I, s:s, s:b, s:b}",
			      "partition", p->name, "from", a, "to", b, "tier", tier, "action",
			      action, "steps", steps_json(steps), "why", why, "rows",
			      rows >= 0 ? json_integer(rows) : json_null(), "rows_exact",
			      rows >= 0 && exact, "bytes", (json_int_t)p->bytes, "source",
			      p->attached ? "partition" : "detached", "attached", p->attached,
			      "detach_pending", p->pending);
		if (rows < 0)
			json_object_set_new(
			    e, "rows_estimate",
			    json_integer(p->rows_estimate > 0 ? p->rows_estimate : 0));
		json_array_append_new(list, e);
	}

	/* Cold months that live only as daily rollup rows: roll them into months. */
	daily_exists = relation_exists(conn, &s->daily, NULL, NULL, err);
	if (err->code)
		goto fail;
	if (daily_exists) {
		const char *p1[1] = {warm_t};
		strbuf sb;
		strbuf_init(&sb);
		strbuf_printf(
		    &sb,
		    "SELECT date_trunc('month', %s)::date::text AS month, count(*) AS n, "
		    "sum(rows)::bigint AS source_rows FROM %s.%s WHERE %s < $1::date GROUP "
		    "BY 1 ORDER BY 1",
		    q.column, q.schema, q.daily, q.column);
		res = sb.failed ? NULL : db_exec(conn, sb.data, 1, p1, err);
		strbuf_free(&sb);
		if (!res)
			goto fail;
		for (i = 0; i < PQntuples(res); i++) {
			const char *steps[] = {"rollup_monthly", "verify_monthly", "delete_daily",
					       NULL};
			long from, to;
			bool covered = false;
			int j;
			calendar_parse_date(db_get(res, i, "month"), &from);
			to = interval_add(INTERVAL_MONTH, from, 1);
			if (to > warm_cut)
				continue;
			for (j = 0; j < n; j++)
				covered |= pe[j].from == from && !pe[j].is_default;
			if (covered)
				continue;
			day_text(from, a, sizeof(a));
			day_text(to, b, sizeof(b));
			snprintf(
			    why, sizeof(why),
			    "cold: the month [%s, %s) is only in %s.%s (its raw partition went "
			    "while it was warm) and ends on or before the warm cutoff %s: its "
			    "daily rows are rolled up into %s.%s, verified, then deleted",
			    a, b, s->qn.schema, s->daily.table, warm_t, s->qn.schema,
			    s->monthly.table);
			gone_daily += row_bytes * (double)db_get_int64(res, i, "n");
			new_rollup += row_bytes * (double)db_get_int64(res, i, "n") / 28.0;
			json_array_append_new(
			    list,
			    json_pack(
				"{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:I, s:b, s:I, s:s, s:b, "
				"s:b, s:I}",
				"partition", s->daily.table, "from", a, "to", b, "tier", "cold",
				"action", "rollup", "steps", steps_json(steps), "why", why, "rows",
				(json_int_t)db_get_int64(res, i, "n"), "rows_exact", 1, "bytes",
				(json_int_t)0, "source", "daily_rollup", "attached", 0,
				"detach_pending", 0, "source_rows",
				(json_int_t)db_get_int64(res, i, "source_rows")));
		}
		PQclear(res);
		res = NULL;
	}

	warm_before =
	    (double)tree_bytes(conn, &s->daily, err) + (double)tree_bytes(conn, &s->monthly, err);
	{
		const char *p2[2] = {s->qn.schema, s->qn.table};
		if (!(res = db_exec(conn, sql_archives_bytes, 2, p2, err)))
			goto fail;
		cold_before = (double)db_get_int64(res, 0, "bytes");
		PQclear(res);
		res = NULL;
	}
	hot_after = hot_before - retired_bytes;
	warm_after = warm_before + new_rollup - gone_daily;
	if (warm_after < 0)
		warm_after = 0;
	cold_after = cold_before + new_archive;
	{
		double cost_before = (hot_before * s->cost[0] + warm_before * s->cost[1] +
				      cold_before * s->cost[2]) /
				     GIB;
		double cost_after =
		    (hot_after * s->cost[0] + warm_after * s->cost[1] + cold_after * s->cost[2]) /
		    GIB;
		storage = json_pack(
		    "{s:s, s:{s:f, s:f, s:f}, s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I}, s:b, s:{s:f, "
		    "s:f, s:f}, s:f, s:f}",
		    "tiers",
		    "hot: raw partitions in PostgreSQL; warm: the rollup tables; cold: "
		    "archive files",
		    "cost_per_gb_month", "hot", s->cost[0], "warm", s->cost[1], "cold", s->cost[2],
		    "bytes_before", "hot", (json_int_t)hot_before, "warm", (json_int_t)warm_before,
		    "cold", (json_int_t)cold_before, "bytes_after", "hot", (json_int_t)hot_after,
		    "warm", (json_int_t)warm_after, "cold", (json_int_t)cold_after,
		    "after_is_estimate", 1, "saved_per_month_usd", "hot",
		    (hot_before - hot_after) * s->cost[0] / GIB, "warm",
		    (warm_before - warm_after) * s->cost[1] / GIB, "cold",
		    (cold_before - cold_after) * s->cost[2] / GIB, "total_saved_per_month_usd",
		    cost_before - cost_after, "hot_reduction_percent",
		    hot_before > 0 ? 100.0 * (hot_before - hot_after) / hot_before : 0.0);
		json_object_set_new(storage, "seed_claim_hot_reduction_percent", json_integer(60));
	}
	plan = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s}, s:s?, s:b, s:o, s:I, "
			 "s:o}",
			 "table", "", "today", today_t, "cutoffs", "hot", hot_t, "warm", warm_t,
			 "hot_age", "", "warm_age", "", "rollups", "daily", "", "monthly", "",
			 "archive", s->archive_dir[0] ? s->archive_dir : NULL, "archive_raw",
			 s->archive_raw, "partitions", list, "rows_retired", (json_int_t)total_rows,
			 "storage", storage);
	list = NULL;
	{
		char d[2 * IDENT_MAX + 2];
		json_t *cut = json_object_get(plan, "cutoffs"),
		       *ro = json_object_get(plan, "rollups");
		ident_format(&s->qn, d, sizeof(d));
		json_object_set_new(plan, "table", json_string(d));
		ident_format(&s->daily, d, sizeof(d));
		json_object_set_new(ro, "daily", json_string(d));
		ident_format(&s->monthly, d, sizeof(d));
		json_object_set_new(ro, "monthly", json_string(d));
		json_object_set_new(cut, "hot_age", json_string(hot_age));
		json_object_set_new(cut, "warm_age", json_string(warm_age));
	}
	{
		json_t *g = json_array(), *ms = json_array();
		for (i = 0; i < s->ngroup; i++)
			json_array_append_new(g, json_string(s->group[i]));
		for (i = 0; i < s->nmetric; i++)
			json_array_append_new(
			    ms, json_pack("{s:s, s:s, s:s}", "column", s->m[i].column, "fn",
					  fn_names[s->m[i].fn], "as", s->m[i].as));
		json_object_set_new(plan, "group_by", g);
		json_object_set_new(plan, "metrics", ms);
	}
fail:
	PQclear(res);
	free(pe);
	q_free(&q);
	json_decref(list);
	return plan;
}

/* ---- the run ------------------------------------------------------------ */

struct run {
	struct job_ctx *ctx;
	PGconn *conn;
	struct ret_spec s;
	struct ret_q q;
	char cols[8192]; /* the table's insertable columns, quoted */
	json_t *manifest_cols;
	bool has_default;
	unsigned int default_oid;
	char group_eq[MAX_GROUP][TABLES_EQ_MAX]; /* tables_column_equality of s.group */
	char display[2 * IDENT_MAX + 2];
	double step_t0;  /* when the current step began, ms */
	char phase[160]; /* the job's phase while a step runs */
	bool cut_short;  /* the last statement failed because the job stops */
	struct archive_stop stop; /* the job's stop, for archive reads and writes */
};

static bool job_stop_requested(void *ctx)
{
	return job_should_stop(ctx);
}

/*
 * job_exec for the run: when the statement failed because the job is
 * stopping (job_exec_stopped), r->cut_short says so, and entry_fail
 * reports a stop instead of the partition's failure.
 */
static PGresult *run_job_exec(struct run *r, const char *sql, struct svc_error *err)
{
	PGresult *res = job_exec(r->ctx, sql, 0, NULL, err);

	if (!res && job_exec_stopped(r->ctx, err))
		r->cut_short = true;
	return res;
}

/*
 * archive_copy_out with the job's stop: when the stop ended it, r->cut_short
 * says so, as run_job_exec does for a statement.
 */
static bool run_copy_out(struct run *r, const char *sql, const char *path, struct archive_stats *st,
			 char *why, size_t whylen)
{
	bool ok = archive_copy_out(r->conn, sql, path, 1, &r->stop, st, why, whylen);

	if (!ok)
		r->cut_short = st->stopped;
	return ok;
}

/* One SQL statement of the run (run_job_exec); true on success, rows changed into *n. */
static bool run_exec(struct run *r, const char *sql, long long *n, struct svc_error *err)
{
	PGresult *res = run_job_exec(r, sql, err);

	if (!res)
		return false;
	if (n)
		*n = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return true;
}

/* Rollup columns after the key: ", m, a_sum, a_count, l, l_at, ..." */
static void sq_metric_cols(struct run *r, strbuf *sb, const char *prefix)
{
	int i;

	for (i = 0; i < r->s.nmetric; i++) {
		const struct ret_metric *m = &r->s.m[i];
		strbuf_printf(sb, ", %s", prefix);
		if (m->fn == FN_AVG) {
			sq_col(r->conn, sb, m->as, "_sum");
			strbuf_printf(sb, ", %s", prefix);
			sq_col(r->conn, sb, m->as, "_count");
		} else {
			sq_col(r->conn, sb, m->as, "");
			if (m->fn == FN_LAST) {
				strbuf_printf(sb, ", %s", prefix);
				sq_col(r->conn, sb, m->as, "_at");
			}
		}
	}
}

/* The same columns with their types, for CREATE TABLE. */
static void sq_metric_defs(struct run *r, strbuf *sb)
{
	int i;

	for (i = 0; i < r->s.nmetric; i++) {
		const struct ret_metric *m = &r->s.m[i];
		strbuf_puts(sb, ", ");
		switch (m->fn) {
		case FN_AVG:
			sq_col(r->conn, sb, m->as, "_sum");
			strbuf_puts(sb, " numeric, ");
			sq_col(r->conn, sb, m->as, "_count");
			strbuf_puts(sb, " bigint");
			break;
		case FN_SUM:
			sq_col(r->conn, sb, m->as, "");
			strbuf_puts(sb, " numeric");
			break;
		case FN_COUNT:
			sq_col(r->conn, sb, m->as, "");
			strbuf_puts(sb, " bigint");
			break;
		case FN_MIN:
		case FN_MAX:
			sq_col(r->conn, sb, m->as, "");
			strbuf_printf(sb, " %s", m->type);
			break;
		case FN_LAST:
			sq_col(r->conn, sb, m->as, "");
			strbuf_printf(sb, " %s, ", m->type);
			sq_col(r->conn, sb, m->as, "_at");
			strbuf_printf(sb, " %s", r->s.column_type);
			break;
		}
	}
}

/* Aggregates of raw rows (alias s) into daily rollup columns. */
static void sq_raw_aggs(struct run *r, strbuf *sb)
{
	int i;

	for (i = 0; i < r->s.nmetric; i++) {
		const char *c = r->q.mcol[i];
		switch (r->s.m[i].fn) {
		case FN_SUM:
			strbuf_printf(sb, ", sum(s.%s::numeric)", c);
			break;
		case FN_AVG:
			strbuf_printf(sb, ", sum(s.%s::numeric), count(s.%s)", c, c);
			break;
		case FN_COUNT:
			strbuf_printf(sb, ", count(s.%s)", c);
			break;
		case FN_MIN:
			strbuf_printf(sb, ", min(s.%s)", c);
			break;
		case FN_MAX:
			strbuf_printf(sb, ", max(s.%s)", c);
			break;
		case FN_LAST:
			strbuf_printf(sb,
				      ", (array_agg(s.%s ORDER BY s.%s DESC, s.%s DESC NULLS "
				      "LAST))[1], max(s.%s)",
				      c, r->q.column, c, r->q.column);
			break;
		}
	}
}

/* Aggregates of daily rows (alias s) into monthly rollup columns: sums and counts add up. */
static void sq_daily_aggs(struct run *r, strbuf *sb)
{
	int i;

	for (i = 0; i < r->s.nmetric; i++) {
		const struct ret_metric *m = &r->s.m[i];
		switch (m->fn) {
		case FN_SUM:
		case FN_COUNT:
			strbuf_puts(sb, ", sum(s.");
			sq_col(r->conn, sb, m->as, "");
			strbuf_puts(sb, ")");
			break;
		case FN_AVG:
			strbuf_puts(sb, ", sum(s.");
			sq_col(r->conn, sb, m->as, "_sum");
			strbuf_puts(sb, "), sum(s.");
			sq_col(r->conn, sb, m->as, "_count");
			strbuf_puts(sb, ")");
			break;
		case FN_MIN:
		case FN_MAX:
			strbuf_printf(sb, ", %s(s.", m->fn == FN_MIN ? "min" : "max");
			sq_col(r->conn, sb, m->as, "");
			strbuf_puts(sb, ")");
			break;
		case FN_LAST:
			strbuf_puts(sb, ", (array_agg(s.");
			sq_col(r->conn, sb, m->as, "");
			strbuf_puts(sb, " ORDER BY s.");
			sq_col(r->conn, sb, m->as, "_at");
			strbuf_puts(sb, " DESC, s.");
			sq_col(r->conn, sb, m->as, "");
			strbuf_puts(sb, " DESC NULLS LAST))[1], max(s.");
			sq_col(r->conn, sb, m->as, "_at");
			strbuf_puts(sb, ")");
			break;
		}
	}
}

/* Totals a verification compares: of raw rows (s) ... */
static void sq_raw_totals(struct run *r, strbuf *sb)
{
	int i;

	for (i = 0; i < r->s.nmetric; i++) {
		const char *c = r->q.mcol[i];
		switch (r->s.m[i].fn) {
		case FN_SUM:
			strbuf_printf(sb, ", sum(%s::numeric)", c);
			break;
		case FN_AVG:
			strbuf_printf(sb, ", sum(%s::numeric), count(%s)", c, c);
			break;
		case FN_COUNT:
			strbuf_printf(sb, ", count(%s)", c);
			break;
		case FN_MIN:
			strbuf_printf(sb, ", min(%s)", c);
			break;
		case FN_MAX:
			strbuf_printf(sb, ", max(%s)", c);
			break;
		case FN_LAST:
			strbuf_printf(sb, ", max(%s)", r->q.column);
			break;
		}
	}
}

/* ... and of rollup rows (daily or monthly alike). */
static void sq_rollup_totals(struct run *r, strbuf *sb)
{
	int i;

	for (i = 0; i < r->s.nmetric; i++) {
		const struct ret_metric *m = &r->s.m[i];
		switch (m->fn) {
		case FN_SUM:
			strbuf_puts(sb, ", sum(");
			sq_col(r->conn, sb, m->as, "");
			strbuf_puts(sb, ")");
			break;
		case FN_COUNT:
			strbuf_puts(sb, ", coalesce(sum(");
			sq_col(r->conn, sb, m->as, "");
			strbuf_puts(sb, "), 0)");
			break;
		case FN_AVG:
			strbuf_puts(sb, ", sum(");
			sq_col(r->conn, sb, m->as, "_sum");
			strbuf_puts(sb, "), coalesce(sum(");
			sq_col(r->conn, sb, m->as, "_count");
			strbuf_puts(sb, "), 0)");
			break;
		case FN_MIN:
		case FN_MAX:
			strbuf_printf(sb, ", %s(", m->fn == FN_MIN ? "min" : "max");
			sq_col(r->conn, sb, m->as, "");
			strbuf_puts(sb, ")");
			break;
		case FN_LAST:
			strbuf_puts(sb, ", max(");
			sq_col(r->conn, sb, m->as, "_at");
			strbuf_puts(sb, ")");
			break;
		}
	}
}

/* ON CONFLICT ... DO UPDATE that only writes when something differs. */
static void sq_upsert_tail(struct run *r, strbuf *sb, const char *alias)
{
	strbuf sets, cols, id;
	const char *p;

	strbuf_init(&sets);
	strbuf_init(&cols);
	strbuf_printf(sb, " ON CONFLICT (%s", r->q.column);
	sq_groups(sb, &r->s, &r->q, "");
	strbuf_puts(sb, ") DO UPDATE SET ");
	sq_metric_cols(r, &cols, "");
	strbuf_puts(&cols, ", rows");
	/* cols is ", a, b, rows": each becomes a = EXCLUDED.a */
	strbuf_init(&id);
	for (p = cols.data + 2; ident_list_next(&p, &id);)
		strbuf_printf(&sets, "%s%s = EXCLUDED.%s", sets.len ? ", " : "", id.data, id.data);
	strbuf_free(&id);
	strbuf_puts(sb, sets.data ? sets.data : "rows = EXCLUDED.rows");
	strbuf_printf(sb, " WHERE (%s.rows", alias);
	{
		char prefix[8];
		snprintf(prefix, sizeof(prefix), "%s.", alias);
		sq_metric_cols(r, sb, prefix);
	}
	strbuf_puts(sb, ") IS DISTINCT FROM (EXCLUDED.rows");
	{
		strbuf ex;
		strbuf_init(&ex);
		sq_metric_cols(r, &ex, "EXCLUDED.");
		strbuf_puts(sb, ex.data ? ex.data : "");
		strbuf_free(&ex);
	}
	strbuf_puts(sb, ")");
	strbuf_free(&sets);
	strbuf_free(&cols);
}

static void sq_range(strbuf *sb, const char *alias, const char *col, const char *lo, const char *hi)
{
	strbuf_printf(sb, " %s%s >= %s AND %s%s < %s", alias, col, lo, alias, col, hi);
}

/*
 * a's group keys equal b's, NULL matching NULL; with the type's own
 * operator where pg_catalog has none for it (IS NOT DISTINCT FROM resolves
 * "=" by search_path, which is '').
 */
static void sq_keys_match(struct run *r, strbuf *sb, const char *a, const char *b)
{
	int i;

	for (i = 0; i < r->s.ngroup; i++) {
		const char *g = r->q.group[i], *eq = r->group_eq[i];
		if (strcmp(eq, "=") == 0)
			strbuf_printf(sb, " AND %s.%s IS NOT DISTINCT FROM %s.%s", a, g, b, g);
		else
			strbuf_printf(sb, " AND (%s.%s %s %s.%s OR (%s.%s IS NULL AND %s.%s IS NULL))",
				      a, g, eq, b, g, a, g, b, g);
	}
}

/*
 * An existing rollup table must be partd's, with every column the policy
 * needs (a policy whose metrics changed after the rollups were made is
 * refused here, not half-way through an upsert).
 */
static bool rollup_check(struct run *r, const struct qualified_name *t, struct svc_error *err)
{
	const char *params[2] = {t->schema, t->table};
	PGresult *res = db_exec(r->conn, sql_rollup_is_ours, 2, params, err);
	json_t *cols = NULL;
	char name[IDENT_MAX + 8];
	bool ok = false, ours;
	int i;

	if (!res)
		return false;
	ours = db_get_bool(res, 0, "ours");
	PQclear(res);
	if (!ours)
		return svc_fail(
		    err, SVC_CONFLICT,
		    "%s.%s exists and is not a rollup table partd made; rename it or drop it",
		    t->schema, t->table);
	if (!(cols = columns_load(r->conn, t, err)))
		return false;
	for (i = 0; i < r->s.ngroup; i++)
		if (!column_find(cols, r->s.group[i])) {
			svc_fail(err, SVC_CONFLICT, "%s.%s has no column %s (group_by changed?)",
				 t->schema, t->table, r->s.group[i]);
			goto done;
		}
	for (i = 0; i < r->s.nmetric; i++) {
		const struct ret_metric *m = &r->s.m[i];
		const char *suffix[2] = {m->fn == FN_AVG ? "_sum" : "", m->fn == FN_AVG ? "_count"
									: m->fn == FN_LAST ? "_at"
											   : NULL};
		int k;
		for (k = 0; k < 2; k++) {
			if (!suffix[k])
				continue;
			snprintf(name, sizeof(name), "%s%s", m->as, suffix[k]);
			if (!column_find(cols, name)) {
				svc_fail(
				    err, SVC_CONFLICT,
				    "%s.%s has no column %s: the policy's metrics changed after "
				    "the "
				    "rollups were made; add the column or rename the rollup tables",
				    t->schema, t->table, name);
				goto done;
			}
		}
	}
	ok = true;
done:
	json_decref(cols);
	return ok;
}

/* Creates <t>_daily and <t>_monthly when missing and registers them as managed tables. */
static bool ensure_rollups(struct run *r, struct svc_error *err)
{
	const struct qualified_name *tabs[2] = {&r->s.daily, &r->s.monthly};
	char *quoted[2] = {r->q.daily, r->q.monthly};
	int t, i;

	for (t = 0; t < 2; t++) {
		char idx[IDENT_MAX + 1], *idx_q = NULL, policy[256], by[32] = "retention";
		const char *params[4];
		const char *stmts[3];
		strbuf create, index, comment;
		PGresult *res;
		bool ok;

		if (relation_exists(r->conn, tabs[t], NULL, NULL, err)) {
			if (!rollup_check(r, tabs[t], err))
				return false;
			goto register_it;
		}
		if (err->code)
			return false;
		suffixed(tabs[t]->table, "key", idx, sizeof(idx));
		idx_q = db_ident(r->conn, idx);
		strbuf_init(&create);
		strbuf_init(&index);
		strbuf_init(&comment);
		strbuf_printf(&create, "CREATE TABLE IF NOT EXISTS %s.%s (%s date NOT NULL",
			      r->q.schema, quoted[t], r->q.column);
		for (i = 0; i < r->s.ngroup; i++)
			strbuf_printf(&create, ", %s %s", r->q.group[i], r->s.group_type[i]);
		sq_metric_defs(r, &create);
		strbuf_printf(&create, ", rows bigint NOT NULL) PARTITION BY RANGE (%s)",
			      r->q.column);
		strbuf_printf(&index, "CREATE UNIQUE INDEX IF NOT EXISTS %s ON %s.%s (%s",
			      idx_q ? idx_q : "\"?\"", r->q.schema, quoted[t], r->q.column);
		sq_groups(&index, &r->s, &r->q, "");
		strbuf_puts(&index, ") NULLS NOT DISTINCT");
		strbuf_printf(
		    &comment,
		    "COMMENT ON TABLE %s.%s IS 'partd: %s rollup of %s (retention); one row "
		    "per key and %s'",
		    r->q.schema, quoted[t], t ? "monthly" : "daily", r->display,
		    t ? "month" : "day");
		stmts[0] = create.data;
		stmts[1] = index.data;
		stmts[2] = comment.data;
		ok = !create.failed && !index.failed && !comment.failed && idx_q &&
		     ddl_transaction(r->ctx, "create rollup table", stmts, 3, &r->s.oid, 1, err);
		if (!ok && !err->code)
			svc_fail(err, SVC_INTERNAL, "out of memory");
		strbuf_free(&create);
		strbuf_free(&index);
		strbuf_free(&comment);
		PQfreemem(idx_q);
		if (!ok)
			return false;
		job_event(r->ctx, JOB_EVENT_INFO, NULL, "made the rollup table %s.%s",
			  tabs[t]->schema, tabs[t]->table);
	register_it:
		snprintf(policy, sizeof(policy),
			 "{\"partition_column\":\"%s\",\"interval\":\"month\",\"premake\":1}",
			 r->s.pol.column);
		params[0] = tabs[t]->schema;
		params[1] = tabs[t]->table;
		params[2] = policy;
		params[3] = by;
		if (!(res = db_exec(r->conn, sql_managed_insert_missing, 4, params, err)))
			return false;
		PQclear(res);
	}
	return true;
}

/*
 * Upserts the daily rollup of [lo, hi) from table src (a raw partition),
 * deleting rollup rows whose key no longer has raw rows, in one
 * transaction. A rerun changes nothing: *changed is 0.
 */
static bool rollup_daily(struct run *r, const char *src, long from, long to, long long *changed,
			 struct svc_error *err)
{
	char *lo = day_literal(r->conn, from), *hi = day_literal(r->conn, to);
	char *src_q = db_ident(r->conn, src);
	long long del = 0, up = 0;
	strbuf d, ins;
	bool ok = false;

	strbuf_init(&d);
	strbuf_init(&ins);
	if (!lo || !hi || !src_q) {
		svc_fail(err, SVC_INTERNAL, "out of memory");
		goto done;
	}
	if (!partitions_ensure(
		r->ctx, &r->s.daily, interval_start(INTERVAL_MONTH, from),
		interval_add(INTERVAL_MONTH, interval_start(INTERVAL_MONTH, from), 1), err))
		goto done;
	strbuf_printf(&d, "DELETE FROM %s.%s d WHERE", r->q.schema, r->q.daily);
	sq_range(&d, "d.", r->q.column, lo, hi);
	strbuf_printf(&d, " AND NOT EXISTS (SELECT 1 FROM %s.%s s WHERE", r->q.schema, src_q);
	sq_range(&d, "s.", r->q.column, lo, hi);
	strbuf_printf(&d, " AND s.%s::date = d.%s", r->q.column, r->q.column);
	sq_keys_match(r, &d, "s", "d");
	strbuf_puts(&d, ")");

	strbuf_printf(&ins, "INSERT INTO %s.%s AS d (%s", r->q.schema, r->q.daily, r->q.column);
	sq_groups(&ins, &r->s, &r->q, "");
	sq_metric_cols(r, &ins, "");
	strbuf_printf(&ins, ", rows) SELECT s.%s::date", r->q.column);
	sq_groups(&ins, &r->s, &r->q, "s.");
	sq_raw_aggs(r, &ins);
	strbuf_printf(&ins, ", count(*) FROM %s.%s s WHERE", r->q.schema, src_q);
	sq_range(&ins, "s.", r->q.column, lo, hi);
	strbuf_printf(&ins, " GROUP BY s.%s::date", r->q.column);
	sq_groups(&ins, &r->s, &r->q, "s.");
	sq_upsert_tail(r, &ins, "d");
	if (d.failed || ins.failed) {
		svc_fail(err, SVC_INTERNAL, "out of memory");
		goto done;
	}
	if (!run_exec(r, "BEGIN", NULL, err))
		goto done;
	ok = run_exec(r, d.data, &del, err) && run_exec(r, ins.data, &up, err) &&
	     run_exec(r, "COMMIT", NULL, err);
	if (!ok)
		PQclear(PQexec(r->conn, "ROLLBACK"));
	*changed = del + up;
done:
	PQfreemem(lo);
	PQfreemem(hi);
	PQfreemem(src_q);
	strbuf_free(&d);
	strbuf_free(&ins);
	return ok;
}

/*
 * Upserts the monthly rollup of the month [from, to) from the daily
 * rollup. Rows of the month that no key of the daily rows has any more go,
 * but only while the daily rows are there: once a month's daily rows were
 * deleted (after a verified monthly rollup), its monthly rows are the
 * truth and stay.
 */
static bool rollup_monthly(struct run *r, long from, long to, long long *changed,
			   struct svc_error *err)
{
	char *lo = day_literal(r->conn, from), *hi = day_literal(r->conn, to);
	long long del = 0, up = 0;
	strbuf d, ins;
	bool ok = false;

	strbuf_init(&d);
	strbuf_init(&ins);
	if (!lo || !hi) {
		svc_fail(err, SVC_INTERNAL, "out of memory");
		goto done;
	}
	if (!partitions_ensure(r->ctx, &r->s.monthly, from, to, err))
		goto done;
	strbuf_printf(&d, "DELETE FROM %s.%s m WHERE", r->q.schema, r->q.monthly);
	sq_range(&d, "m.", r->q.column, lo, hi);
	strbuf_printf(&d, " AND EXISTS (SELECT 1 FROM %s.%s s WHERE", r->q.schema, r->q.daily);
	sq_range(&d, "s.", r->q.column, lo, hi);
	strbuf_printf(&d, ") AND NOT EXISTS (SELECT 1 FROM %s.%s s WHERE", r->q.schema, r->q.daily);
	sq_range(&d, "s.", r->q.column, lo, hi);
	sq_keys_match(r, &d, "s", "m");
	strbuf_puts(&d, ")");

	strbuf_printf(&ins, "INSERT INTO %s.%s AS m (%s", r->q.schema, r->q.monthly, r->q.column);
	sq_groups(&ins, &r->s, &r->q, "");
	sq_metric_cols(r, &ins, "");
	strbuf_printf(&ins, ", rows) SELECT date_trunc('month', s.%s)::date", r->q.column);
	sq_groups(&ins, &r->s, &r->q, "s.");
	sq_daily_aggs(r, &ins);
	strbuf_printf(&ins, ", sum(s.rows) FROM %s.%s s WHERE", r->q.schema, r->q.daily);
	sq_range(&ins, "s.", r->q.column, lo, hi);
	strbuf_printf(&ins, " GROUP BY date_trunc('month', s.%s)::date", r->q.column);
	sq_groups(&ins, &r->s, &r->q, "s.");
	sq_upsert_tail(r, &ins, "m");
	if (d.failed || ins.failed) {
		svc_fail(err, SVC_INTERNAL, "out of memory");
		goto done;
	}
	if (!run_exec(r, "BEGIN", NULL, err))
		goto done;
	ok = run_exec(r, d.data, &del, err) && run_exec(r, ins.data, &up, err) &&
	     run_exec(r, "COMMIT", NULL, err);
	if (!ok)
		PQclear(PQexec(r->conn, "ROLLBACK"));
	*changed = del + up;
done:
	PQfreemem(lo);
	PQfreemem(hi);
	strbuf_free(&d);
	strbuf_free(&ins);
	return ok;
}

enum verify_what { VERIFY_DAILY, VERIFY_MONTHLY };

/*
 * Compares, for [from, to), the source's rows, groups and metric totals
 * with the rollup's: VERIFY_DAILY raw table src against the daily rollup,
 * VERIFY_MONTHLY the daily rollup against the monthly one. *equal says
 * whether they agree; what holds both sides for the report.
 */
static bool verify(struct run *r, enum verify_what what, const char *src, long from, long to,
		   bool *equal, char *what_text, size_t whatlen, struct svc_error *err)
{
	char *lo = day_literal(r->conn, from), *hi = day_literal(r->conn, to);
	char *src_q = src ? db_ident(r->conn, src) : NULL;
	PGresult *res = NULL;
	strbuf sb;
	bool ok = false;

	strbuf_init(&sb);
	if (!lo || !hi || (src && !src_q)) {
		svc_fail(err, SVC_INTERNAL, "out of memory");
		goto done;
	}
	if (what == VERIFY_DAILY) {
		strbuf_printf(&sb, "SELECT (SELECT ROW(count(*), count(DISTINCT ROW(%s::date",
			      r->q.column);
		sq_groups(&sb, &r->s, &r->q, "");
		strbuf_puts(&sb, "))");
		sq_raw_totals(r, &sb);
		strbuf_printf(&sb, ")::text FROM %s.%s WHERE", r->q.schema, src_q);
	} else {
		strbuf_puts(&sb, "SELECT (SELECT ROW(coalesce(sum(rows), 0), ");
		sq_month_groups(&sb, &r->s, &r->q);
		sq_rollup_totals(r, &sb);
		strbuf_printf(&sb, ")::text FROM %s.%s WHERE", r->q.schema, r->q.daily);
	}
	sq_range(&sb, "", r->q.column, lo, hi);
	strbuf_puts(&sb, ") AS source, (SELECT ROW(coalesce(sum(rows), 0), count(*)");
	sq_rollup_totals(r, &sb);
	strbuf_printf(&sb, ")::text FROM %s.%s WHERE", r->q.schema,
		      what == VERIFY_DAILY ? r->q.daily : r->q.monthly);
	sq_range(&sb, "", r->q.column, lo, hi);
	strbuf_puts(&sb, ") AS rollup");
	if (sb.failed) {
		svc_fail(err, SVC_INTERNAL, "out of memory");
		goto done;
	}
	if (!(res = run_job_exec(r, sb.data, err)))
		goto done;
	*equal = strcmp(PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1)) == 0;
	snprintf(what_text, whatlen, "source (rows, groups, totals) %s, rollup %s",
		 PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
	ok = true;
done:
	PQclear(res);
	PQfreemem(lo);
	PQfreemem(hi);
	PQfreemem(src_q);
	strbuf_free(&sb);
	return ok;
}

static bool delete_daily(struct run *r, long from, long to, long long *deleted,
			 struct svc_error *err)
{
	char *lo = day_literal(r->conn, from), *hi = day_literal(r->conn, to);
	strbuf sb;
	bool ok;

	strbuf_init(&sb);
	strbuf_printf(&sb, "DELETE FROM %s.%s WHERE", r->q.schema, r->q.daily);
	sq_range(&sb, "", r->q.column, lo ? lo : "NULL", hi ? hi : "NULL");
	ok = lo && hi && !sb.failed && run_exec(r, sb.data, deleted, err);
	if (!ok && !err->code)
		svc_fail(err, SVC_INTERNAL, "out of memory");
	PQfreemem(lo);
	PQfreemem(hi);
	strbuf_free(&sb);
	return ok;
}

/* ---- archive, detach, drop --------------------------------------------- */

struct archived {
	bool done;
	long long id;
	double write_ms, verify_ms;
	struct archive_stats st;
	char file[1100];
};

static void archive_paths(struct run *r, const char *part, char *file, char *manifest, size_t len)
{
	snprintf(file, len, "%s/%s.%s.csv.gz", r->s.archive_dir, r->s.qn.schema, part);
	snprintf(manifest, len, "%s/%s.%s.manifest.json", r->s.archive_dir, r->s.qn.schema, part);
}

static char *copy_out_sql(struct run *r, const char *part)
{
	char *part_q = db_ident(r->conn, part), *sql = NULL;

	/* ctid breaks ties, so that an unchanged table always streams the same bytes. */
	if (part_q &&
	    asprintf(&sql, "COPY (SELECT %s FROM %s.%s ORDER BY %s, ctid) TO STDOUT (FORMAT csv)",
		     r->cols, r->q.schema, part_q, r->q.column) < 0)
		sql = NULL;
	PQfreemem(part_q);
	return sql;
}

/*
 * Writes part to its archive file, reads it back (gunzip, rows, sha256),
 * writes the manifest and records it in partd.archives as verified.
 */
static bool archive_partition(struct run *r, const char *part, long from, long to,
			      struct archived *out, char *why, size_t whylen)
{
	char file[1100], manifest[1100], a[16], b[16], rows_t[24], bytes_t[24], raw_t[24],
	    job_t[24];
	char *sql = copy_out_sql(r, part), *text = NULL, *cols_text = NULL;
	struct svc_error err = {0};
	PGresult *res = NULL;
	json_t *m = NULL;
	bool ok = false;
	double t0;

	/* The name becomes a file name: only what partd itself would name a table. */
	if (!ident_valid(part)) {
		snprintf(why, whylen,
			 "the partition's name is not a plain identifier (letters, digits, _): not "
			 "archived under it");
		goto done;
	}
	archive_paths(r, part, file, manifest, sizeof(file));
	if (!sql) {
		snprintf(why, whylen, "out of memory");
		goto done;
	}
	t0 = monotonic_ms();
	/* Written, read back (rows, sha256) and only then put in place. */
	if (!run_copy_out(r, sql, file, &out->st, why, whylen))
		goto done;
	out->verify_ms = out->st.read_back_ms;
	out->write_ms = monotonic_ms() - t0 - out->verify_ms;
	calendar_format(from, a, sizeof(a));
	calendar_format(to, b, sizeof(b));
	m = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:O, s:I, s:I, s:I, s:s, s:s, s:s, s:s}",
		      "version", 1, "schema", r->s.qn.schema, "table", r->s.qn.table, "partition",
		      part, "partition_column", r->s.pol.column, "from", a, "to", b, "columns",
		      r->manifest_cols, "rows", (json_int_t)out->st.rows, "bytes",
		      (json_int_t)out->st.file_bytes, "raw_bytes", (json_int_t)out->st.raw_bytes,
		      "sha256", out->st.sha256, "sha256_of", "the uncompressed CSV", "format",
		      "gzip of COPY ... TO STDOUT (FORMAT csv), no header, columns as listed",
		      "file", file);
	text = json_dumps(m, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!text || !archive_write_text(manifest, text, why, whylen))
		goto done;
	cols_text = json_dumps(r->manifest_cols, JSON_COMPACT);
	snprintf(rows_t, sizeof(rows_t), "%lld", out->st.rows);
	snprintf(bytes_t, sizeof(bytes_t), "%lld", out->st.file_bytes);
	snprintf(raw_t, sizeof(raw_t), "%lld", out->st.raw_bytes);
	snprintf(job_t, sizeof(job_t), "%lld", (long long)job_id(r->ctx));
	{
		const char *params[14] = {
		    r->s.qn.schema, r->s.qn.table, part,      r->s.pol.column, a,       b,
		    file,           manifest,      cols_text, rows_t,          bytes_t, raw_t,
		    out->st.sha256, job_t};
		if (!(res = db_exec(r->conn, sql_archives_upsert, 14, params, &err))) {
			snprintf(why, whylen, "recording the archive failed: %s", err.detail);
			goto done;
		}
	}
	out->id = db_get_int64(res, 0, "id");
	out->done = true;
	snprintf(out->file, sizeof(out->file), "%s", file);
	ok = true;
done:
	PQclear(res);
	json_decref(m);
	free(text);
	free(cols_text);
	free(sql);
	svc_error_clear(&err);
	return ok;
}

static bool detach_pending(struct run *r, const char *part, struct svc_error *err)
{
	const char *params[2] = {r->s.qn.schema, part};
	PGresult *res = db_exec(r->conn, sql_detach_pending, 2, params, err);
	bool pending = res && PQntuples(res) == 1 && db_get_bool(res, 0, "pending");

	PQclear(res);
	return pending;
}

/*
 * Detaches part from the parent, recorded first in partd.retiring so that
 * a rerun after a crash finds the detached table. Without a default
 * partition: DETACH CONCURRENTLY (readers and writers of the parent go
 * on); a concurrent detach left half-way is FINALIZEd. With one: plain
 * DETACH in a short transaction under lock_timeout.
 */
static bool detach_partition(struct run *r, const char *part, long from, long to, const char **how,
			     struct svc_error *err)
{
	char a[16], b[16], job_t[24];
	const char *params[6] = {r->s.qn.schema, r->s.qn.table, part, a, b, job_t};
	char *part_q = db_ident(r->conn, part), *sql = NULL;
	struct svc_error perr = {0};
	PGresult *res;
	bool ok = false, pending;

	calendar_format(from, a, sizeof(a));
	calendar_format(to, b, sizeof(b));
	snprintf(job_t, sizeof(job_t), "%lld", (long long)job_id(r->ctx));
	if (!part_q)
		return svc_fail(err, SVC_INTERNAL, "out of memory");
	if (!(res = db_exec(r->conn, sql_retiring_insert, 6, params, err)))
		goto done;
	PQclear(res);
	pending = detach_pending(r, part, err);
	if (pending || !r->has_default) {
		if (asprintf(&sql, "ALTER TABLE %s.%s DETACH PARTITION %s.%s %s", r->q.schema,
			     r->q.parent, r->q.schema, part_q,
			     pending ? "FINALIZE" : "CONCURRENTLY") < 0) {
			sql = NULL;
			svc_fail(err, SVC_INTERNAL, "out of memory");
			goto done;
		}
		*how = pending ? "DETACH ... FINALIZE" : "DETACH CONCURRENTLY";
		ok = ddl_statement_alone(r->ctx, "detach partition", sql, &r->s.oid, 1, err);
		if (!ok && detach_pending(r, part, &perr)) {
			/* The first half committed: finish it. */
			free(sql);
			if (asprintf(&sql, "ALTER TABLE %s.%s DETACH PARTITION %s.%s FINALIZE",
				     r->q.schema, r->q.parent, r->q.schema, part_q) < 0) {
				sql = NULL;
				goto done;
			}
			*how = "DETACH CONCURRENTLY, then FINALIZE";
			ok = ddl_statement_alone(r->ctx, "finish detach", sql, &r->s.oid, 1,
						 err);
		}
	} else {
		const unsigned int oids[2] = {r->s.oid, r->default_oid};
		const char *stmts[1];
		if (asprintf(&sql, "ALTER TABLE %s.%s DETACH PARTITION %s.%s", r->q.schema,
			     r->q.parent, r->q.schema, part_q) < 0) {
			sql = NULL;
			svc_fail(err, SVC_INTERNAL, "out of memory");
			goto done;
		}
		*how = "DETACH (the table has a default partition) under lock_timeout";
		stmts[0] = sql;
		ok = ddl_transaction(r->ctx, "detach partition", stmts, 1, oids, 2, err);
	}
	tables_cache_forget(r->display);
done:
	svc_error_clear(&perr);
	free(sql);
	PQfreemem(part_q);
	return ok;
}

/*
 * The statement that forgets part in partd.retiring (caller frees; NULL
 * when out of memory): it runs in the transaction that drops or attaches
 * the partition again, so the record and the catalog never disagree.
 */
static char *retiring_forget_sql(struct run *r, const char *part)
{
	char *s_lit = PQescapeLiteral(r->conn, r->s.qn.schema, strlen(r->s.qn.schema));
	char *p_lit = PQescapeLiteral(r->conn, part, strlen(part));
	char *sql = NULL;

	if (!s_lit || !p_lit ||
	    asprintf(&sql,
		     "DELETE FROM partd.retiring WHERE schema_name = %s AND partition_name = %s",
		     s_lit, p_lit) < 0)
		sql = NULL;
	PQfreemem(s_lit);
	PQfreemem(p_lit);
	return sql;
}

/* Drops the detached table and forgets it in partd.retiring, in one transaction (one commit). */
static bool drop_table(struct run *r, const char *part, struct svc_error *err)
{
	char *part_q = db_ident(r->conn, part), *sql = NULL, *forget = retiring_forget_sql(r, part);
	const char *stmts[2];
	bool ok = false;

	if (!part_q || !forget || asprintf(&sql, "DROP TABLE %s.%s", r->q.schema, part_q) < 0) {
		sql = NULL;
		svc_fail(err, SVC_INTERNAL, "out of memory");
		goto done;
	}
	stmts[0] = sql;
	stmts[1] = forget;
	ok = ddl_transaction(r->ctx, "drop partition", stmts, 2, &r->s.oid, 1, err);
done:
	free(sql);
	free(forget);
	PQfreemem(part_q);
	return ok;
}

/* Whether partd.retiring records part as detached by retention. */
static bool detach_recorded(struct run *r, const char *part)
{
	const char *params[2] = {r->s.qn.schema, part};
	struct svc_error err = {0};
	PGresult *res = db_exec(r->conn, sql_retiring_get, 2, params, &err);
	bool found = res && PQntuples(res) == 1;

	PQclear(res);
	svc_error_clear(&err);
	return found;
}

/*
 * A cancelled job will not come back to drop what it detached: a table it
 * detached and had not dropped yet is attached again (and forgotten in
 * partd.retiring), so that the parent reads it as before.
 */
static void reattach_if_detached(struct run *r, const json_t *e)
{
	const char *part = json_string_value(json_object_get(e, "partition"));
	struct qualified_name pq = r->s.qn;
	struct svc_error err = {0};
	char *part_q = db_ident(r->conn, part), *attach = NULL, *forget = NULL, *lo = NULL, *hi = NULL;
	const unsigned int oids[2] = {r->s.oid, r->default_oid};
	const char *stmts[2];
	bool is_part = true;
	long from, to;

	snprintf(pq.table, sizeof(pq.table), "%s", part);
	if (strcmp(json_string_value(json_object_get(e, "source")), "daily_rollup") == 0 ||
	    !relation_exists(r->conn, &pq, &is_part, NULL, &err) || is_part ||
	    !detach_recorded(r, part))
		goto done;
	calendar_parse_date(json_string_value(json_object_get(e, "from")), &from);
	calendar_parse_date(json_string_value(json_object_get(e, "to")), &to);
	lo = day_literal(r->conn, from);
	hi = day_literal(r->conn, to);
	forget = retiring_forget_sql(r, part);
	if (!part_q || !lo || !hi || !forget ||
	    asprintf(&attach,
		     "ALTER TABLE %s.%s ATTACH PARTITION %s.%s FOR VALUES FROM (%s) TO (%s)",
		     r->q.schema, r->q.parent, r->q.schema, part_q, lo, hi) < 0) {
		attach = NULL;
		goto done;
	}
	stmts[0] = attach;
	stmts[1] = forget;
	/* Retried through the cancel, which is what asked for it. */
	if (ddl_cleanup_transaction(r->ctx, "attach again after cancel", stmts, 2, oids,
				    r->has_default ? 2 : 1, &err))
		job_event(r->ctx, JOB_EVENT_INFO, NULL,
			  "cancelled: %s was detached but not dropped; it is attached again", part);
	else
		job_event(
		    r->ctx, JOB_EVENT_ERROR, NULL,
		    "cancelled: attaching %s again failed (%s); it stays detached and recorded "
		    "in partd.retiring, and the next retention run finishes it",
		    part, err.detail);
	tables_cache_forget(r->display);
done:
	free(attach);
	free(forget);
	PQfreemem(part_q);
	PQfreemem(lo);
	PQfreemem(hi);
	svc_error_clear(&err);
}

/* ---- one partition of the plan ------------------------------------------ */

enum entry_result { E_OK, E_FAILED, E_STOPPED };

static bool has_step(const json_t *e, const char *step)
{
	const json_t *v;
	size_t i;

	json_array_foreach(json_object_get(e, "steps"), i,
			   v) if (strcmp(json_string_value(v), step) == 0) return true;
	return false;
}

/* Between steps: stop when asked, report the phase, and the test knob's pause. */
static bool step_begin(struct run *r, const char *part, const char *step, int idx, int total)
{
	long delay = atomic_load(&cfg_step_delay_ms);

	if (job_should_stop(r->ctx))
		return false;
	/* job_save keeps the pointer (events name the phase): it must outlive the step. */
	snprintf(r->phase, sizeof(r->phase), "%s: %s", part, step);
	if (!job_save(r->ctx, r->phase, idx, total, "partitions", NULL))
		return false;
	if (delay > 0 && !job_sleep_ms(r->ctx, delay))
		return false;
	r->step_t0 = monotonic_ms();
	return true;
}

/* Records a step as done, with how long it took (o.step_ms, added up over redos). */
static void step_done(struct run *r, json_t *o, const char *step)
{
	json_t *ms = json_object_get(o, "step_ms");
	double took = monotonic_ms() - r->step_t0;

	if (!ms) {
		ms = json_object();
		json_object_set_new(o, "step_ms", ms);
	}
	json_object_set_new(ms, step,
			    json_real(json_number_value(json_object_get(ms, step)) +
				      (double)(long long)(took * 1000) / 1000));
	json_array_append_new(json_object_get(o, "steps_done"), json_string(step));
}

static enum entry_result entry_fail(struct run *r, json_t *o, const char *step, const char *fmt,
				    ...) __attribute__((format(printf, 4, 5)));

static enum entry_result entry_fail(struct run *r, json_t *o, const char *step, const char *fmt,
				    ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->cut_short) {
		/*
		 * A cancel or a shutdown cut the step's statement short: not the
		 * partition's failure. The entry stops; a next attempt starts it
		 * over. Any other failure (a rollup that does not match, a DDL
		 * error) is recorded as one even while the job stops.
		 */
		r->cut_short = false;
		job_event(r->ctx, JOB_EVENT_INFO,
			  json_pack("{s:O, s:s}", "partition", json_object_get(o, "partition"),
				    "step", step),
			  "%s: %s cut short by the job's stop (%s)",
			  json_string_value(json_object_get(o, "partition")), step, msg);
		return E_STOPPED;
	}
	json_object_set_new(o, "ok", json_false());
	json_object_set_new(o, "failed_step", json_string(step));
	json_object_set_new(o, "error", json_string(msg));
	job_event(
	    r->ctx, JOB_EVENT_ERROR,
	    json_pack("{s:O, s:s}", "partition", json_object_get(o, "partition"), "step", step),
	    "%s: %s failed: %s; nothing of it was dropped",
	    json_string_value(json_object_get(o, "partition")), step, msg);
	return E_FAILED;
}

#define STEP(name)                                                                                 \
	do {                                                                                       \
		if (!step_begin(r, part, (name), idx, total))                                      \
			return E_STOPPED;                                                          \
	} while (0)

/* A cold month's daily rows into the monthly rollup, verified, then deleted. */
static enum entry_result cold_from_daily(struct run *r, const char *part, long from, long to,
					 json_t *o, int idx, int total)
{
	struct svc_error err = {0};
	char what[2048];
	long long n = 0;
	bool equal = false;
	enum entry_result out = E_OK;

	STEP("rollup_monthly");
	if (!rollup_monthly(r, from, to, &n, &err)) {
		out = entry_fail(r, o, "rollup_monthly", "%s", err.detail);
		goto done;
	}
	json_object_set_new(o, "monthly_rows_changed", json_integer(n));
	step_done(r, o, "rollup_monthly");
	STEP("verify_monthly");
	if (!verify(r, VERIFY_MONTHLY, NULL, from, to, &equal, what, sizeof(what), &err)) {
		out = entry_fail(r, o, "verify_monthly", "%s", err.detail);
		goto done;
	}
	if (!equal) {
		out = entry_fail(r, o, "verify_monthly", "the monthly rollup does not match: %s",
				 what);
		goto done;
	}
	step_done(r, o, "verify_monthly");
	STEP("delete_daily");
	if (!delete_daily(r, from, to, &n, &err)) {
		out = entry_fail(r, o, "delete_daily", "%s", err.detail);
		goto done;
	}
	json_object_set_new(o, "daily_rows_deleted", json_integer(n));
	step_done(r, o, "delete_daily");
done:
	svc_error_clear(&err);
	return out;
}

/* Daily rows of [from, to): whether any are left to roll into months. */
static bool daily_has_rows(struct run *r, long from, long to, bool *any, struct svc_error *err)
{
	char *lo = day_literal(r->conn, from), *hi = day_literal(r->conn, to);
	PGresult *res = NULL;
	strbuf sb;
	bool ok;

	strbuf_init(&sb);
	strbuf_printf(&sb, "SELECT EXISTS (SELECT 1 FROM %s.%s WHERE", r->q.schema, r->q.daily);
	sq_range(&sb, "", r->q.column, lo ? lo : "NULL", hi ? hi : "NULL");
	strbuf_puts(&sb, ")");
	if (lo && hi && !sb.failed)
		res = db_exec(r->conn, sb.data, 0, NULL, err);
	else
		svc_fail(err, SVC_INTERNAL, "out of memory");
	ok = res != NULL;
	*any = ok && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	PQfreemem(lo);
	PQfreemem(hi);
	strbuf_free(&sb);
	return ok;
}

/*
 * Carries out one plan entry; every step is idempotent, so a new attempt
 * starts the entry over and finds what is done already. o collects what
 * happened.
 */
static enum entry_result run_entry(struct run *r, const json_t *e, json_t *o, int idx, int total)
{
	const char *part = json_string_value(json_object_get(e, "partition"));
	const char *source = json_string_value(json_object_get(e, "source"));
	bool cold = strcmp(json_string_value(json_object_get(e, "tier")), "cold") == 0;
	bool want_archive = has_step(e, "archive"), redone = false, equal = false, attached = false;
	struct qualified_name pq = r->s.qn;
	struct svc_error err = {0};
	struct archived arc = {0};
	char what[2048], why[1024];
	long from, to, hot_cut;
	long long n = 0;
	enum entry_result out = E_OK;

	calendar_parse_date(json_string_value(json_object_get(e, "from")), &from);
	calendar_parse_date(json_string_value(json_object_get(e, "to")), &to);
	if (strcmp(json_string_value(json_object_get(e, "action")), "keep") == 0)
		return E_OK;
	/* The plan may be older than today: never anything inside the hot window now. */
	hot_cut = calendar_sub_age(calendar_today(), r->s.pol.hot_months, r->s.pol.hot_days);
	if (to > hot_cut)
		return entry_fail(r, o, "plan", "%s now reaches into the hot window; left alone",
				  part);
	if (!ensure_rollups(r, &err)) {
		out = entry_fail(r, o, "rollup_daily", "cannot make the rollup tables: %s",
				 err.detail);
		goto done;
	}
	if (strcmp(source, "daily_rollup") == 0) {
		out = cold_from_daily(r, part, from, to, o, idx, total);
		goto done;
	}
	snprintf(pq.table, sizeof(pq.table), "%s", part);
	if (!relation_exists(r->conn, &pq, &attached, NULL, &err)) {
		if (err.code) {
			out = entry_fail(r, o, "rollup_daily", "%s", err.detail);
			goto done;
		}
		/* Dropped by an earlier attempt that stopped before recording it. */
		json_object_set_new(o, "note",
				    json_string("the partition was already dropped by an "
						"earlier attempt"));
		if (cold) {
			bool any = false;
			if (!daily_has_rows(r, from, to, &any, &err)) {
				out = entry_fail(r, o, "rollup_monthly", "%s", err.detail);
				goto done;
			}
			if (any)
				out = cold_from_daily(r, part, from, to, o, idx, total);
		}
		goto done;
	}
again:
	STEP("rollup_daily");
	if (!rollup_daily(r, part, from, to, &n, &err)) {
		out = entry_fail(r, o, "rollup_daily", "%s", err.detail);
		goto done;
	}
	json_object_set_new(o, "daily_rows_changed", json_integer(n));
	step_done(r, o, "rollup_daily");
	STEP("verify_daily");
	if (!verify(r, VERIFY_DAILY, part, from, to, &equal, what, sizeof(what), &err)) {
		out = entry_fail(r, o, "verify_daily", "%s", err.detail);
		goto done;
	}
	if (!equal) {
		out = entry_fail(r, o, "verify_daily", "the daily rollup does not match: %s", what);
		goto done;
	}
	json_object_set_new(o, "verified", json_string(what));
	step_done(r, o, "verify_daily");
	if (cold) {
		STEP("rollup_monthly");
		if (!rollup_monthly(r, from, to, &n, &err)) {
			out = entry_fail(r, o, "rollup_monthly", "%s", err.detail);
			goto done;
		}
		json_object_set_new(o, "monthly_rows_changed", json_integer(n));
		step_done(r, o, "rollup_monthly");
		STEP("verify_monthly");
		if (!verify(r, VERIFY_MONTHLY, NULL, from, to, &equal, what, sizeof(what), &err)) {
			out = entry_fail(r, o, "verify_monthly", "%s", err.detail);
			goto done;
		}
		if (!equal) {
			out = entry_fail(r, o, "verify_monthly",
					 "the monthly rollup does not match: %s", what);
			goto done;
		}
		step_done(r, o, "verify_monthly");
	}
	if (want_archive) {
		STEP("archive");
		if (!archive_partition(r, part, from, to, &arc, why, sizeof(why))) {
			out = entry_fail(r, o, "archive", "%s", why);
			goto done;
		}
		step_done(r, o, "archive");
		step_done(r, o, "verify_archive");
		json_object_set_new(
		    o, "archive",
		    json_pack("{s:I, s:s, s:I, s:I, s:I, s:s, s:f, s:f}", "id", (json_int_t)arc.id,
			      "file", arc.file, "rows", (json_int_t)arc.st.rows, "bytes",
			      (json_int_t)arc.st.file_bytes, "raw_bytes",
			      (json_int_t)arc.st.raw_bytes, "sha256", arc.st.sha256, "write_ms",
			      arc.write_ms, "verify_ms", arc.verify_ms));
	}
	if (attached) {
		const char *how = "";
		STEP("detach");
		if (!detach_partition(r, part, from, to, &how, &err)) {
			out = entry_fail(r, o, "detach", "%s%s%s%s", err.detail,
					 err.sqlstate[0] ? " (SQLSTATE " : "", err.sqlstate,
					 err.sqlstate[0] ? ")" : "");
			goto done;
		}
		json_object_set_new(o, "detach", json_string(how));
		step_done(r, o, "detach");
		attached = false;
	}
	/*
	 * Detached, the table takes no more writes: check once more that the
	 * rollup and the archive hold what it holds; rows that changed before
	 * the detach are rolled up and archived again from the frozen table.
	 */
	STEP("recheck");
	{
		struct archive_stats now = {0};
		char *sql = want_archive ? copy_out_sql(r, part) : NULL;
		bool readable = true, same = verify(r, VERIFY_DAILY, part, from, to, &equal, what,
						    sizeof(what), &err);
		if (same && want_archive) {
			if (!sql)
				snprintf(why, sizeof(why), "out of memory");
			readable = sql && run_copy_out(r, sql, NULL, &now, why, sizeof(why));
			same = readable && now.rows == arc.st.rows &&
			       strcmp(now.sha256, arc.st.sha256) == 0;
		}
		free(sql);
		if (!same || !equal) {
			if (err.code) {
				out = entry_fail(r, o, "recheck", "%s", err.detail);
				goto done;
			}
			if (!readable) {
				/* Not a difference: the read failed, or the job stops. */
				out = entry_fail(
				    r, o, "recheck",
				    "reading the detached table to check its archive: %s", why);
				goto done;
			}
			if (redone) {
				out = entry_fail(
				    r, o, "recheck",
				    "the detached table still differs from its rollup or "
				    "archive; it stays detached (partd.retiring) for the "
				    "next run");
				goto done;
			}
			job_event(r->ctx, JOB_EVENT_WARNING, NULL,
				  "%s changed between its rollup and its detach; rolling up and "
				  "archiving it again",
				  part);
			redone = true;
			json_object_set_new(o, "steps_done", json_array());
			goto again;
		}
	}
	step_done(r, o, "recheck");
	STEP("drop");
	if (!drop_table(r, part, &err)) {
		out = entry_fail(r, o, "drop", "%s", err.detail);
		goto done;
	}
	step_done(r, o, "drop");
	tables_cache_forget(r->display);
	if (cold) {
		STEP("delete_daily");
		if (!delete_daily(r, from, to, &n, &err)) {
			out = entry_fail(r, o, "delete_daily", "%s", err.detail);
			goto done;
		}
		json_object_set_new(o, "daily_rows_deleted", json_integer(n));
		step_done(r, o, "delete_daily");
	}
done:
	svc_error_clear(&err);
	return out;
}

#undef STEP

/* ---- retention.run ------------------------------------------------------ */

static bool rr_validate(const json_t *params, json_t **out, char *table, size_t tablelen,
			struct svc_error *err)
{
	const json_t *t = json_object_get(params, "table");
	struct qualified_name qn;
	const char *key;
	json_t *value;
	char why[256];

	json_object_foreach((json_t *)params, key, value)
	{
		if (strcmp(key, "table") != 0)
			return svc_field(err, key,
					 "unknown field '%.64s'; retention.run takes table", key);
	}
	if (!json_is_string(t) || !ident_parse_table(json_string_value(t), &qn, why, sizeof(why)))
		return svc_field(err, "table", "table: %s",
				 json_is_string(t) ? why : "is required");
	ident_format(&qn, table, tablelen);
	*out = json_pack("{s:s}", "table", table);
	return true;
}

/* The run's shared state: spec, quoted names, columns and the default partition. */
static bool run_prepare(struct run *r, const struct qualified_name *qn, struct svc_error *err)
{
	char oidtext[16];
	const char *p1[1] = {oidtext};
	const json_t *c;
	PGresult *res;
	size_t i;
	int k;
	const char *groups[MAX_GROUP];

	if (!spec_load(r->conn, qn, &r->s, err) || !q_make(r->conn, &r->s, &r->q, err))
		return false;
	/* Only the run compares group keys (sq_keys_match): plans need no operators. */
	for (k = 0; k < r->s.ngroup; k++)
		groups[k] = r->s.group[k];
	if (!tables_column_equality(r->conn, r->s.oid, groups, (size_t)r->s.ngroup, r->group_eq,
				    err))
		return false;
	ident_format(qn, r->display, sizeof(r->display));
	snprintf(oidtext, sizeof(oidtext), "%u", r->s.oid);
	if (!(res = db_exec(r->conn, sql_table_columns, 1, p1, err)))
		return false;
	snprintf(r->cols, sizeof(r->cols), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	r->manifest_cols = json_array();
	json_array_foreach(r->s.columns, i, c) json_array_append_new(
	    r->manifest_cols, json_pack("{s:O, s:O}", "name", json_object_get(c, "name"), "type",
					json_object_get(c, "type")));
	if (!(res = db_exec(r->conn, sql_partitions_bounds, 1, p1, err)))
		return false;
	for (k = 0; k < PQntuples(res); k++) {
		struct bound b;
		if (bound_decode(db_get(res, k, "bound_node"), &b) && b.is_default) {
			r->has_default = true;
			r->default_oid = (unsigned int)strtoul(db_get(res, k, "oid"), NULL, 10);
		}
	}
	PQclear(res);
	return true;
}

static void run_free(struct run *r)
{
	q_free(&r->q);
	spec_free(&r->s);
	json_decref(r->manifest_cols);
}

/* What the tiers hold now, measured. */
static json_t *storage_now(struct run *r, struct svc_error *err)
{
	const char *p2[2] = {r->s.qn.schema, r->s.qn.table};
	PGresult *res = db_exec(r->conn, sql_archives_bytes, 2, p2, err);
	long long cold = res ? db_get_int64(res, 0, "bytes") : 0;

	PQclear(res);
	return json_pack("{s:I, s:I, s:I}", "hot", (json_int_t)tree_bytes(r->conn, &r->s.qn, err),
			 "warm",
			 (json_int_t)(tree_bytes(r->conn, &r->s.daily, err) +
				      tree_bytes(r->conn, &r->s.monthly, err)),
			 "cold", (json_int_t)cold);
}

static enum job_outcome rr_run(struct job_ctx *ctx)
{
	const json_t *cp = job_checkpoint(ctx), *e;
	struct svc_error err = {0};
	struct qualified_name qn;
	struct run r = {0};
	json_t *state = NULL, *plan, *outcomes, *result;
	enum job_outcome outcome = JOB_DONE;
	char why[512];
	int i, n, next, failed = 0, dropped = 0, rolled = 0, kept = 0;
	bool needs_archive = false;
	size_t k;

	r.ctx = ctx;
	r.stop = (struct archive_stop){job_stop_requested, ctx, job_id(ctx)};
	r.conn = job_conn(ctx);
	if (!ident_parse_table(json_string_value(json_object_get(job_params(ctx), "table")), &qn,
			       why, sizeof(why)))
		return job_fail(ctx, JOB_FAILED, NULL, "Bad table", "%s", why);
	if (!run_prepare(&r, &qn, &err)) {
		outcome = job_fail(ctx, err.code == SVC_UNAVAILABLE ? JOB_RETRY : JOB_FAILED,
				   err.sqlstate[0] ? err.sqlstate : NULL, "Cannot run retention",
				   "%s", err.detail);
		goto done;
	}
	{
		/* A table recorded as detached that no longer exists was dropped outside partd. */
		const char *p2[2] = {qn.schema, qn.table};
		PQclear(db_exec(r.conn, sql_retiring_forget, 2, p2, &err));
		svc_error_clear(&err);
	}
	/* The plan is made once, at the start, and carried out as it is (a dry run shows it). */
	if (cp && json_object_get(cp, "plan")) {
		state = json_deep_copy(cp);
		job_event(ctx, JOB_EVENT_INFO, NULL, "resuming the stored plan at entry %lld",
			  (long long)json_integer_value(json_object_get(cp, "next")));
	} else {
		if (!(plan = ret_plan(r.conn, &r.s, calendar_today(), &err))) {
			outcome =
			    job_fail(ctx, err.code == SVC_UNAVAILABLE ? JOB_RETRY : JOB_FAILED,
				     err.sqlstate[0] ? err.sqlstate : NULL, "Cannot plan retention",
				     "%s", err.detail);
			goto done;
		}
		state = json_pack("{s:o, s:i, s:[]}", "plan", plan, "next", 0, "outcomes");
	}
	plan = json_object_get(state, "plan");
	outcomes = json_object_get(state, "outcomes");
	n = (int)json_array_size(json_object_get(plan, "partitions"));
	next = (int)json_integer_value(json_object_get(state, "next"));
	if (!job_save(ctx, "planned", next, n, "partitions", json_deep_copy(state))) {
		outcome = JOB_STOPPED;
		goto done;
	}
	json_array_foreach(json_object_get(plan, "partitions"), k, e) needs_archive |=
	    has_step(e, "archive");
	/* An archive that cannot be written stops the job before anything is touched. */
	if (needs_archive && next == 0 && !archive_dir_probe(r.s.archive_dir, why, sizeof(why))) {
		job_set_result(
		    ctx, json_pack("{s:O, s:[], s:s}", "plan", plan, "outcomes", "error", why));
		outcome = job_fail(ctx, JOB_FAILED, NULL, "Archive directory unusable",
				   "%s; nothing was rolled up, archived or dropped", why);
		goto done;
	}
	for (i = next; i < n; i++) {
		const json_t *pe = json_array_get(json_object_get(plan, "partitions"), (size_t)i);
		json_t *o =
		    json_pack("{s:O, s:O, s:O, s:O, s:O, s:b, s:[]}", "partition",
			      json_object_get(pe, "partition"), "from", json_object_get(pe, "from"),
			      "to", json_object_get(pe, "to"), "tier", json_object_get(pe, "tier"),
			      "action", json_object_get(pe, "action"), "ok", 1, "steps_done");
		enum entry_result er = run_entry(&r, pe, o, i, n);
		if (er == E_STOPPED) {
			json_decref(o);
			if (job_cancel_requested(ctx))
				reattach_if_detached(&r, pe);
			outcome = JOB_STOPPED;
			goto done;
		}
		json_array_append_new(outcomes, o);
		json_object_set_new(state, "next", json_integer(i + 1));
		if (!job_save(ctx, "retiring", i + 1, n, "partitions", json_deep_copy(state))) {
			outcome = JOB_STOPPED;
			goto done;
		}
	}
	json_array_foreach(outcomes, k, e)
	{
		const char *action = json_string_value(json_object_get(e, "action"));
		if (!json_is_true(json_object_get(e, "ok")))
			failed++;
		else if (strcmp(action, "drop") == 0)
			dropped++;
		else if (strcmp(action, "rollup") == 0)
			rolled++;
		else
			kept++;
	}
	result = json_pack("{s:s, s:O, s:O, s:{s:i, s:i, s:i, s:i}}", "table", r.display, "plan",
			   plan, "outcomes", outcomes, "summary", "kept", kept, "dropped", dropped,
			   "rolled_up", rolled, "failed", failed);
	{
		json_t *now = storage_now(&r, &err);
		json_int_t before = json_integer_value(json_object_get(
		    json_object_get(json_object_get(plan, "storage"), "bytes_before"), "hot"));
		json_int_t hot = json_integer_value(json_object_get(now, "hot"));
		json_object_set_new(result, "storage_after", now);
		json_object_set_new(
		    result, "hot_reduction_percent",
		    json_real(before > 0 ? 100.0 * (double)(before - hot) / (double)before : 0.0));
	}
	job_set_result(ctx, result);
	if (failed)
		outcome = job_fail(ctx, JOB_FAILED, NULL, "Some partitions were not retired",
				   "%d of %d partitions failed and kept their rows; see "
				   "result.outcomes and the events",
				   failed, n);
done:
	json_decref(state);
	run_free(&r);
	svc_error_clear(&err);
	return outcome;
}

const struct job_kind retention_run_kind = {
    .name = "retention.run",
    .max_attempts = 5,
    .validate = rr_validate,
    .run = rr_run,
};

/* ---- the API side ------------------------------------------------------- */

static PGconn *borrow(struct pool *pool, struct svc_error *err)
{
	char why[400];
	PGconn *conn = pool_borrow(pool, why, sizeof(why));

	if (!conn)
		svc_fail(err, SVC_UNAVAILABLE, "the database is not available: %s", why);
	return conn;
}

static bool name_parse(const char *name, struct qualified_name *qn, struct svc_error *err)
{
	char why[256];

	if (!ident_parse_table(name, qn, why, sizeof(why)))
		return svc_fail(err, SVC_NOT_FOUND, "%s", why);
	return true;
}

json_t *retention_start(struct pool *pool, const char *name, const json_t *body, const char *by,
			const char *idempotency_key, bool *dry_run, bool *replayed,
			struct svc_error *err)
{
	const json_t *dry = json_object_get(body, "dry_run");
	struct job_request rq = {0};
	struct qualified_name qn;
	struct ret_spec *s;
	const char *key;
	json_t *value, *out = NULL, *params;
	char display[2 * IDENT_MAX + 2];
	PGconn *conn;

	*dry_run = false;
	if (body && !json_is_object(body))
		return svc_fail(err, SVC_BAD_REQUEST, "the body must be a JSON object"), NULL;
	json_object_foreach((json_t *)body, key, value)
	{
		if (strcmp(key, "dry_run") != 0)
			return svc_field(
				   err, key,
				   "unknown field '%.64s'; the body is {} or {\"dry_run\":true} "
				   "(the policy says what to do: PUT /v1/tables/{table})",
				   key),
			       NULL;
	}
	if (dry && !json_is_boolean(dry))
		return svc_field(err, "dry_run", "dry_run must be true or false"), NULL;
	if (!name_parse(name, &qn, err) || !(conn = borrow(pool, err)))
		return NULL;
	if (!(s = calloc(1, sizeof(*s)))) {
		pool_return(pool, conn);
		return svc_fail(err, SVC_INTERNAL, "out of memory"), NULL;
	}
	if (spec_load(conn, &qn, s, err)) {
		if (json_is_true(dry)) {
			out = ret_plan(conn, s, calendar_today(), err);
			if (out)
				json_object_set_new(out, "dry_run", json_true());
			*dry_run = out != NULL;
		}
		spec_free(s);
	}
	free(s);
	pool_return(pool, conn);
	if (out || err->code)
		return out;
	ident_format(&qn, display, sizeof(display));
	params = json_pack("{s:s}", "table", display);
	rq.kind = retention_run_kind.name;
	rq.params = params;
	rq.created_by = by;
	rq.idempotency_key = idempotency_key;
	out = jobs_enqueue(pool, &rq, replayed, err);
	json_decref(params);
	return out;
}

static json_t *ts_or_null(const PGresult *res, int row, const char *col)
{
	const char *v = db_get(res, row, col);
	char ts[64];

	if (!v)
		return json_null();
	db_timestamp_rfc3339(v, ts, sizeof(ts));
	return json_string(ts);
}

static json_t *archive_json(const PGresult *res, int i)
{
	json_t *cols = json_loads(db_get(res, i, "columns"), 0, NULL);
	const char *job = db_get(res, i, "job_id");

	return json_pack(
	    "{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:s, s:o, s:o, "
	    "s:o, s:o, s:s?}",
	    "id", (json_int_t)db_get_int64(res, i, "id"), "partition",
	    db_get(res, i, "partition_name"), "partition_column",
	    db_get(res, i, "partition_column"), "from", db_get(res, i, "range_from"), "to",
	    db_get(res, i, "range_to"), "file", db_get(res, i, "file"), "manifest",
	    db_get(res, i, "manifest_file"), "columns", cols ? cols : json_array(), "rows",
	    (json_int_t)db_get_int64(res, i, "rows"), "bytes",
	    (json_int_t)db_get_int64(res, i, "bytes"), "raw_bytes",
	    (json_int_t)db_get_int64(res, i, "raw_bytes"), "sha256", db_get(res, i, "sha256"),
	    "verified_at", ts_or_null(res, i, "verified_at"), "job_id",
	    job ? json_integer(atoll(job)) : json_null(), "created_at",
	    ts_or_null(res, i, "created_at"), "restored_at", ts_or_null(res, i, "restored_at"),
	    "restored_as", db_get(res, i, "restored_as"));
}

json_t *retention_archives(struct pool *pool, const char *name, struct svc_error *err)
{
	struct qualified_name qn;
	struct table_policy pol;
	const char *params[2];
	char display[2 * IDENT_MAX + 2];
	unsigned int oid;
	bool partitioned;
	PGresult *res = NULL;
	json_t *list, *out = NULL;
	PGconn *conn;
	int i;

	if (!name_parse(name, &qn, err) || !(conn = borrow(pool, err)))
		return NULL;
	params[0] = qn.schema;
	params[1] = qn.table;
	if (tables_load(conn, &qn, &pol, &oid, &partitioned, err) &&
	    (res = db_exec(conn, sql_archives_list, 2, params, err)) != NULL) {
		list = json_array();
		for (i = 0; i < PQntuples(res); i++)
			json_array_append_new(list, archive_json(res, i));
		ident_format(&qn, display, sizeof(display));
		out = json_pack("{s:s, s:o}", "table", display, "archives", list);
	}
	if (!out && err->code == SVC_NOT_FOUND && strstr(err->detail, "no longer exists")) {
		/* A table whose partitions were all archived may be gone; its archives are not. */
		svc_error_clear(err);
		if ((res = db_exec(conn, sql_archives_list, 2, params, err)) != NULL) {
			list = json_array();
			for (i = 0; i < PQntuples(res); i++)
				json_array_append_new(list, archive_json(res, i));
			ident_format(&qn, display, sizeof(display));
			out = json_pack("{s:s, s:o}", "table", display, "archives", list);
		}
	}
	PQclear(res);
	pool_return(pool, conn);
	return out;
}

/* ---- retention.restore -------------------------------------------------- */

static bool rs_validate(const json_t *params, json_t **out, char *table, size_t tablelen,
			struct svc_error *err)
{
	const json_t *t = json_object_get(params, "table"),
		     *id = json_object_get(params, "archive_id");
	struct qualified_name qn;
	const char *key;
	json_t *value;
	char why[256];

	json_object_foreach((json_t *)params, key, value)
	{
		if (strcmp(key, "table") != 0 && strcmp(key, "archive_id") != 0)
			return svc_field(err, key, "unknown field '%.64s'", key);
	}
	if (!json_is_string(t) || !ident_parse_table(json_string_value(t), &qn, why, sizeof(why)))
		return svc_field(err, "table", "table: %s",
				 json_is_string(t) ? why : "is required");
	if (!json_is_integer(id) || json_integer_value(id) < 1)
		return svc_field(err, "archive_id", "archive_id must be a positive whole number");
	ident_format(&qn, table, tablelen);
	*out = json_pack("{s:s, s:O}", "table", table, "archive_id", id);
	return true;
}

/* Whether any partition of oid overlaps [from, to). */
static bool range_taken(PGconn *conn, unsigned int oid, long from, long to, bool *taken,
			struct svc_error *err)
{
	json_t *parts = partitions_existing(conn, oid, err), *p;
	size_t i;

	*taken = false;
	if (!parts)
		return false;
	json_array_foreach(parts, i, p) *taken |=
		json_integer_value(json_object_get(p, "from")) < to &&
		json_integer_value(json_object_get(p, "to")) > from;
	json_decref(parts);
	return true;
}

/* A table a restore may go to. */
struct rs_target {
	struct qualified_name qn;
	bool exists, is_part; /* is_part: a partition of the archive's parent */
	bool again;           /* the archive records its restore here: used again */
};

/*
 * Looks at table name beside parent (oid): whether it exists, and whether
 * it is this archive's (a sql_archives_get row) earlier restore, which is
 * standalone or a partition of that parent; false on a database error.
 */
static bool rs_target(PGconn *conn, const PGresult *arc, const struct qualified_name *parent,
		      unsigned int oid, const char *name, struct rs_target *t,
		      struct svc_error *err)
{
	const char *as = db_get(arc, 0, "restored_as");
	char display[2 * IDENT_MAX + 2];
	unsigned int of = 0;
	bool part = false;

	t->qn = *parent;
	snprintf(t->qn.table, sizeof(t->qn.table), "%s", name);
	t->exists = relation_exists(conn, &t->qn, &part, &of, err);
	if (err->code)
		return false;
	ident_format(&t->qn, display, sizeof(display));
	t->is_part = part && of == oid;
	t->again = t->exists && as && strcmp(as, display) == 0 && (!part || of == oid);
	return true;
}

static enum job_outcome rs_run(struct job_ctx *ctx)
{
	const json_t *params = job_params(ctx);
	PGconn *conn = job_conn(ctx);
	const struct archive_stop stop = {job_stop_requested, ctx, job_id(ctx)};
	struct svc_error err = {0};
	struct qualified_name qn;
	struct table_policy pol;
	struct archive_stats in = {0}, back = {0};
	char why[1024] = "", idtext[24], *s_q = NULL, *p_q = NULL, *t_q = NULL, *c_q = NULL;
	char *create = NULL, *copy_in = NULL, *copy_out = NULL, *lo = NULL, *hi = NULL;
	char *check = NULL, *attach = NULL, display[2 * IDENT_MAX + 2];
	const char *p3[3];
	strbuf cols;
	PGresult *res = NULL, *arc = NULL;
	json_t *colsj = NULL, *c;
	enum job_outcome outcome = JOB_DONE;
	unsigned int oid;
	bool partitioned, taken = false, attached = false, in_tx = false;
	bool already = false;
	struct rs_target t;
	char name[IDENT_MAX + 1];
	long from, to;
	size_t k;

	strbuf_init(&cols);
	if (!ident_parse_table(json_string_value(json_object_get(params, "table")), &qn, why,
			       sizeof(why)))
		return job_fail(ctx, JOB_FAILED, NULL, "Bad table", "%s", why);
	snprintf(idtext, sizeof(idtext), "%lld",
		 (long long)json_integer_value(json_object_get(params, "archive_id")));
	p3[0] = idtext;
	p3[1] = qn.schema;
	p3[2] = qn.table;
	if (!tables_load(conn, &qn, &pol, &oid, &partitioned, &err) ||
	    !(arc = db_exec(conn, sql_archives_get, 3, p3, &err)))
		goto failed;
	if (PQntuples(arc) != 1) {
		outcome = job_fail(ctx, JOB_FAILED, NULL, "No such archive",
				   "archive %s is not one of %s.%s's", idtext, qn.schema, qn.table);
		goto done;
	}
	calendar_parse_date(db_get(arc, 0, "range_from"), &from);
	calendar_parse_date(db_get(arc, 0, "range_to"), &to);
	if (!range_taken(conn, oid, from, to, &taken, &err))
		goto failed;
	/*
	 * Under the partition's own name, unless that is taken or the range
	 * is, or this archive's earlier restore (one stopped before its
	 * ATTACH, say) is under <partition>_restored: then under that name.
	 */
	snprintf(name, sizeof(name), "%s", db_get(arc, 0, "partition_name"));
	if (!rs_target(conn, arc, &qn, oid, name, &t, &err))
		goto failed;
	if (!t.again) {
		struct rs_target alt;
		suffixed(db_get(arc, 0, "partition_name"), "restored", name, sizeof(name));
		if (!rs_target(conn, arc, &qn, oid, name, &alt, &err))
			goto failed;
		if (alt.again || t.exists || taken)
			t = alt;
	}
	ident_format(&t.qn, display, sizeof(display));
	s_q = db_ident(conn, qn.schema);
	p_q = db_ident(conn, qn.table);
	t_q = db_ident(conn, t.qn.table);
	c_q = db_ident(conn, pol.column);
	lo = day_literal(conn, from);
	hi = day_literal(conn, to);
	colsj = json_loads(db_get(arc, 0, "columns"), 0, NULL);
	json_array_foreach(colsj, k, c)
	{
		char *q = db_ident(conn, json_string_value(json_object_get(c, "name")));
		strbuf_printf(&cols, "%s%s", k ? ", " : "", q ? q : "\"?\"");
		PQfreemem(q);
	}
	if (!s_q || !p_q || !t_q || !c_q || !lo || !hi || !colsj || cols.failed ||
	    asprintf(&create,
		     "CREATE TABLE %s.%s (LIKE %s.%s INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
		     "INCLUDING STORAGE INCLUDING COMMENTS INCLUDING GENERATED)",
		     s_q, t_q, s_q, p_q) < 0 ||
	    asprintf(&copy_in, "COPY %s.%s (%s) FROM STDIN (FORMAT csv)", s_q, t_q, cols.data) <
		0 ||
	    asprintf(&copy_out,
		     "COPY (SELECT %s FROM %s.%s ORDER BY %s, ctid) TO STDOUT (FORMAT csv)",
		     cols.data, s_q, t_q, c_q) < 0 ||
	    asprintf(&check,
		     "ALTER TABLE %s.%s DROP CONSTRAINT IF EXISTS partd_bounds, ADD CONSTRAINT "
		     "partd_bounds CHECK (%s IS NOT NULL AND %s >= %s AND %s < %s)",
		     s_q, t_q, c_q, c_q, lo, c_q, hi) < 0 ||
	    asprintf(&attach,
		     "ALTER TABLE %s.%s ATTACH PARTITION %s.%s FOR VALUES FROM (%s) TO (%s)", s_q,
		     p_q, s_q, t_q, lo, hi) < 0) {
		outcome = job_fail(ctx, JOB_FAILED, NULL, "Cannot restore", "out of memory");
		goto done;
	}
	if (t.exists && !t.again) {
		outcome = job_fail(ctx, JOB_FAILED, NULL, "Cannot restore",
				   "%s already exists and is not this archive's restore; rename or "
				   "drop it first",
				   display);
		goto done;
	}
	if (!t.exists) {
		/* Made, filled and checked in one transaction: a crash leaves nothing half-done. */
		char set[64];
		snprintf(set, sizeof(set), "SET LOCAL lock_timeout = %ld",
			 job_lock_timeout_ms(ctx));
		job_save(ctx, "copying", 0, db_get_int64(arc, 0, "rows"), "rows", NULL);
		PQclear(PQexec(conn, "BEGIN"));
		in_tx = true;
		if (!(res = db_exec(conn, set, 0, NULL, &err)))
			goto failed;
		PQclear(res);
		/* Through job_exec: a cancel cuts short a wait for the parent's lock. */
		if (!(res = job_exec(ctx, create, 0, NULL, &err))) {
			if (!job_exec_stopped(ctx, &err))
				goto failed;
			snprintf(why, sizeof(why), "making %s: %s", display, err.detail);
			goto stopped;
		}
		PQclear(res);
		res = NULL;
		if (!archive_copy_in(conn, copy_in, db_get(arc, 0, "file"), &stop, &in, why,
				     sizeof(why)) ||
		    !archive_copy_out(conn, copy_out, NULL, 1, &stop, &back, why, sizeof(why))) {
			if (in.stopped || back.stopped)
				goto stopped;
			/* Nothing of it is kept; a lost session is retried (worker.c). */
			outcome = job_fail(ctx, JOB_FAILED, NULL, "Restore failed", "%s", why);
			goto done;
		}
		if (in.rows != db_get_int64(arc, 0, "rows") ||
		    strcmp(in.sha256, db_get(arc, 0, "sha256")) != 0 || back.rows != in.rows ||
		    strcmp(back.sha256, in.sha256) != 0) {
			outcome = job_fail(
			    ctx, JOB_FAILED, NULL, "Restore does not verify",
			    "archive %s: %lld rows sha256 %s recorded; file gave %lld rows "
			    "sha256 %s; the restored table reads %lld rows sha256 %s",
			    idtext, (long long)db_get_int64(arc, 0, "rows"),
			    db_get(arc, 0, "sha256"), in.rows, in.sha256, back.rows, back.sha256);
			goto done;
		}
		{
			const char *p2[2] = {idtext, display};
			if (!(res = db_exec(conn, sql_archives_restored, 2, p2, &err)))
				goto failed;
			PQclear(res);
			res = NULL;
		}
		if (!(res = db_exec(conn, "COMMIT", 0, NULL, &err)))
			goto failed;
		PQclear(res);
		res = NULL;
		in_tx = false;
		job_event(ctx, JOB_EVENT_INFO, NULL,
			  "restored %lld rows into %s (sha256 %s verified)", in.rows, display,
			  in.sha256);
	} else if (t.is_part) {
		/* Restored and attached before: it may take writes now, so it is not read again. */
		in.rows = db_get_int64(arc, 0, "rows");
		snprintf(in.sha256, sizeof(in.sha256), "%s", db_get(arc, 0, "sha256"));
		attached = already = true;
		job_event(ctx, JOB_EVENT_INFO, NULL,
			  "archive %s was restored into %s, which is attached: nothing to do",
			  idtext, display);
		snprintf(why, sizeof(why),
			 "restored before and attached as the partition for [%s, %s); not read "
			 "again",
			 db_get(arc, 0, "range_from"), db_get(arc, 0, "range_to"));
	} else {
		/* Restored before and left standalone: used again only if it still reads the same.
		 */
		if (!archive_copy_out(conn, copy_out, NULL, 1, &stop, &back, why, sizeof(why))) {
			if (!back.stopped) {
				outcome =
				    job_fail(ctx, JOB_FAILED, NULL, "Restore failed", "%s", why);
				goto done;
			}
			job_event(
			    ctx, JOB_EVENT_INFO, NULL,
			    "restore stopped while reading %s back (%s); it is left as it was",
			    display, why);
			outcome = JOB_STOPPED;
			goto done;
		}
		if (back.rows != db_get_int64(arc, 0, "rows") ||
		    strcmp(back.sha256, db_get(arc, 0, "sha256")) != 0) {
			outcome = job_fail(
			    ctx, JOB_FAILED, NULL, "Cannot restore",
			    "%s, a standalone table archive %s was restored into, no longer reads "
			    "as the archive (%lld rows sha256 %s; the archive %lld rows sha256 "
			    "%s); drop or rename it, then restore again",
			    display, idtext, back.rows, back.sha256,
			    (long long)db_get_int64(arc, 0, "rows"), db_get(arc, 0, "sha256"));
			goto done;
		}
		in = back;
	}
	if (!taken && !attached) {
		const unsigned int oids[1] = {oid};
		const char *stmts[2] = {check, attach};
		struct svc_error aerr = {0};
		attached =
		    ddl_transaction(ctx, "attach restored partition", stmts, 2, oids, 1, &aerr);
		if (!attached && job_should_stop(ctx) && ddl_retryable(aerr.sqlstate) &&
		    PQstatus(conn) == CONNECTION_OK) {
			/* The rows are in, committed and checked: only the ATTACH is left. */
			job_event(ctx, JOB_EVENT_INFO, NULL,
				  "restore stopped before its ATTACH (%s); the rows are in the "
				  "standalone table %s, checked, and a rerun of the restore of "
				  "archive %s attaches it",
				  aerr.detail, display, idtext);
			svc_error_clear(&aerr);
			outcome = JOB_STOPPED;
			goto done;
		}
		if (!attached && aerr.code == SVC_UNAVAILABLE) {
			/* The connection failed: a retry finds the table and attaches it. */
			outcome = job_fail(ctx, JOB_RETRY, NULL, "Restore failed",
					   "ATTACH of %s: %s; the rows are in it, checked", display,
					   aerr.detail);
			svc_error_clear(&aerr);
			goto done;
		}
		if (!attached)
			snprintf(why, sizeof(why),
				 "ATTACH failed (%s); %s stays a standalone table", aerr.detail,
				 display);
		svc_error_clear(&aerr);
		ident_format(&qn, display, sizeof(display));
		tables_cache_forget(display);
		ident_format(&t.qn, display, sizeof(display));
	} else if (taken) {
		snprintf(why, sizeof(why),
			 "the range [%s, %s) has a partition again; the rows are in the standalone "
			 "table %s",
			 db_get(arc, 0, "range_from"), db_get(arc, 0, "range_to"), display);
	}
	if (attached && !already)
		snprintf(why, sizeof(why), "attached as the partition for [%s, %s)",
			 db_get(arc, 0, "range_from"), db_get(arc, 0, "range_to"));
	job_set_result(ctx, json_pack("{s:s, s:I, s:s, s:I, s:s, s:b, s:s}", "table",
				      json_string_value(json_object_get(params, "table")),
				      "archive_id", (json_int_t)db_get_int64(arc, 0, "id"),
				      "restored_as", display, "rows", (json_int_t)in.rows, "sha256",
				      in.sha256, "attached", attached, "why", why));
	goto done;
stopped:
	/* Rolled back first: no table is left half-filled, and the event is not lost with it. */
	if (in_tx)
		PQclear(PQexec(conn, "ROLLBACK"));
	in_tx = false;
	job_event(ctx, JOB_EVENT_INFO, NULL, "restore stopped (%s); nothing of it was kept", why);
	outcome = JOB_STOPPED;
	goto done;
failed:
	outcome =
	    job_fail(ctx, err.code == SVC_UNAVAILABLE ? JOB_RETRY : JOB_FAILED,
		     err.sqlstate[0] ? err.sqlstate : NULL, "Restore failed", "%s", err.detail);
done:
	if (in_tx)
		PQclear(PQexec(conn, "ROLLBACK"));
	PQclear(res);
	PQclear(arc);
	json_decref(colsj);
	strbuf_free(&cols);
	PQfreemem(s_q);
	PQfreemem(p_q);
	PQfreemem(t_q);
	PQfreemem(c_q);
	PQfreemem(lo);
	PQfreemem(hi);
	free(create);
	free(copy_in);
	free(copy_out);
	free(check);
	free(attach);
	svc_error_clear(&err);
	return outcome;
}

const struct job_kind retention_restore_kind = {
    .name = "retention.restore",
    .max_attempts = 3,
    .validate = rs_validate,
    .run = rs_run,
};

json_t *retention_restore(struct pool *pool, const char *name, const char *id, const json_t *body,
			  const char *by, const char *idempotency_key, bool *replayed,
			  struct svc_error *err)
{
	struct job_request rq = {0};
	struct qualified_name qn;
	char display[2 * IDENT_MAX + 2];
	const char *p3[3];
	PGresult *res;
	PGconn *conn;
	json_t *params, *job;
	int64_t aid;
	bool found;

	if (!name_parse(name, &qn, err))
		return NULL;
	if (!jobs_parse_id(id, &aid))
		return svc_fail(err, SVC_NOT_FOUND, "archive ids are positive whole numbers"), NULL;
	if (body && json_object_size(body))
		return svc_field(err, json_object_iter_key(json_object_iter((json_t *)body)),
				 "the body of a restore is {}: the archive says everything"),
		       NULL;
	if (!(conn = borrow(pool, err)))
		return NULL;
	p3[0] = id;
	p3[1] = qn.schema;
	p3[2] = qn.table;
	res = db_exec(conn, sql_archives_get, 3, p3, err);
	found = res && PQntuples(res) == 1;
	PQclear(res);
	pool_return(pool, conn);
	if (!res)
		return NULL;
	if (!found)
		return svc_fail(err, SVC_NOT_FOUND, "%s.%s has no archive %s", qn.schema, qn.table,
				id),
		       NULL;
	ident_format(&qn, display, sizeof(display));
	params = json_pack("{s:s, s:I}", "table", display, "archive_id", (json_int_t)aid);
	rq.kind = retention_restore_kind.name;
	rq.params = params;
	rq.created_by = by;
	rq.idempotency_key = idempotency_key;
	job = jobs_enqueue(pool, &rq, replayed, err);
	json_decref(params);
	return job;
}
