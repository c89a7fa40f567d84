#include "migration.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bound.h"
#include "calendar.h"
#include "copy.h"
#include "db.h"
#include "ddl.h"
#include "embed.h"
#include "ident.h"
#include "jobs.h"
#include "strbuf.h"
#include "synctrig.h"
#include "tables.h"

/* A key has at most PostgreSQL's INDEX_MAX_KEYS columns. */
#define MIG_KEY_MAX 32
/* batch_rows when the request gives none. */
#define MIG_BATCH_ROWS_DEFAULT 5000

/* ---- plan ------------------------------------------------------------ */

struct mig {
	struct qualified_name qn;
	struct table_policy pol;
	unsigned int oid;
	char new_name[IDENT_MAX + 1], old_name[IDENT_MAX + 1], view_name[IDENT_MAX + 1];
	char trigger[IDENT_MAX + 1], function[IDENT_MAX + 1];
	char *s_q, *t_q, *new_q, *old_q, *view_q, *trig_q, *func_q, *col_q; /* escaped */
	char *source_qq, *new_qq; /* "schema"."table" of the source and of <t>_new */
	strbuf cols;     /* every column, quoted, for checksums */
	strbuf ins_cols; /* insertable columns */
	strbuf key;      /* the source's primary key columns, quoted */
	strbuf new_key;  /* the new table's primary key: key + partition column */
	strbuf with;     /* each partition's storage parameters during the copy */
	strbuf av_restore; /* ALTER TABLE actions giving a partition the source's autovacuum */
	json_t *key_names, *key_types, *col_types;
	json_t *blockers, *changes, *ddl, *partitions;
	/*
	 * Unique constraints and indexes other than the primary key, built after
	 * the copy: [{"constraint": bool, "unique": bool, "spec": "(a, b)" or
	 * " USING btree (a, b)"}, ...].
	 */
	json_t *deferred;
	long long rows_estimate;
	long range_lo, range_hi;  /* first and last day of the data (today when empty) */
	const char *range_source; /* "scan", "statistics" or "none" */
};

static void mig_free(struct mig *m)
{
	PQfreemem(m->s_q);
	PQfreemem(m->t_q);
	PQfreemem(m->new_q);
	PQfreemem(m->old_q);
	PQfreemem(m->view_q);
	PQfreemem(m->trig_q);
	PQfreemem(m->func_q);
	PQfreemem(m->col_q);
	free(m->source_qq);
	free(m->new_qq);
	strbuf_free(&m->cols);
	strbuf_free(&m->ins_cols);
	strbuf_free(&m->key);
	strbuf_free(&m->new_key);
	strbuf_free(&m->with);
	strbuf_free(&m->av_restore);
	json_decref(m->key_names);
	json_decref(m->key_types);
	json_decref(m->col_types);
	json_decref(m->blockers);
	json_decref(m->changes);
	json_decref(m->ddl);
	json_decref(m->deferred);
	json_decref(m->partitions);
	memset(m, 0, sizeof(*m));
}

static void suffixed(char *out, const char *table, const char *suffix)
{
	snprintf(out, IDENT_MAX + 1, "%.*s%s", IDENT_MAX - (int)strlen(suffix), table, suffix);
}

/* The quoted forms of m's names: the table's, its column's, and those the migration makes. */
static bool mig_quote_names(PGconn *conn, struct mig *m)
{
	m->s_q = db_ident(conn, m->qn.schema);
	m->t_q = db_ident(conn, m->qn.table);
	m->new_q = db_ident(conn, m->new_name);
	m->old_q = db_ident(conn, m->old_name);
	m->view_q = db_ident(conn, m->view_name);
	m->trig_q = db_ident(conn, m->trigger);
	m->func_q = db_ident(conn, m->function);
	m->col_q = db_ident(conn, m->pol.column);
	return m->s_q && m->t_q && m->new_q && m->old_q && m->view_q && m->trig_q && m->func_q &&
	       m->col_q;
}

/*
 * A JSON array of names (the columns the catalog queries aggregate with
 * json_agg: any name, commas and quotes included, reads back whole).
 */
static json_t *name_array(const char *text)
{
	json_t *a = text ? json_loads(text, 0, NULL) : NULL;

	if (json_is_array(a))
		return a;
	json_decref(a);
	return json_array();
}

/* The names of a as "a, b" into out (for messages). */
static const char *name_list(const json_t *a, char *out, size_t outlen)
{
	size_t i, n = 0;
	json_t *v;

	out[0] = '\0';
	json_array_foreach(a, i, v) {
		int w = snprintf(out + n, outlen - n, "%s%s", i ? ", " : "", json_string_value(v));
		if (w < 0 || (size_t)w >= outlen - n)
			break;
		n += (size_t)w;
	}
	return out;
}

static bool json_has_string(const json_t *a, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v) if (strcmp(json_string_value(v), s) == 0) return true;
	return false;
}

/* Quoted, comma-separated names of a, plus extra when not in a. */
static void quoted_list(PGconn *conn, const json_t *a, const char *extra, strbuf *out)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v) {
		char *q = db_ident(conn, json_string_value(v));
		strbuf_printf(out, "%s%s", out->len ? ", " : "", q ? q : "");
		PQfreemem(q);
	}
	if (extra && !json_has_string(a, extra)) {
		char *q = db_ident(conn, extra);
		strbuf_printf(out, "%s%s", out->len ? ", " : "", q ? q : "");
		PQfreemem(q);
	}
}

static void blocker(struct mig *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void blocker(struct mig *m, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_array_append_new(m->blockers, json_string(msg));
}

static void add_ddl(struct mig *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_ddl(struct mig *m, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) >= 0) {
		json_array_append_new(m->ddl, json_string(s));
		free(s);
	}
	va_end(ap);
}

/* Whether schema.name exists, its oid into *oid (when not NULL); err only for a failed query. */
static bool rel_lookup(PGconn *conn, const char *schema, const char *name, unsigned int *oid,
		       struct svc_error *err)
{
	const char *p[2] = {schema, name};
	PGresult *res = db_exec(conn, sql_relation_state, 2, p, err);
	bool found = res && PQntuples(res) > 0;

	if (found && oid)
		*oid = (unsigned int)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return found;
}

/* Does a relation of this name exist in the table's schema? */
static bool rel_exists(PGconn *conn, const char *schema, const char *name, struct svc_error *err)
{
	return rel_lookup(conn, schema, name, NULL, err);
}

/*
 * Adds a unique constraint or an index to build after the copy; spec (stolen)
 * is its column list or USING clause. Out of memory is a blocker, so the
 * plan never silently loses one.
 */
static void deferred_add(struct mig *m, bool constraint, bool unique, json_t *spec)
{
	json_t *d = spec ? json_pack("{s:b, s:b, s:o}", "constraint", constraint, "unique", unique,
				     "spec", spec)
			 : NULL;

	if (!d || json_array_append_new(m->deferred, d) != 0)
		blocker(m, "out of memory while planning the indexes to build after the copy");
}

/* Connections the copy and the index builds use: the request's "parallel". */
static int mig_parallel(const json_t *params)
{
	const json_t *par = json_object_get(params, "parallel");

	return par ? (int)json_integer_value(par) : MIGRATION_PARALLEL_DEFAULT;
}

/* The oid of schema.name; false with SVC_NOT_FOUND when there is none. */
static bool rel_oid(PGconn *conn, const char *schema, const char *name, unsigned int *oid,
		    struct svc_error *err)
{
	bool found = rel_lookup(conn, schema, name, oid, err);

	if (!found && !err->code)
		svc_fail(err, SVC_NOT_FOUND, "%s.%s does not exist", schema, name);
	return found;
}

/*
 * DESIGN: the first and last day of the data decide the partitions. The
 * job reads them exactly (exact: min/max over the table, a full scan when
 * no index leads with the column). A request (a dry run, the POST) must
 * not wait for that on a 100M-row table: it reads them exactly when that
 * takes at most PARTD_PLAN_SCAN_BUDGET_MS (default 1 s), and otherwise
 * from the column's statistics (pg_stats), saying so (range_source); the
 * job's own plan is the one carried out.
 */
static _Atomic long plan_scan_budget_ms = 1000;

void migration_set_plan_scan_budget_ms(long ms)
{
	atomic_store(&plan_scan_budget_ms, ms);
}

/* How mig_plan reads the data's first and last day. */
enum plan_range {
	RANGE_SCAN,   /* exactly, however long it takes, at the job's rate: the job's prepare */
	RANGE_BUDGET, /* exactly within the budget, else from pg_stats: a request */
	RANGE_SKIP,   /* not at all: a resumed attempt past prepare, which makes no partitions */
};

/* copy_range_spec.knobs in prepare: the request's (a PATCH needs the row, claimed after). */
static bool mig_request_knobs(void *arg, long *batch_rows, long *max_rows_per_s,
			      struct svc_error *err)
{
	const json_t *params = job_params(arg);
	const json_t *b = json_object_get(params, "batch_rows");
	const json_t *r = json_object_get(params, "max_rows_per_s");

	(void)err;
	*batch_rows = b ? (long)json_integer_value(b) : MIG_BATCH_ROWS_DEFAULT;
	*max_rows_per_s = r ? (long)json_integer_value(r) : 0;
	return true;
}

/*
 * The first and last finite day of the column, one statement: with a btree
 * index leading with the column, still an entry read at each end. Days of
 * -infinity and infinity are left out, as copy_range does (their rows go to
 * the default partition), in the request's plan and the job's alike.
 */
static char *mig_range_sql(const struct mig *m)
{
	char *sql = NULL;

	if (asprintf(&sql,
		     "SELECT min(%s)::date::text, max(%s)::date::text FROM %s "
		     "WHERE %s > '-infinity' AND %s < 'infinity'",
		     m->col_q, m->col_q, m->source_qq, m->col_q, m->col_q) < 0)
		return NULL;
	return sql;
}

/*
 * The job's exact read of the range: one min()/max() where a btree index
 * leads with the column (it reads an entry at each end), else a scan in
 * block ranges at the request's rate (copy_range). One statement over a
 * table with no such index reads all of it at full speed on one core,
 * while the application writes: the writer's worst phase in the bench.
 */
static bool mig_range_scan(struct job_ctx *ctx, struct mig *m, struct svc_error *err)
{
	PGconn *conn = job_conn(ctx);
	char oid[16];
	const char *p[2] = {oid, m->pol.column};
	struct copy_range_spec spec = {.table = m->source_qq,
				       .column = m->col_q,
				       .table_oid = m->oid,
				       .rows_estimate = m->rows_estimate,
				       .phase = "prepare",
				       .knobs = mig_request_knobs,
				       .arg = ctx};
	PGresult *res;
	enum copy_outcome co;
	bool indexed, found;
	long lo, hi;
	double t0 = monotonic_ms();

	snprintf(oid, sizeof(oid), "%u", m->oid);
	res = db_exec(conn, sql_migration_range_index, 2, p, err);
	if (!res)
		return false;
	indexed = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (indexed) {
		char *sql = mig_range_sql(m);
		if (!sql)
			return svc_fail(err, SVC_INTERNAL, "out of memory");
		res = db_exec(conn, sql, 0, NULL, err);
		free(sql);
		if (!res)
			return false;
		found = !PQgetisnull(res, 0, 0) && calendar_parse_date(PQgetvalue(res, 0, 0), &lo) &&
			calendar_parse_date(PQgetvalue(res, 0, 1), &hi);
		PQclear(res);
	} else {
		co = copy_range(ctx, &spec, &lo, &hi, &found, err);
		if (co != COPY_DONE)
			return co == COPY_STOPPED ? svc_fail(err, SVC_UNAVAILABLE,
							     "partd is stopping this job")
						  : false;
	}
	if (found) {
		m->range_lo = lo;
		m->range_hi = hi;
		m->range_source = "scan";
	}
	{
		char a[16] = "none", b[16] = "";
		double took = monotonic_ms() - t0;
		if (found) {
			calendar_format(lo, a, sizeof(a));
			calendar_format(hi, b, sizeof(b));
		}
		job_event(ctx, JOB_EVENT_INFO,
			  json_pack("{s:s, s:f}", "read", indexed ? "index" : "scan", "duration_ms", took),
			  "first and last day read: %s%s%s (%s, %.0f ms)", a, found ? " .. " : "", b,
			  indexed ? "from an index that leads with the column"
				  : "a scan in block ranges at the request's rate",
			  took);
	}
	return true;
}

static bool mig_range(struct job_ctx *ctx, PGconn *conn, struct mig *m, enum plan_range how,
		      struct svc_error *err)
{
	const char *params[3] = {m->qn.schema, m->qn.table, m->pol.column};
	char *sql = NULL;
	PGresult *res = NULL;
	bool budget = how == RANGE_BUDGET, ok = true;
	long budget_ms = atomic_load(&plan_scan_budget_ms);
	double t0;

	m->range_lo = m->range_hi = calendar_today();
	m->range_source = "none";
	if (how == RANGE_SKIP)
		return true;
	if (how == RANGE_SCAN && ctx)
		return mig_range_scan(ctx, m, err);
	if (!(sql = mig_range_sql(m)))
		return svc_fail(err, SVC_INTERNAL, "out of memory");
	if (budget) {
		char set[64];
		snprintf(set, sizeof(set), "SET LOCAL statement_timeout = %ld", budget_ms);
		res = db_exec(conn, "BEGIN", 0, NULL, err);
		ok = res != NULL;
		PQclear(res);
		if (ok) {
			res = db_exec(conn, set, 0, NULL, err);
			ok = res != NULL;
			PQclear(res);
		}
	}
	t0 = monotonic_ms();
	res = ok ? db_exec(conn, sql, 0, NULL, err) : NULL;
	free(sql);
	if (budget)
		PQclear(PQexec(conn, res ? "COMMIT" : "ROLLBACK"));
	/*
	 * A statement timeout and a cancel share SQLSTATE 57014, and the message
	 * that tells them apart is translated (lc_messages): a statement that
	 * ran for the whole budget was over it.
	 */
	if (!res && budget &&
	    ((!strcmp(err->sqlstate, "57014") && monotonic_ms() - t0 >= (double)budget_ms) ||
	     !strcmp(err->sqlstate, "55P03"))) {
		/* Over the budget (not a cancel), or the table is locked: its statistics, then. */
		svc_error_clear(err);
		res = db_exec(conn, sql_migration_range_stats, 3, params, err);
		if (res && !PQgetisnull(res, 0, 0))
			m->range_source = "statistics";
	} else if (res && !PQgetisnull(res, 0, 0)) {
		m->range_source = "scan";
	}
	if (!res)
		return false;
	if (!PQgetisnull(res, 0, 0)) {
		calendar_parse_date(PQgetvalue(res, 0, 0), &m->range_lo);
		calendar_parse_date(PQgetvalue(res, 0, 1), &m->range_hi);
	}
	PQclear(res);
	return true;
}

/*
 * Each partition gets the source's storage parameters (fillfactor,
 * autovacuum_*, toast.*), with autovacuum off until the cut-over: the
 * copy fills every partition once, and autovacuum visiting them meanwhile
 * takes CPU from the application, and each of its ANALYZEs makes every
 * writer plan the sync trigger's statements again. m->av_restore is what
 * gives a partition the source's own autovacuum setting back after the
 * cut-over.
 */
static bool mig_storage(PGconn *conn, struct mig *m, const char *const *p1, struct svc_error *err)
{
	static const char *const paused[] = {"autovacuum_enabled", "toast.autovacuum_enabled"};
	char *had[2] = {NULL, NULL};
	strbuf carried;
	PGresult *res = db_exec(conn, sql_table_reloptions, 1, p1, err);
	size_t k;
	int i;

	if (!res)
		return false;
	strbuf_init(&carried);
	for (i = 0; i < PQntuples(res); i++) {
		const char *name = db_get(res, i, "name"), *value = db_get(res, i, "value");
		char *lit = PQescapeLiteral(conn, value, strlen(value));

		for (k = 0; k < 2 && strcmp(name, paused[k]) != 0; k++)
			;
		if (!lit || strspn(name, "abcdefghijklmnopqrstuvwxyz_.") != strlen(name)) {
			blocker(m, "storage parameter %s of the source cannot be carried over", name);
		} else if (k < 2) {
			PQfreemem(had[k]);
			had[k] = lit;
			lit = NULL;
		} else {
			strbuf_printf(&m->with, "%s = %s, ", name, lit);
			strbuf_printf(&carried, "%s%s=%s", carried.len ? ", " : "", name, value);
		}
		PQfreemem(lit);
	}
	PQclear(res);
	strbuf_puts(&m->with, "autovacuum_enabled = false, toast.autovacuum_enabled = false");
	for (k = 0; k < 2; k++) {
		if (had[k])
			strbuf_printf(&m->av_restore, "%sSET (%s = %s)", k ? ", " : "", paused[k],
				      had[k]);
		else
			strbuf_printf(&m->av_restore, "%sRESET (%s)", k ? ", " : "", paused[k]);
		PQfreemem(had[k]);
	}
	if (carried.len)
		json_array_append_new(m->changes,
				      json_sprintf("every partition gets the source's storage "
						   "parameters: %s",
						   carried.data));
	json_array_append_new(m->changes,
			      json_string("autovacuum is off on the new partitions while the copy "
					  "fills them and validation reads them; after the cut-over "
					  "each gets the source's autovacuum setting"));
	strbuf_free(&carried);
	if (m->with.failed || m->av_restore.failed)
		return svc_fail(err, SVC_INTERNAL, "out of memory");
	return true;
}

/*
 * The name of deferred index k (from 0) on the new parent: partd_<t>_new_<k+1>,
 * the table's part shortened to fit so that the number always survives. It
 * is fixed by the plan, so a resumed index phase finds what an earlier
 * attempt made. Table names hold only letters, digits and '_' (ident.h):
 * the name needs double quotes only to keep its case.
 */
static void mig_parent_index_name(const struct mig *m, size_t k, char out[IDENT_MAX + 1])
{
	char suffix[24];
	int n = snprintf(suffix, sizeof(suffix), "_%zu", k + 1);

	snprintf(out, IDENT_MAX + 1, "partd_%.*s%s", IDENT_MAX - 6 - n, m->new_name, suffix);
}

/*
 * Reads the catalog and builds the plan: blockers, changes, the DDL of the
 * new table; range says how the data's first and last day are read (see
 * mig_range), ctx the job that reads them (NULL in a request).
 * On error (not a blocker: e.g. not managed), false.
 */
static bool mig_plan(struct job_ctx *ctx, PGconn *conn, const char *name, enum plan_range range,
		     struct mig *m, struct svc_error *err)
{
	char why[256], oidtext[16];
	const char *p1[1] = {oidtext};
	PGresult *res = NULL;
	bool partitioned;
	long lo = 0, hi = 0, a, today = calendar_today();
	int i;

	memset(m, 0, sizeof(*m));
	m->key_names = json_array();
	m->key_types = json_array();
	m->col_types = json_object();
	m->blockers = json_array();
	m->changes = json_array();
	m->ddl = json_array();
	m->deferred = json_array();
	m->partitions = json_array();
	if (!ident_parse_table(name, &m->qn, why, sizeof(why)))
		return svc_fail(err, SVC_NOT_FOUND, "%s", why);
	if (!tables_load(conn, &m->qn, &m->pol, &m->oid, &partitioned, err))
		return false;
	if (partitioned)
		return svc_fail(err, SVC_CONFLICT, "%s.%s is already partitioned; nothing to migrate",
				m->qn.schema, m->qn.table);
	suffixed(m->new_name, m->qn.table, "_new");
	suffixed(m->old_name, m->qn.table, "_old");
	suffixed(m->view_name, m->qn.table, "_view");
	suffixed(m->trigger, m->qn.table, "_partd_sync");
	suffixed(m->function, m->qn.table, "_partd_sync");
	if (!mig_quote_names(conn, m) || asprintf(&m->source_qq, "%s.%s", m->s_q, m->t_q) < 0 ||
	    asprintf(&m->new_qq, "%s.%s", m->s_q, m->new_q) < 0)
		return svc_fail(err, SVC_INTERNAL, "out of memory");
	snprintf(oidtext, sizeof(oidtext), "%u", m->oid);

	/* Columns. */
	if (!(res = db_exec(conn, sql_migration_columns, 1, p1, err)))
		return false;
	for (i = 0; i < PQntuples(res); i++) {
		const char *col = PQgetvalue(res, i, 0);
		char *q = db_ident(conn, col);
		json_object_set_new(m->col_types, col, json_string(db_get(res, i, "type")));
		strbuf_printf(&m->cols, "%s%s", m->cols.len ? ", " : "", q);
		if (!db_get_bool(res, i, "is_generated"))
			strbuf_printf(&m->ins_cols, "%s%s", m->ins_cols.len ? ", " : "", q);
		PQfreemem(q);
		if (db_get_bool(res, i, "is_identity"))
			blocker(m,
				"column %s is an identity column: its sequence cannot be shared by two "
				"tables; change it to a sequence default (ALTER TABLE ... ALTER COLUMN %s "
				"DROP IDENTITY, then SET DEFAULT nextval(...)) first",
				col, col);
		if (strcmp(col, m->pol.column) == 0 && !db_get_bool(res, i, "attnotnull"))
			blocker(m,
				"partition column %s allows NULL: a NULL cannot be routed to a month; run "
				"ALTER TABLE %s.%s ALTER COLUMN %s SET NOT NULL first",
				col, m->qn.schema, m->qn.table, col);
	}
	PQclear(res);

	/* Constraints: primary key (the copy's key), unique, foreign keys. */
	add_ddl(m,
		"CREATE TABLE %s.%s (LIKE %s.%s INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING "
		"STORAGE INCLUDING COMMENTS INCLUDING GENERATED) PARTITION BY RANGE (%s)",
		m->s_q, m->new_q, m->s_q, m->t_q, m->col_q);
	if (!(res = db_exec(conn, sql_migration_constraints, 1, p1, err)))
		return false;
	for (i = 0; i < PQntuples(res); i++) {
		const char *cname = db_get(res, i, "conname"), *type = db_get(res, i, "contype");
		json_t *cols = name_array(db_get(res, i, "columns"));
		char names[1024];
		strbuf list;

		strbuf_init(&list);
		if (db_get_bool(res, i, "incoming")) {
			blocker(m,
				"foreign key %s on %s points at this table: PostgreSQL 15 cannot move it "
				"to the partitioned table during cut-over; drop it (and re-create it "
				"after) or keep the table monolithic",
				cname, db_get(res, i, "from_table"));
		} else if (type[0] == 'f') {
			char *cq = db_ident(conn, cname);
			add_ddl(m, "ALTER TABLE %s.%s ADD CONSTRAINT %s %s", m->s_q, m->new_q, cq,
				db_get(res, i, "def"));
			PQfreemem(cq);
		} else {
			quoted_list(conn, cols, m->pol.column, &list);
			if (!json_has_string(cols, m->pol.column))
				json_array_append_new(
					m->changes,
					json_sprintf("%s %s (%s) becomes (%s) on the partitioned table: "
						     "PostgreSQL requires the partition column in every "
						     "unique constraint",
						     type[0] == 'p' ? "primary key" : "unique constraint",
						     cname, name_list(cols, names, sizeof(names)),
						     list.data));
			if (type[0] != 'p')
				deferred_add(m, true, true, json_sprintf("(%s)", list.data));
			else
				add_ddl(m, "ALTER TABLE %s.%s ADD PRIMARY KEY (%s)", m->s_q, m->new_q,
					list.data);
			if (type[0] == 'p') {
				size_t k;
				json_t *kn;
				json_decref(m->key_names);
				m->key_names = json_incref(cols);
				json_array_foreach(cols, k, kn)
					json_array_append(m->key_types,
							  json_object_get(m->col_types,
									  json_string_value(kn)));
				quoted_list(conn, cols, NULL, &m->key);
				quoted_list(conn, cols, m->pol.column, &m->new_key);
			}
		}
		json_decref(cols);
		strbuf_free(&list);
	}
	PQclear(res);
	if (json_array_size(m->key_names) == 0)
		blocker(m, "%s.%s has no primary key: the copy walks the table in key order; add one "
			   "first",
			m->qn.schema, m->qn.table);

	/* Indexes no constraint owns. */
	if (!(res = db_exec(conn, sql_migration_indexes, 1, p1, err)))
		return false;
	for (i = 0; i < PQntuples(res); i++) {
		const char *def = db_get(res, i, "def"), *using = strstr(def, " USING ");
		json_t *cols = name_array(db_get(res, i, "columns"));
		bool unique = db_get_bool(res, i, "indisunique");

		if (unique && !json_has_string(cols, m->pol.column))
			blocker(m,
				"unique index %s does not include %s: PostgreSQL cannot enforce it on a "
				"partitioned table; add the column to it or make it a constraint",
				db_get(res, i, "name"), m->pol.column);
		else if (using)
			deferred_add(m, false, unique, json_string(using));
		json_decref(cols);
	}
	PQclear(res);

	if (!mig_storage(conn, m, p1, err))
		return false;

	{
		PGresult *est = db_exec(conn,
					"SELECT reltuples::bigint FROM pg_catalog.pg_class WHERE oid = $1::oid",
					1, p1, err);
		if (!est)
			return false;
		if (PQntuples(est) != 1) {
			PQclear(est);
			return svc_fail(err, SVC_NOT_FOUND, "%s.%s no longer exists", m->qn.schema,
					m->qn.table);
		}
		m->rows_estimate = strtoll(PQgetvalue(est, 0, 0), NULL, 10);
		PQclear(est);
	}
	/* The months the data spans, plus premake ahead. */
	if (!mig_range(ctx, conn, m, range, err))
		return false;
	lo = m->range_lo;
	hi = m->range_hi;
	if (hi < today)
		hi = today;
	lo = interval_start(m->pol.interval, lo);
	hi = interval_add(m->pol.interval, interval_start(m->pol.interval, hi), m->pol.premake + 1);
	if (interval_add(m->pol.interval, lo, 2400) < hi)
		blocker(m, "the data spans more than 2400 %ss; partition it by a coarser interval",
			interval_unit_name(m->pol.interval));
	for (a = lo; a < hi && json_array_size(m->partitions) < 2400;
	     a = interval_add(m->pol.interval, a, 1)) {
		char pname[IDENT_MAX + 1], from[16], to[16], *pq;
		interval_partition_name(m->pol.interval, m->qn.table, a, pname, sizeof(pname));
		calendar_format(a, from, sizeof(from));
		calendar_format(interval_add(m->pol.interval, a, 1), to, sizeof(to));
		if (rel_exists(conn, m->qn.schema, pname, err))
			blocker(m, "%s.%s already exists; partd would name a partition so", m->qn.schema,
				pname);
		pq = db_ident(conn, pname);
		add_ddl(m,
			"CREATE TABLE %s.%s PARTITION OF %s.%s FOR VALUES FROM ('%s') TO ('%s') "
			"WITH (%s)",
			m->s_q, pq, m->s_q, m->new_q, from, to, m->with.data);
		PQfreemem(pq);
		json_array_append_new(m->partitions, json_string(pname));
	}
	{
		char dname[IDENT_MAX + 1], *dq;
		suffixed(dname, m->qn.table, "_default");
		dq = db_ident(conn, dname);
		add_ddl(m, "CREATE TABLE %s.%s PARTITION OF %s.%s DEFAULT WITH (%s)", m->s_q, dq,
			m->s_q, m->new_q, m->with.data);
		PQfreemem(dq);
		json_array_append_new(m->changes,
				      json_sprintf("a default partition %s catches rows outside the "
						   "partitions made (the scheduler keeps %d ahead)",
						   dname, m->pol.premake));
	}
	if (rel_exists(conn, m->qn.schema, m->new_name, err))
		blocker(m, "%s.%s already exists (a migration left behind?); drop it or finish that "
			   "migration first",
			m->qn.schema, m->new_name);
	if (rel_exists(conn, m->qn.schema, m->old_name, err))
		blocker(m, "%s.%s already exists; it would be the kept original", m->qn.schema,
			m->old_name);
	for (i = 0; i < (int)json_array_size(m->deferred); i++) {
		char iname[IDENT_MAX + 1];
		mig_parent_index_name(m, (size_t)i, iname);
		if (rel_exists(conn, m->qn.schema, iname, err))
			blocker(m, "%s.%s already exists; partd would name an index of the new "
				   "table so (rename or drop it first)",
				m->qn.schema, iname);
	}
	return !err->code;
}

/*
 * The statement that makes deferred index k (d) on the new parent alone (ON
 * ONLY: no partition is touched, and the index is invalid until every
 * partition's index is attached to it).
 */
static char *mig_deferred_parent_sql(const struct mig *m, const json_t *d, size_t k)
{
	const char *spec = json_string_value(json_object_get(d, "spec"));
	char name[IDENT_MAX + 1], *sql = NULL;
	int r;

	mig_parent_index_name(m, k, name);
	if (json_is_true(json_object_get(d, "constraint")))
		r = asprintf(&sql, "ALTER TABLE ONLY %s.%s ADD CONSTRAINT \"%s\" UNIQUE %s", m->s_q,
			     m->new_q, name, spec);
	else
		r = asprintf(&sql, "CREATE %sINDEX \"%s\" ON ONLY %s.%s%s",
			     json_is_true(json_object_get(d, "unique")) ? "UNIQUE " : "", name,
			     m->s_q, m->new_q, spec);
	return r < 0 ? NULL : sql;
}

static json_t *mig_plan_json(const struct mig *m, const json_t *knobs)
{
	char display[2 * IDENT_MAX + 2], first[16], last[16];
	json_t *after = json_array(), *d;
	size_t i;

	json_array_foreach(m->deferred, i, d) {
		char *sql = mig_deferred_parent_sql(m, d, i);
		if (sql)
			json_array_append_new(after, json_string(sql));
		free(sql);
	}

	ident_format(&m->qn, display, sizeof(display));
	calendar_format(m->range_lo, first, sizeof(first));
	calendar_format(m->range_hi, last, sizeof(last));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:O, s:I, s:{s:s, s:s, s:s}, s:i, s:s?, "
			 "s:s?, s:O, s:O, s:O, s:o, s:O, s:o}",
			 "table", display, "new_table", m->new_name, "old_table", m->old_name,
			 "view", m->view_name, "partition_column", m->pol.column, "interval",
			 interval_unit_name(m->pol.interval), "key", m->key_names, "rows_estimate",
			 (json_int_t)m->rows_estimate, "data_range", "first_day", first, "last_day",
			 last, "source", m->range_source ? m->range_source : "none", "partitions",
			 (int)json_array_size(m->partitions), "first_partition",
			 json_string_value(json_array_get(m->partitions, 0)), "last_partition",
			 json_string_value(json_array_get(m->partitions,
							  json_array_size(m->partitions) - 1)),
			 "changes", m->changes, "blockers", m->blockers, "ddl", m->ddl,
			 "indexes_after_copy", after, "options", knobs, "phases",
			 json_pack("[s, s, s, s, s, s]", "prepare", "dual-write", "copy", "index",
				   "validate", "cut-over"));
}

/* ---- SQL shared by the phases ------------------------------------------ */

/*
 * The statements of a JSON array in one DDL transaction (service/ddl.c);
 * cleanup: the undoing that a cancel asked for, retried through the cancel.
 * A retry reports the lock holders of oids (noids of them), or of the
 * source when oids is NULL.
 */
static bool mig_ddl_run(struct job_ctx *ctx, const struct mig *m, const char *what,
			const json_t *stmts, bool cleanup, const unsigned int *oids, size_t noids,
			struct svc_error *err)
{
	size_t i, n = json_array_size(stmts);
	const char **list = calloc(n ? n : 1, sizeof(*list));
	bool ok;

	if (!list)
		return svc_fail(err, SVC_INTERNAL, "out of memory");
	if (!oids) {
		oids = &m->oid;
		noids = 1;
	}
	for (i = 0; i < n; i++)
		list[i] = json_string_value(json_array_get(stmts, i));
	ok = cleanup ? ddl_cleanup_transaction(ctx, what, list, n, oids, noids, err)
		     : ddl_transaction(ctx, what, list, n, oids, noids, err);
	free(list);
	return ok;
}

static bool mig_ddl(struct job_ctx *ctx, const struct mig *m, const char *what,
		    const json_t *stmts, struct svc_error *err)
{
	return mig_ddl_run(ctx, m, what, stmts, false, NULL, 0, err);
}

/*
 * The migration's new state (set: "state = '...'" and what goes with it) as
 * one more statement of the DDL's own transaction: the tables and
 * partd.migrations never disagree, even when the session is lost right
 * after the commit.
 */
static bool mig_state_stmt(PGconn *conn, const struct mig *m, const char *set, json_t *stmts,
			   struct svc_error *err)
{
	char *s = PQescapeLiteral(conn, m->qn.schema, strlen(m->qn.schema)),
	     *t = PQescapeLiteral(conn, m->qn.table, strlen(m->qn.table));
	bool ok = s && t;

	if (ok)
		json_array_append_new(stmts, json_sprintf("UPDATE partd.migrations SET %s, "
							  "updated_at = now() WHERE schema_name = "
							  "%s AND table_name = %s",
							  set, s, t));
	PQfreemem(s);
	PQfreemem(t);
	return ok || svc_fail(err, SVC_INTERNAL, "out of memory");
}

static bool mig_set_state(PGconn *conn, const struct mig *m, const char *state,
			  struct svc_error *err)
{
	const char *p[3] = {m->qn.schema, m->qn.table, state};
	PGresult *res = db_exec(conn,
				"UPDATE partd.migrations SET state = $3, updated_at = now() "
				"WHERE schema_name = $1 AND table_name = $2",
				3, p, err);

	PQclear(res);
	return res != NULL;
}

/* ---- the run job ------------------------------------------------------- */

static bool mig_validate_params(const json_t *params, json_t **out, char *table, size_t tablelen,
				struct svc_error *err)
{
	const json_t *t = json_object_get(params, "table");
	struct qualified_name qn;
	const char *key;
	json_t *v;
	char why[256];

	json_object_foreach((json_t *)params, key, v) {
		if (strcmp(key, "table") && strcmp(key, "batch_rows") &&
		    strcmp(key, "max_rows_per_s") && strcmp(key, "rollback_window") &&
		    strcmp(key, "parallel") &&
		    strcmp(key, "force"))
			return svc_field(err, key,
					 "unknown field '%.64s'; expected dry_run, batch_rows, "
					 "max_rows_per_s, parallel, rollback_window (or force for finalize)",
					 key);
	}
	if (!json_is_string(t) || !ident_parse_table(json_string_value(t), &qn, why, sizeof(why)))
		return svc_field(err, "table", "table: %s", json_is_string(t) ? why : "is required");
	ident_format(&qn, table, tablelen);
	*out = json_deep_copy(params);
	return true;
}

struct mig_knobs {
	long batch_rows;
	long max_rows_per_s; /* 0: no limit */
};

static bool mig_read_knobs(PGconn *conn, const struct mig *m, struct mig_knobs *k,
			   struct svc_error *err)
{
	const char *p[2] = {m->qn.schema, m->qn.table};
	PGresult *res = db_exec(conn, sql_migration_get, 2, p, err);

	if (!res || PQntuples(res) == 0) {
		PQclear(res);
		return svc_fail(err, SVC_NOT_FOUND, "the migration's row is gone");
	}
	k->batch_rows = atol(db_get(res, 0, "batch_rows"));
	k->max_rows_per_s = db_get(res, 0, "max_rows_per_s") ? atol(db_get(res, 0, "max_rows_per_s")) : 0;
	PQclear(res);
	return true;
}

struct mig_knobs_arg {
	struct job_ctx *ctx;
	const struct mig *m;
};

/* copy_spec.read_knobs: the batch size and rate as PATCH last set them. */
static bool mig_copy_knobs(void *arg, long *batch_rows, long *max_rows_per_s,
			   struct svc_error *err)
{
	struct mig_knobs_arg *a = arg;
	struct mig_knobs k = {MIG_BATCH_ROWS_DEFAULT, 0};

	if (!mig_read_knobs(job_conn(a->ctx), a->m, &k, err))
		return false;
	*batch_rows = k.batch_rows;
	*max_rows_per_s = k.max_rows_per_s;
	return true;
}

/* Statements that hand the grants, sequences and owner of <t> on to to_q (an escaped name). */
static bool mig_carry_over(PGconn *conn, const struct mig *m, const char *to_q, json_t *stmts,
			   struct svc_error *err)
{
	char *target = NULL;
	const char *params[3] = {m->qn.schema, m->qn.table, NULL};
	PGresult *res;
	int i;

	if (asprintf(&target, "%s.%s", m->s_q, to_q) < 0)
		return svc_fail(err, SVC_INTERNAL, "out of memory");
	params[2] = target;
	res = db_exec(conn, sql_migration_carry_over, 3, params, err);
	free(target);
	if (!res)
		return false;
	for (i = 0; i < PQntuples(res); i++)
		json_array_append_new(stmts, json_string(PQgetvalue(res, i, 0)));
	PQclear(res);
	return true;
}

/* The newest partitions a sync function may name, kept while tables_visit_partitions walks them. */
struct mig_route {
	char schema[IDENT_MAX + 1], name[IDENT_MAX + 1];
	struct bound b;
};
struct mig_routes {
	struct mig_route ring[SYNCTRIG_MAX_ROUTES]; /* visit k in slot k % SYNCTRIG_MAX_ROUTES */
	size_t seen;
};

/*
 * tables_partition_fn: keeps p when a route may name it: attached (no
 * detach under way), not the default, and bounds the catalog decodes to
 * days the calendar reads (not infinity or BC).
 */
static void mig_route_keep(const struct table_partition *p, void *arg)
{
	struct mig_routes *rs = arg;
	struct mig_route *r;

	if (!p->bound || p->bound->is_default || p->detach_pending ||
	    (p->bound->has_from && p->from == LONG_MIN) || (p->bound->has_to && p->to == LONG_MAX))
		return;
	r = &rs->ring[rs->seen++ % SYNCTRIG_MAX_ROUTES];
	snprintf(r->schema, sizeof(r->schema), "%s", p->schema);
	snprintf(r->name, sizeof(r->name), "%s", p->name);
	r->b = *p->bound;
}

/*
 * The equality operator of each column of the conflict key (the primary
 * key, with the partition column when with_column) of table oid, into eq,
 * and their count into n. False with err set on error.
 */
static bool mig_key_equality(PGconn *conn, const struct mig *m, bool with_column,
			     unsigned int oid, char (*eq)[TABLES_EQ_MAX], size_t *n,
			     struct svc_error *err)
{
	const char *names[MIG_KEY_MAX];
	bool add = with_column && !json_has_string(m->key_names, m->pol.column);
	size_t i;
	json_t *k;

	*n = json_array_size(m->key_names) + (add ? 1 : 0);
	if (*n > MIG_KEY_MAX)
		return svc_fail(err, SVC_INTERNAL, "a key of %zu columns: an index has %d at most",
				*n, MIG_KEY_MAX);
	json_array_foreach(m->key_names, i, k)
		names[i] = json_string_value(k);
	if (add)
		names[*n - 1] = m->pol.column;
	return tables_column_equality(conn, oid, names, *n, eq, err);
}

/*
 * The CREATE OR REPLACE FUNCTION of the sync trigger (service/synctrig.h),
 * writing to target_q, whose conflict key is the source's primary key,
 * with the partition column added when with_column. When target_oid is
 * partitioned, its newest partitions that mig_route_keep keeps are routes,
 * in lower-bound order; a plain table has none. Caller frees; on error
 * NULL, with err set.
 */
static char *mig_sync_function(PGconn *conn, const struct mig *m, const char *target_q,
			       bool with_column, unsigned int target_oid, struct svc_error *err)
{
	struct mig_routes rs = {0};
	struct synctrig_route routes[SYNCTRIG_MAX_ROUTES];
	char *part[SYNCTRIG_MAX_ROUTES] = {0}, *from[SYNCTRIG_MAX_ROUTES] = {0},
	     *to[SYNCTRIG_MAX_ROUTES] = {0};
	char *function = NULL, *target = NULL, *sql = NULL;
	char eq[MIG_KEY_MAX][TABLES_EQ_MAX];
	const char *eqp[MIG_KEY_MAX];
	size_t n, i, neq = 0;

	if (!tables_visit_partitions(conn, target_oid, mig_route_keep, &rs, err) ||
	    !mig_key_equality(conn, m, with_column, target_oid, eq, &neq, err))
		return NULL;
	for (i = 0; i < neq; i++)
		eqp[i] = eq[i];
	n = rs.seen < SYNCTRIG_MAX_ROUTES ? rs.seen : SYNCTRIG_MAX_ROUTES;
	for (i = 0; i < n; i++) {
		/* The oldest kept is visit seen - n. */
		const struct mig_route *r = &rs.ring[(rs.seen - n + i) % SYNCTRIG_MAX_ROUTES];
		const struct bound *b = &r->b;
		char *sq = db_ident(conn, r->schema), *pq = db_ident(conn, r->name);

		if (!sq || !pq || asprintf(&part[i], "%s.%s", sq, pq) < 0)
			part[i] = NULL;
		PQfreemem(sq);
		PQfreemem(pq);
		from[i] = b->has_from ? PQescapeLiteral(conn, b->from, strlen(b->from)) : NULL;
		to[i] = b->has_to ? PQescapeLiteral(conn, b->to, strlen(b->to)) : NULL;
		if (!part[i] || (b->has_from && !from[i]) || (b->has_to && !to[i])) {
			svc_fail(err, SVC_INTERNAL, "out of memory");
			goto done;
		}
		routes[i] = (struct synctrig_route){part[i], from[i], to[i]};
	}
	if (asprintf(&function, "%s.%s", m->s_q, m->func_q) < 0)
		function = NULL;
	if (asprintf(&target, "%s.%s", m->s_q, target_q) < 0)
		target = NULL;
	if (!function || !target) {
		svc_fail(err, SVC_INTERNAL, "out of memory");
		goto done;
	}
	sql = synctrig_function_sql(&(struct synctrig_spec){.function = function,
							     .target = target,
							     .columns = m->ins_cols.data,
							     .key = with_column ? m->new_key.data
										: m->key.data,
							     .column = m->col_q,
							     .routes = routes,
							     .nroutes = n,
							     .key_eq = eqp,
							     .nkey_eq = neq});
	if (!sql)
		svc_fail(err, SVC_INTERNAL, "could not write the sync trigger's function");
done:
	for (i = 0; i < SYNCTRIG_MAX_ROUTES; i++) {
		free(part[i]);
		PQfreemem(from[i]);
		PQfreemem(to[i]);
	}
	free(function);
	free(target);
	return sql;
}

/*
 * The sync trigger on source_q, writing to target_q (with_column and
 * target_oid: see mig_sync_function). False with err set on error.
 */
static bool mig_trigger_stmts(PGconn *conn, const struct mig *m, const char *source_q,
			      const char *target_q, bool with_column, unsigned int target_oid,
			      json_t *stmts, struct svc_error *err)
{
	char *fn = mig_sync_function(conn, m, target_q, with_column, target_oid, err);

	if (!fn)
		return false;
	json_array_append_new(stmts, json_string(fn));
	/* SECURITY DEFINER: nobody else may hang it on a table of theirs. */
	json_array_append_new(stmts, json_sprintf("REVOKE ALL ON FUNCTION %s.%s() FROM PUBLIC",
						  m->s_q, m->func_q));
	json_array_append_new(stmts, json_sprintf("CREATE TRIGGER %s AFTER INSERT OR UPDATE OR DELETE "
						  "ON %s.%s FOR EACH ROW EXECUTE FUNCTION %s.%s()",
						  m->trig_q, m->s_q, source_q, m->s_q, m->func_q));
	free(fn);
	return true;
}

/*
 * The statements that swap which table is called <t>: the table now named
 * <t> becomes was_q, other_q becomes <t>, grants, owner and sequences
 * follow the name, and the sync trigger then writes from the new <t> to
 * was_q, whose conflict key has the partition column when
 * was_partitioned. The cut-over and the rollback are this swap in opposite
 * directions.
 */
static bool mig_swap_stmts(PGconn *conn, const struct mig *m, const char *other_q,
			   const char *was_q, bool was_partitioned, json_t *stmts,
			   struct svc_error *err)
{
	json_array_append_new(stmts, json_sprintf("LOCK TABLE %s.%s, %s.%s IN ACCESS EXCLUSIVE MODE",
						  m->s_q, m->t_q, m->s_q, other_q));
	json_array_append_new(stmts, json_sprintf("DROP TRIGGER %s ON %s.%s", m->trig_q, m->s_q,
						  m->t_q));
	if (!mig_carry_over(conn, m, other_q, stmts, err))
		return false;
	json_array_append_new(stmts,
			      json_sprintf("ALTER TABLE %s.%s RENAME TO %s", m->s_q, m->t_q, was_q));
	json_array_append_new(stmts,
			      json_sprintf("ALTER TABLE %s.%s RENAME TO %s", m->s_q, other_q, m->t_q));
	/* Its target is the table called <t> until now (m->oid): partitioned in a rollback. */
	if (!mig_trigger_stmts(conn, m, m->t_q, was_q, was_partitioned, m->oid, stmts, err))
		return false;
	/* The view is bound to a table, not a name: point it at the new <t>. */
	json_array_append_new(stmts, json_sprintf("CREATE OR REPLACE VIEW %s.%s AS SELECT * FROM %s.%s",
						  m->s_q, m->view_q, m->s_q, m->t_q));
	return true;
}

/* Drops what a migration made before cut-over; the source is left as it was. */
static bool mig_cleanup(struct job_ctx *ctx, const struct mig *m, struct svc_error *err)
{
	json_t *stmts = json_array();
	bool ok;

	json_array_append_new(stmts, json_sprintf("DROP TRIGGER IF EXISTS %s ON %s.%s", m->trig_q,
						  m->s_q, m->t_q));
	json_array_append_new(stmts,
			      json_sprintf("DROP FUNCTION IF EXISTS %s.%s()", m->s_q, m->func_q));
	json_array_append_new(stmts, json_sprintf("DROP TABLE IF EXISTS %s.%s", m->s_q, m->new_q));
	ok = mig_ddl_run(ctx, m, "clean up", stmts, true, NULL, 0, err) &&
	     mig_set_state(job_conn(ctx), m, "cancelled", err);
	json_decref(stmts);
	return ok;
}

/* Whether the table's migration row is this job's: an earlier attempt claimed it. */
static bool mig_row_ours(struct job_ctx *ctx, const struct mig *m)
{
	const char *p[2] = {m->qn.schema, m->qn.table};
	struct svc_error err = {0};
	PGresult *res = db_exec(job_conn(ctx), sql_migration_get, 2, p, &err);
	const char *id = res && PQntuples(res) == 1 ? db_get(res, 0, "job_id") : NULL;
	bool ours = id && atoll(id) == (long long)job_id(ctx);

	PQclear(res);
	svc_error_clear(&err);
	return ours;
}

/*
 * Claims the table's migration row for this job (a finished, failed or
 * cancelled one may be replaced). False with SVC_CONFLICT when another
 * migration of the table is under way or cut over.
 */
static bool mig_claim_row(struct job_ctx *ctx, const struct mig *m, const json_t *params,
			  json_t *plan, bool *resumed, struct svc_error *err)
{
	char id[24], batch[24], rate[24];
	const json_t *b = json_object_get(params, "batch_rows"), *r = json_object_get(params, "max_rows_per_s");
	const json_t *w = json_object_get(params, "rollback_window");
	char *plantext = json_dumps(plan, JSON_COMPACT);
	const char *p[13];
	PGresult *res;
	bool ok;

	snprintf(id, sizeof(id), "%lld", (long long)job_id(ctx));
	snprintf(batch, sizeof(batch), "%lld",
		 b ? (long long)json_integer_value(b) : (long long)MIG_BATCH_ROWS_DEFAULT);
	snprintf(rate, sizeof(rate), "%lld", r ? (long long)json_integer_value(r) : 0LL);
	p[0] = m->qn.schema;
	p[1] = m->qn.table;
	p[2] = id;
	p[3] = m->new_name;
	p[4] = m->old_name;
	p[5] = m->view_name;
	p[6] = m->trigger;
	p[7] = m->function;
	p[8] = plantext;
	p[9] = batch;
	p[10] = r ? rate : NULL;
	p[11] = w ? json_string_value(w) : "30 days";
	res = db_exec(job_conn(ctx), sql_migration_claim, 12, p, err);
	ok = res && PQntuples(res) == 1;
	if (ok)
		*resumed = db_get_bool(res, 0, "resumed");
	else if (res)
		svc_fail(err, SVC_CONFLICT,
			 "%s.%s already has a migration under way or cut over; roll it back or "
			 "finalize it first",
			 m->qn.schema, m->qn.table);
	PQclear(res);
	free(plantext);
	return ok;
}

/* True when this job's migration row says the cut-over committed. */
static bool mig_cut_over_done(struct job_ctx *ctx, struct svc_error *err)
{
	struct qualified_name qn;
	char why[256];
	PGresult *res;
	bool done;

	if (!ident_parse_table(json_string_value(json_object_get(job_params(ctx), "table")), &qn, why,
			       sizeof(why)))
		return false;
	{
		const char *p[2] = {qn.schema, qn.table};
		res = db_exec(job_conn(ctx), sql_migration_get, 2, p, err);
	}
	done = res && PQntuples(res) == 1 && strcmp(db_get(res, 0, "state"), "cut_over") == 0 &&
	       db_get_int64(res, 0, "job_id") == job_id(ctx);
	PQclear(res);
	svc_error_clear(err);
	return done;
}

/*
 * The rows an index build on partition part reads, for the rate limit:
 * rows shared out by the partitions' sizes (parts: rows of
 * sql/migration_partitions.sql, total: their bytes). Their own reltuples
 * are not known yet: autovacuum is off.
 */
static long long build_rows(long long rows, double total, const PGresult *parts, const char *part)
{
	int r;

	for (r = 0; total > 0 && r < PQntuples(parts); r++)
		if (strcmp(db_get(parts, r, "partition"), part) == 0)
			return (long long)((double)rows * strtod(db_get(parts, r, "bytes"), NULL) / total);
	return 0;
}

/* The name of deferred index k (from 0) on the partition whose oid is part_oid. */
static void mig_partition_index_name(const char *part_oid, size_t k, char out[IDENT_MAX + 1])
{
	snprintf(out, IDENT_MAX + 1, "partd_%s_%zu", part_oid, k + 1);
}

/* One statement as its own DDL transaction; COPY_STOPPED when the job must stop. */
static enum copy_outcome mig_ddl_one(struct job_ctx *ctx, const struct mig *m, const char *what,
				     const char *sql, struct svc_error *err)
{
	const char *one[1] = {sql};

	if (ddl_transaction(ctx, what, one, 1, &m->oid, 1, err))
		return COPY_DONE;
	return job_should_stop(ctx) ? COPY_STOPPED : COPY_FAILED;
}

/*
 * The end of the index phase: each deferred index made on the new parent
 * alone (ON ONLY), then each partition's index attached to it, every step
 * its own transaction; PostgreSQL marks the parent's index valid once
 * every partition's is attached. Resumable: what an earlier attempt made
 * or attached is found by name and not repeated.
 *
 * Not one ALTER TABLE ... ADD UNIQUE (or CREATE INDEX) on the parent: it
 * holds the parent in ACCESS EXCLUSIVE (SHARE) mode while it locks the
 * partitions one by one. The dual-write trigger writes to a partition
 * directly and, once that partition's definition changed (its constraint,
 * just made), reads the partition's bounds through the parent: a writer
 * holding the partition and waiting for the parent, behind the statement
 * holding the parent and waiting for the partition, is a deadlock, which
 * PostgreSQL ended by failing the application's write. Here no statement
 * waits for a partition while it holds the parent in a mode a writer's
 * lock conflicts with: the parent's index is made while no partition is
 * locked, and an attach holds the parent, the partition and the parent's
 * index only in modes writers never conflict with (ACCESS SHARE, ACCESS
 * SHARE, SHARE UPDATE EXCLUSIVE) while it waits for the partition's index
 * (ACCESS EXCLUSIVE). One partition per transaction, as above.
 */
static enum copy_outcome mig_attach_indexes(struct job_ctx *ctx, const struct mig *m,
					    const char *new_oid, const PGresult *parts,
					    struct svc_error *err)
{
	const char *p[1] = {new_oid};
	PGresult *have = db_exec(job_conn(ctx),
				 "SELECT p.relname AS parent, c.relname AS child "
				 "FROM pg_catalog.pg_index x "
				 "JOIN pg_catalog.pg_class p ON p.oid = x.indexrelid "
				 "LEFT JOIN pg_catalog.pg_inherits i ON i.inhparent = x.indexrelid "
				 "LEFT JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid "
				 "WHERE x.indrelid = $1::oid",
				 1, p, err);
	enum copy_outcome out = have ? COPY_DONE : COPY_FAILED;
	size_t k;
	json_t *d;
	int r, h;

	json_array_foreach(m->deferred, k, d) {
		char parent[IDENT_MAX + 1], *sql;
		bool made = false;

		if (out != COPY_DONE)
			break;
		mig_parent_index_name(m, k, parent);
		for (h = 0; h < PQntuples(have); h++)
			made = made || strcmp(PQgetvalue(have, h, 0), parent) == 0;
		if (!made) {
			if (!(sql = mig_deferred_parent_sql(m, d, k))) {
				out = COPY_FAILED;
				svc_fail(err, SVC_INTERNAL, "out of memory");
				break;
			}
			out = mig_ddl_one(ctx, m, "make an index on the parent", sql, err);
			free(sql);
		}
		for (r = 0; r < PQntuples(parts) && out == COPY_DONE; r++) {
			char child[IDENT_MAX + 1], *attach;
			bool attached = false;

			mig_partition_index_name(PQgetvalue(parts, r, 0), k, child);
			for (h = 0; h < PQntuples(have); h++)
				attached = attached || (strcmp(PQgetvalue(have, h, 0), parent) == 0 &&
							strcmp(PQgetvalue(have, h, 1), child) == 0);
			if (attached)
				continue;
			if (asprintf(&attach, "ALTER INDEX %s.\"%s\" ATTACH PARTITION %s.%s", m->s_q,
				     parent, m->s_q, child) < 0) {
				out = COPY_FAILED;
				svc_fail(err, SVC_INTERNAL, "out of memory");
				break;
			}
			out = mig_ddl_one(ctx, m, "attach a partition's index", attach, err);
			free(attach);
		}
	}
	PQclear(have);
	return out;
}

/*
 * The index phase: each deferred index built CONCURRENTLY on every
 * partition of the new table (sorted in one pass, instead of growing row
 * by row during the copy), then made a constraint where it backs one, and
 * attached to the parent (mig_attach_indexes), in short transactions under
 * lock_timeout. The builds keep to max_rows_per_s over table_rows rows in
 * all (build_rows). Resumable: a valid index is kept, an invalid one (its
 * build was cut off) is dropped and built again, and a constraint or an
 * attach that committed is seen and not repeated.
 */
static enum copy_outcome mig_build_indexes(struct job_ctx *ctx, const struct mig *m, int parallel,
					   long long table_rows, struct svc_error *err)
{
	PGconn *conn = job_conn(ctx);
	size_t nd = json_array_size(m->deferred), k, done = 0;
	json_t *drops = json_array(), *builds = json_array(), *undos = json_array(),
	       *keys = json_array(), *drop_keys = json_array(), *constraints = json_array(), *d;
	PGresult *res = NULL, *parts = NULL, *have = NULL;
	enum copy_outcome out = COPY_FAILED;
	unsigned int new_oid = 0;
	const char *p[1];
	char oid[16];
	int r, h;

	if (nd == 0) {
		out = COPY_DONE;
		goto done;
	}
	if (!rel_oid(conn, m->qn.schema, m->new_name, &new_oid, err))
		goto done;
	snprintf(oid, sizeof(oid), "%u", new_oid);
	p[0] = oid;
	if (!(res = db_exec(conn,
			    "SELECT count(*) FROM pg_catalog.pg_index WHERE indrelid = $1::oid "
			    "AND indisvalid",
			    1, p, err)))
		goto done;
	if (strtoull(PQgetvalue(res, 0, 0), NULL, 10) >= 1 + nd) {
		job_event(ctx, JOB_EVENT_INFO, NULL, "the indexes of %s were attached by an earlier "
			  "attempt", m->new_name);
		out = COPY_DONE;
		goto done;
	}
	if (!(parts = db_exec(conn, sql_migration_partitions, 1, p, err)) ||
	    !(have = db_exec(conn,
			     "SELECT c.relname, x.indisvalid, EXISTS (SELECT 1 FROM "
			     "pg_catalog.pg_constraint k WHERE k.conrelid = x.indrelid AND "
			     "k.conindid = x.indexrelid AND k.contype = 'u') AS constrained "
			     "FROM pg_catalog.pg_inherits i "
			     "JOIN pg_catalog.pg_index x ON x.indrelid = i.inhrelid "
			     "JOIN pg_catalog.pg_class c ON c.oid = x.indexrelid "
			     "WHERE i.inhparent = $1::oid AND c.relname LIKE 'partd\\_%'",
			     1, p, err)))
		goto done;
	for (r = 0; r < PQntuples(parts); r++) {
		const char *part = PQgetvalue(parts, r, 1);
		json_array_foreach(m->deferred, k, d) {
			const char *spec = json_string_value(json_object_get(d, "spec"));
			bool constraint = json_is_true(json_object_get(d, "constraint"));
			char name[IDENT_MAX + 1];
			int state = 0; /* 0 missing, 1 invalid, 2 valid */
			bool constrained = false; /* an earlier attempt made its constraint */

			mig_partition_index_name(PQgetvalue(parts, r, 0), k, name);
			for (h = 0; h < PQntuples(have); h++)
				if (strcmp(PQgetvalue(have, h, 0), name) == 0) {
					state = db_get_bool(have, h, "indisvalid") ? 2 : 1;
					constrained = db_get_bool(have, h, "constrained");
				}
			if (state == 1) {
				json_array_append_new(drops,
						      json_sprintf("DROP INDEX CONCURRENTLY IF EXISTS %s.%s",
								   m->s_q, name));
				json_array_append_new(drop_keys, json_string(part));
			}
			if (state < 2)
				json_array_append_new(keys, json_string(part));
			if (state < 2)
				json_array_append_new(undos,
						      json_sprintf("DROP INDEX CONCURRENTLY IF EXISTS %s.%s",
								   m->s_q, name));
			if (state < 2)
				json_array_append_new(
					builds, json_sprintf("CREATE %sINDEX CONCURRENTLY %s ON %s %s",
							     constraint || json_is_true(json_object_get(
										   d, "unique"))
								     ? "UNIQUE "
								     : "",
							     name, part, spec));
			if (constraint && !constrained)
				json_array_append_new(constraints,
						      json_sprintf("ALTER TABLE %s ADD CONSTRAINT %s "
								   "UNIQUE USING INDEX %s",
								   part, name, name));
		}
	}
	{
		struct mig_knobs kn = {0};
		char paced[64] = "";
		if (!mig_read_knobs(conn, m, &kn, err))
			goto done;
		if (kn.max_rows_per_s > 0)
			snprintf(paced, sizeof(paced), ", at most %ld rows/s", kn.max_rows_per_s);
		job_event(ctx, JOB_EVENT_INFO,
			  json_pack("{s:I, s:I, s:i}", "indexes", (json_int_t)nd, "builds",
				    (json_int_t)json_array_size(builds), "partitions",
				    PQntuples(parts)),
			  "building %zu index(es) on %d partitions of %s concurrently, %zu "
			  "build(s) to do%s",
			  nd, PQntuples(parts), m->new_name, json_array_size(builds), paced);
	}
	{
		size_t nb = json_array_size(drops), nbuild = json_array_size(builds), i;
		const char **list = calloc(2 * (nb + 2 * nbuild) + 1, sizeof(*list)), **undo, **key;
		long long *rows = calloc(nbuild + 1, sizeof(*rows));
		struct mig_knobs_arg ka = {ctx, m};
		struct copy_pace pace = {rows, mig_copy_knobs, &ka};
		double total = 0;
		for (r = 0; r < PQntuples(parts); r++)
			total += strtod(db_get(parts, r, "bytes"), NULL);
		if (!list || !rows) {
			free(list);
			free(rows);
			svc_fail(err, SVC_INTERNAL, "out of memory");
			goto done;
		}
		undo = list + nb + nbuild;
		key = undo + nbuild; /* nb drop keys, then nbuild build keys */
		for (i = 0; i < nb; i++) {
			list[i] = json_string_value(json_array_get(drops, i));
			key[i] = json_string_value(json_array_get(drop_keys, i));
		}
		for (i = 0; i < nbuild; i++) {
			list[nb + i] = json_string_value(json_array_get(builds, i));
			undo[i] = json_string_value(json_array_get(undos, i));
			key[nb + i] = json_string_value(json_array_get(keys, i));
			rows[i] = build_rows(table_rows, total, parts, key[nb + i]);
		}
		out = copy_statements(ctx, list, NULL, key, nb, parallel, NULL, "index", "indexes",
				      &done, err);
		if (out == COPY_DONE)
			out = copy_statements(ctx, list + nb, undo, key + nb, nbuild, parallel, &pace,
					      "index", "indexes", &done, err);
		free(list);
		free(rows);
	}
	/*
	 * One transaction per partition for its constraints, so none holds one
	 * partition's lock while it waits for another's (writers lock them all,
	 * in their own order); then the parent's indexes.
	 */
	json_array_foreach(constraints, k, d) {
		if (out != COPY_DONE)
			break;
		out = mig_ddl_one(ctx, m, "make a partition's constraint", json_string_value(d), err);
	}
	if (out == COPY_DONE)
		out = mig_attach_indexes(ctx, m, oid, parts, err);
done:
	PQclear(res);
	PQclear(parts);
	PQclear(have);
	json_decref(drops);
	json_decref(builds);
	json_decref(undos);
	json_decref(keys);
	json_decref(drop_keys);
	json_decref(constraints);
	return out;
}

/* Whether the validation may checksum rows with hash_record_extended. */
static bool mig_binary_hash(PGconn *conn, const struct mig *m)
{
	char oid[16];
	const char *p[1] = {oid};
	struct svc_error err = {0};
	PGresult *res;
	bool yes;

	snprintf(oid, sizeof(oid), "%u", m->oid);
	res = db_exec(conn, sql_migration_hashable, 1, p, &err);
	yes = res && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	svc_error_clear(&err);
	return yes;
}

/*
 * The partitions of the table now called <t>, the default one not counted:
 * what prepare made (a later attempt's plan may have estimated the range).
 */
static int mig_partition_count(PGconn *conn, const struct mig *m)
{
	struct svc_error err = {0};
	unsigned int oid;
	char oidtext[16];
	const char *p[1] = {oidtext};
	PGresult *res = NULL;
	int n = -1;

	if (rel_oid(conn, m->qn.schema, m->qn.table, &oid, &err)) {
		snprintf(oidtext, sizeof(oidtext), "%u", oid);
		res = db_exec(conn, sql_migration_partitions, 1, p, &err);
	}
	if (res) {
		int i;
		for (i = 0, n = 0; i < PQntuples(res); i++)
			n += !db_get_bool(res, i, "is_default");
	}
	PQclear(res);
	svc_error_clear(&err);
	return n;
}

/*
 * Gives every partition of parent_oid (<t>_new, or <t> after the
 * cut-over) the source's autovacuum setting, which prepare turned off: one
 * DDL transaction taking SHARE UPDATE EXCLUSIVE on each partition, which
 * no writer waits for (a retry names who holds the partitions), carried
 * through a cancel like a cleanup. Run again after a crash, it sets the
 * same again. On failure a warning names the statement to run by hand.
 */
static bool mig_autovacuum_back(struct job_ctx *ctx, const struct mig *m, unsigned int parent_oid,
				const char *parent)
{
	struct svc_error err = {0};
	char oidtext[16];
	const char *p[1] = {oidtext};
	json_t *stmts = json_array();
	unsigned int *oids = NULL;
	PGresult *res = NULL;
	bool ok = false;
	int i, n = 0;

	if (!m->av_restore.data) {
		svc_fail(&err, SVC_INTERNAL, "the source's storage parameters could not be read");
		goto done;
	}
	snprintf(oidtext, sizeof(oidtext), "%u", parent_oid);
	if (!(res = db_exec(job_conn(ctx), sql_migration_partitions, 1, p, &err)))
		goto done;
	n = PQntuples(res);
	oids = calloc((size_t)n + 1, sizeof(*oids));
	for (i = 0; oids && i < n; i++) {
		oids[i] = (unsigned int)strtoul(db_get(res, i, "oid"), NULL, 10);
		json_array_append_new(stmts, json_sprintf("ALTER TABLE %s %s",
							  db_get(res, i, "partition"),
							  m->av_restore.data));
	}
	if (!oids || json_array_size(stmts) != (size_t)n) {
		svc_fail(&err, SVC_INTERNAL, "out of memory");
		goto done;
	}
	/* The partitions' lock holders are what a retry reports. */
	ok = n == 0 || mig_ddl_run(ctx, m, "give the partitions the source's autovacuum setting",
				   stmts, true, oids, (size_t)n, &err);
done:
	if (ok)
		job_event(ctx, JOB_EVENT_INFO, NULL,
			  "the %d partitions of %s have the source's autovacuum setting again", n,
			  parent);
	else
		job_event(ctx, JOB_EVENT_WARNING, NULL,
			  "autovacuum is still off on the partitions of %s: %s; run ALTER TABLE ... "
			  "%s on each of them",
			  parent, err.detail,
			  m->av_restore.data ? m->av_restore.data
					     : "RESET (autovacuum_enabled, toast.autovacuum_enabled)");
	json_decref(stmts);
	free(oids);
	PQclear(res);
	svc_error_clear(&err);
	return ok;
}

/*
 * After the cut-over: the partitions, now <t>'s, get the source's
 * autovacuum setting back. Not inside the cut-over's transaction, which
 * writers wait for, and not before it: autovacuum working on a partition
 * would hold up the cut-over's ACCESS EXCLUSIVE lock until it is cancelled
 * (deadlock_timeout), and the writers queued behind it. The cut-over
 * stands whatever happens here. False when it did not happen because the
 * job must stop (a shutdown) or lost its session (whose warning, the only
 * word of it, would be lost too): the next attempt finds the cut-over
 * committed and does it then.
 */
static bool mig_after_cut_over(struct job_ctx *ctx, const struct mig *m)
{
	struct svc_error err = {0};
	char display[2 * IDENT_MAX + 2];
	unsigned int oid = 0;
	bool ok;

	ident_format(&m->qn, display, sizeof(display));
	if (!rel_oid(job_conn(ctx), m->qn.schema, m->qn.table, &oid, &err))
		job_event(ctx, JOB_EVENT_WARNING, NULL,
			  "autovacuum is still off on the partitions of %s: %s", display,
			  err.detail);
	ok = oid && mig_autovacuum_back(ctx, m, oid, display);
	svc_error_clear(&err);
	if (!ok && PQstatus(job_conn(ctx)) != CONNECTION_OK)
		return false;
	return ok || !job_should_stop(ctx) || job_cancel_requested(ctx);
}

/*
 * The same for an attempt that finds its cut-over committed by an earlier
 * one: the source, now <t>_old, says what autovacuum setting to give back.
 */
static bool mig_resume_after_cut_over(struct job_ctx *ctx, struct mig *m)
{
	PGconn *conn = job_conn(ctx);
	struct svc_error err = {0};
	char why[256], oidtext[16];
	const char *p1[1] = {oidtext};
	unsigned int oid;

	if (!ident_parse_table(json_string_value(json_object_get(job_params(ctx), "table")), &m->qn,
			       why, sizeof(why)))
		return true;
	suffixed(m->old_name, m->qn.table, "_old");
	if (rel_oid(conn, m->qn.schema, m->old_name, &oid, &err)) {
		m->oid = oid;
		snprintf(oidtext, sizeof(oidtext), "%u", oid);
		if (!mig_storage(conn, m, p1, &err))
			strbuf_free(&m->av_restore); /* mig_autovacuum_back warns */
	}
	svc_error_clear(&err);
	return mig_after_cut_over(ctx, m);
}

/*
 * ANALYZE of the new table, its partitions and the parent (autovacuum
 * never analyzes a partitioned parent): without it the application's
 * first queries after the cut-over would be planned with no statistics.
 * It samples (default_statistics_target rows per partition), so it costs
 * seconds, not a pass over the table; run again after a crash, it only
 * samples again.
 *
 * Those seconds keep a core busy (3.5 s for 1.8M rows of the bench's
 * table). Under a rate limit it yields with the server-wide autovacuum
 * cost delay and limit (SET LOCAL, in a transaction of its own), as
 * autovacuum's ANALYZE would without per-table settings. On
 * the bench's writer, its p99 during back-to-back ANALYZEs was 3.6 ms
 * throttled so, against 4.1-5.4 ms at full speed (1.8-2.9 ms alone); the
 * ANALYZE took 4.9 s instead of 3.5.
 */
static bool mig_analyze(struct job_ctx *ctx, const struct mig *m, long max_rows_per_s,
			struct svc_error *err)
{
	PGconn *conn = job_conn(ctx);
	char *sql = NULL, delay[32] = "0", limit[32] = "";
	PGresult *res;
	double t0 = monotonic_ms(), took;
	bool in_xact = false, paced = false, ok = false;

	if (asprintf(&sql, "ANALYZE %s", m->new_qq) < 0)
		return svc_fail(err, SVC_INTERNAL, "out of memory");
	if (max_rows_per_s > 0) {
		/* Set for this transaction only: the worker's connection serves later jobs. */
		if (!(res = db_exec(conn, "BEGIN", 0, NULL, err)))
			goto done;
		PQclear(res);
		in_xact = true;
		if (!(res = db_exec(
			  conn,
			  "SELECT pg_catalog.set_config('vacuum_cost_delay', CASE "
			  "pg_catalog.current_setting('autovacuum_vacuum_cost_delay') WHEN '-1' "
			  "THEN pg_catalog.current_setting('vacuum_cost_delay') ELSE "
			  "pg_catalog.current_setting('autovacuum_vacuum_cost_delay') END, true), "
			  "pg_catalog.set_config('vacuum_cost_limit', CASE "
			  "pg_catalog.current_setting('autovacuum_vacuum_cost_limit') WHEN '-1' "
			  "THEN pg_catalog.current_setting('vacuum_cost_limit') ELSE "
			  "pg_catalog.current_setting('autovacuum_vacuum_cost_limit') END, true)",
			  0, NULL, err)))
			goto done;
		snprintf(delay, sizeof(delay), "%s", PQgetvalue(res, 0, 0));
		snprintf(limit, sizeof(limit), "%s", PQgetvalue(res, 0, 1));
		PQclear(res);
		paced = strcmp(delay, "0") != 0; /* a delay of 0 throttles nothing */
	}
	/* A paced ANALYZE of a big table runs for minutes: a cancel cuts it short. */
	if (!(res = job_exec(ctx, sql, 0, NULL, err)))
		goto done;
	PQclear(res);
	if (in_xact) {
		if (!(res = db_exec(conn, "COMMIT", 0, NULL, err)))
			goto done;
		PQclear(res);
		in_xact = false;
	}
	took = monotonic_ms() - t0;
	job_event(ctx, JOB_EVENT_INFO,
		  json_pack("{s:f, s:b, s:s?, s:s?}", "duration_ms", took, "paced", paced,
			    "cost_delay", paced ? delay : NULL, "cost_limit", paced ? limit : NULL),
		  "statistics of %s and its partitions gathered (ANALYZE, %.0f ms%s%s%s%s): the "
		  "application's first queries after the cut-over are planned with them",
		  m->new_name, took,
		  paced ? ", under the rate limit with the server's autovacuum cost delay " : "",
		  paced ? delay : "", paced ? " and limit " : "", paced ? limit : "");
	ok = true;
done:
	if (in_xact) {
		struct svc_error ignored = {0};
		PQclear(db_exec(conn, "ROLLBACK", 0, NULL, &ignored));
		svc_error_clear(&ignored);
	}
	free(sql);
	return ok;
}

static enum job_outcome mig_run(struct job_ctx *ctx)
{
	const json_t *params = job_params(ctx), *cp = job_checkpoint(ctx);
	const char *phase = cp ? json_string_value(json_object_get(cp, "phase")) : NULL;
	PGconn *conn = job_conn(ctx);
	struct svc_error err = {0};
	struct mig m;
	enum job_outcome outcome = JOB_DONE;
	json_t *bad = NULL, *stmts = NULL;
	long long copied = 0, rows = 0;
	char display[2 * IDENT_MAX + 2];

	if (!phase)
		phase = "prepare";
	if (cp && json_object_get(cp, "rows"))
		rows = json_integer_value(json_object_get(cp, "rows"));
	if (cp && json_object_get(cp, "copied"))
		copied = json_integer_value(json_object_get(cp, "copied"));
	if (strcmp(phase, "cut-over") == 0 && mig_cut_over_done(ctx, &err)) {
		/* An attempt died after its cut-over committed: the work is done. */
		job_event(ctx, JOB_EVENT_INFO, NULL, "the cut-over of an earlier attempt committed");
		memset(&m, 0, sizeof(m));
		if (!mig_resume_after_cut_over(ctx, &m)) {
			outcome = JOB_STOPPED;
			goto done;
		}
		job_set_result(ctx, json_pack("{s:O, s:I}", "table", json_object_get(params, "table"),
					      "rows", (json_int_t)rows));
		goto done;
	}
	/* Only prepare makes partitions: a resumed attempt does not read the range again. */
	if (!mig_plan(ctx, conn, json_string_value(json_object_get(params, "table")),
		      strcmp(phase, "prepare") == 0 ? RANGE_SCAN : RANGE_SKIP, &m, &err)) {
		if (strcmp(phase, "prepare") == 0 && job_should_stop(ctx)) {
			/* Stopped while reading the data's range: this attempt made nothing yet. */
			ident_format(&m.qn, display, sizeof(display));
			if (mig_row_ours(ctx, &m))
				goto stopped; /* an earlier attempt's prepare may have made _new */
			outcome = JOB_STOPPED;
			if (job_cancel_requested(ctx))
				job_event(ctx, JOB_EVENT_INFO, NULL,
					  "cancelled in prepare, while reading the data's first and last "
					  "day: nothing was made; %s is as it was",
					  display);
			goto done;
		}
		/* After prepare the plan sees _new: only the catalog's own errors stop us here. */
		if (err.code != SVC_UNPROCESSABLE || strcmp(phase, "prepare") == 0) {
			outcome = job_fail(ctx, err.code == SVC_UNAVAILABLE ? JOB_RETRY : JOB_FAILED,
					   err.sqlstate[0] ? err.sqlstate : NULL, "Migration failed",
					   "%s", err.detail);
			goto done;
		}
	}
	ident_format(&m.qn, display, sizeof(display));

	if (strcmp(phase, "prepare") == 0) {
		size_t nblock = json_array_size(m.blockers);
		json_t *plan = mig_plan_json(&m, params);
		bool resumed = false, ok = mig_claim_row(ctx, &m, params, plan, &resumed, &err);
		json_decref(plan);
		if (!ok)
			goto failed;
		/* An attempt that died after its prepare committed left _new: ours. */
		if (resumed && rel_exists(conn, m.qn.schema, m.new_name, &err)) {
			job_event(ctx, JOB_EVENT_INFO, NULL, "%s was made by an earlier attempt",
				  m.new_name);
			goto prepared;
		}
		if (nblock) {
			outcome = job_fail(ctx, JOB_FAILED, NULL, "Migration blocked",
					   "%zu blocker(s): %s", nblock,
					   json_string_value(json_array_get(m.blockers, 0)));
			goto done;
		}
		job_save(ctx, "prepare", 0, m.rows_estimate, "rows", NULL);
		if (!mig_ddl(ctx, &m, "create the partitioned table", m.ddl, &err))
			goto failed;
		job_event(ctx, JOB_EVENT_INFO, NULL, "created %s.%s with %zu partitions", m.qn.schema,
			  m.new_name, json_array_size(m.partitions));
prepared:
		phase = "dual-write";
		if (!job_save(ctx, "dual-write", 0, m.rows_estimate, "rows",
			      json_pack("{s:s}", "phase", phase)))
			goto stopped;
	}
	if (strcmp(phase, "dual-write") == 0) {
		unsigned int new_oid;
		mig_set_state(conn, &m, "copying", &err);
		stmts = json_array();
		if (!rel_oid(conn, m.qn.schema, m.new_name, &new_oid, &err) ||
		    !mig_trigger_stmts(conn, &m, m.t_q, m.new_q, true, new_oid, stmts,
				       &err) ||
		    !mig_ddl(ctx, &m, "create the dual-write trigger", stmts, &err))
			goto failed;
		job_event(ctx, JOB_EVENT_INFO, NULL,
			  "every INSERT, UPDATE and DELETE on %s now also applies to %s", display,
			  m.new_name);
		phase = "copy";
		if (!job_save(ctx, "copy", 0, m.rows_estimate, "rows",
			      json_pack("{s:s}", "phase", phase)))
			goto stopped;
		json_decref(stmts);
		stmts = NULL;
	}
	if (strcmp(phase, "copy") == 0) {
		struct mig_knobs_arg ka = {ctx, &m};
		struct copy_spec spec = {
			.source = m.source_qq,
			.target = m.new_qq,
			.columns = m.ins_cols.data,
			.key = m.new_key.data,
			.source_oid = m.oid,
			.parallel = mig_parallel(params),
			.rows_estimate = m.rows_estimate,
			.read_knobs = mig_copy_knobs,
			.arg = &ka,
		};
		enum copy_outcome co = copy_run(ctx, &spec,
						cp && json_object_get(cp, "done") ? cp : NULL,
						&copied, &err);

		if (co == COPY_STOPPED)
			goto stopped;
		if (co == COPY_FAILED)
			goto failed;
		job_event(ctx, JOB_EVENT_INFO, json_pack("{s:I}", "rows", (json_int_t)copied),
			  "copied %lld rows (rows the trigger wrote first are not counted)", copied);
		phase = "index";
		if (!job_save(ctx, "index", 0, (int64_t)json_array_size(m.deferred), "indexes",
			      json_pack("{s:s, s:I}", "phase", phase, "copied", (json_int_t)copied)))
			goto stopped;
	}
	if (strcmp(phase, "index") == 0) {
		struct mig_knobs knobs = {MIG_BATCH_ROWS_DEFAULT, 0};
		/* The rows copied, when the source was never analyzed (reltuples -1). */
		enum copy_outcome co =
		    mig_build_indexes(ctx, &m, mig_parallel(params),
				      copied > m.rows_estimate ? copied : m.rows_estimate, &err);
		if (co == COPY_STOPPED)
			goto stopped;
		if (co == COPY_FAILED)
			goto failed;
		if (json_array_size(m.deferred))
			job_event(ctx, JOB_EVENT_INFO, NULL, "%zu index(es) of %s built and attached",
				  json_array_size(m.deferred), m.new_name);
		if (!mig_read_knobs(conn, &m, &knobs, &err) ||
		    !mig_analyze(ctx, &m, knobs.max_rows_per_s, &err)) {
			if (job_should_stop(ctx))
				goto stopped;
			goto failed;
		}
		phase = "validate";
		if (!job_save(ctx, "validate", 0, 2 * m.rows_estimate, "rows",
			      json_pack("{s:s, s:I}", "phase", phase, "copied", (json_int_t)copied)))
			goto stopped;
	}
	if (strcmp(phase, "validate") == 0) {
		struct mig_knobs_arg ka = {ctx, &m};
		struct copy_verify_spec spec = {0};
		enum copy_outcome co = COPY_FAILED;

		if (job_should_stop(ctx))
			goto stopped;
		mig_set_state(conn, &m, "validating", &err);
		if (cp && json_object_get(cp, "attempt_started") &&
		    json_integer_value(json_object_get(cp, "attempt_started")) != job_attempt(ctx))
			job_event(ctx, JOB_EVENT_INFO, NULL,
				  "validation starts again: it reads both tables in one snapshot, "
				  "which ended with the earlier attempt; the copy is not redone");
		if (!job_save(ctx, "validate", 0, 2 * m.rows_estimate, "rows",
			      json_pack("{s:s, s:I, s:i}", "phase", phase, "copied",
					(json_int_t)copied, "attempt_started", job_attempt(ctx))))
			goto stopped;
		if (rel_oid(conn, m.qn.schema, m.new_name, &spec.target_oid, &err)) {
			spec.source = m.source_qq;
			spec.target = m.new_qq;
			spec.source_oid = m.oid;
			spec.columns = m.cols.data;
			spec.column = m.col_q;
			spec.binary_hash = mig_binary_hash(job_conn(ctx), &m);
			spec.parallel = mig_parallel(params);
			spec.rows_estimate = m.rows_estimate;
			job_event(ctx, JOB_EVENT_INFO, json_pack("{s:s}", "row_hash",
								 spec.binary_hash ? "hash_record_extended"
										  : "md5"),
				  "validating: per month, the row count and the sum of a 64-bit hash "
				  "of every row (%s), old against new",
				  spec.binary_hash ? "hash_record_extended of the row"
						   : "md5 of the row's text: a column's type has no "
						     "hash that agrees with its equality");
			spec.read_knobs = mig_copy_knobs;
			spec.arg = &ka;
			co = copy_verify(ctx, &spec, &bad, &rows, &err);
		}
		if (co == COPY_STOPPED)
			goto stopped;
		if (co == COPY_FAILED)
			goto failed;
		if (json_array_size(bad)) {
			/* Left in place for inspection, and vacuumed as the source is. */
			mig_autovacuum_back(ctx, &m, spec.target_oid, m.new_name);
			mig_set_state(conn, &m, "failed", &err);
			job_set_result(ctx, json_pack("{s:O}", "months_differing", bad));
			outcome = job_fail(ctx, JOB_FAILED, NULL, "Validation failed",
					   "row counts or checksums differ in %zu month(s), first %s; "
					   "everything is left in place for inspection",
					   json_array_size(bad), json_string_value(json_array_get(bad, 0)));
			goto done;
		}
		job_event(ctx, JOB_EVENT_INFO, json_pack("{s:I}", "rows", (json_int_t)rows),
			  "old and new agree: %lld rows, every month's count and checksum", rows);
		phase = "cut-over";
		if (!job_save(ctx, "cut-over", rows, rows, "rows",
			      json_pack("{s:s, s:I}", "phase", phase, "rows", (json_int_t)rows)))
			goto stopped;
	}
	if (strcmp(phase, "cut-over") == 0) {
		if (job_should_stop(ctx))
			goto stopped;
		mig_set_state(conn, &m, "cutting_over", &err);
		stmts = json_array();
		/* Writes to the new table flow back so the old one stays a complete copy. */
		/* The state commits with the swap: a crash cannot leave them apart. */
		if (!mig_swap_stmts(conn, &m, m.new_q, m.old_q, false, stmts, &err) ||
		    !mig_state_stmt(conn, &m,
				    "state = 'cut_over', cut_over_at = now(), rollback_deadline = "
				    "now() + rollback_window",
				    stmts, &err))
			goto failed;
		if (!mig_ddl(ctx, &m, "cut-over", stmts, &err))
			goto failed;
		/* From here on the migration cannot be cancelled, only rolled back. */
		tables_cache_forget(display);
		job_event(ctx, JOB_EVENT_INFO, NULL,
			  "cut over: %s is partitioned; %s is kept in sync for the rollback window",
			  display, m.old_name);
		if (!mig_after_cut_over(ctx, &m)) {
			outcome = JOB_STOPPED; /* a shutdown or a lost session: the next attempt
						  finishes it */
			goto done;
		}
		job_set_result(ctx, json_pack("{s:s, s:s, s:s, s:I, s:i}", "table", display,
					      "old_table", m.old_name, "view", m.view_name, "rows",
					      (json_int_t)rows, "partitions",
					      mig_partition_count(conn, &m)));
	}
	goto done;
failed:
	/* A cancel that cut a lock wait short is a cancel, not a failure. */
	if (job_cancel_requested(ctx))
		goto stopped;
	outcome = job_fail(ctx, err.code == SVC_UNAVAILABLE || ddl_retryable(err.sqlstate)
					? JOB_RETRY
					: JOB_FAILED,
			   err.sqlstate[0] ? err.sqlstate : NULL, "Migration failed", "%s: %s", phase,
			   err.detail);
	goto done;
stopped:
	outcome = JOB_STOPPED;
	if (job_cancel_requested(ctx)) {
		svc_error_clear(&err);
		if (mig_cleanup(ctx, &m, &err))
			job_event(ctx, JOB_EVENT_INFO, NULL,
				  "cancelled in %s: the trigger and %s were dropped; %s is as it was",
				  phase, m.new_name, display);
		else
			job_event(ctx, JOB_EVENT_ERROR, NULL, "cleaning up after cancel failed: %s",
				  err.detail);
	}
done:
	json_decref(bad);
	json_decref(stmts);
	mig_free(&m);
	svc_error_clear(&err);
	return outcome;
}

/* ---- rollback and finalize --------------------------------------------- */

/* Reads the migration row; SVC_NOT_FOUND when the table has none. */
static PGresult *mig_row(PGconn *conn, const struct qualified_name *qn, struct svc_error *err)
{
	const char *p[2] = {qn->schema, qn->table};
	PGresult *res = db_exec(conn, sql_migration_get, 2, p, err);

	if (res && PQntuples(res) == 0) {
		PQclear(res);
		svc_fail(err, SVC_NOT_FOUND, "%s.%s has no migration", qn->schema, qn->table);
		return NULL;
	}
	return res;
}

/* Fills the names a rollback or finalize needs from the migration row. */
static bool mig_from_row(PGconn *conn, const PGresult *row, const struct qualified_name *qn,
			 struct mig *m, struct svc_error *err)
{
	json_t *plan = json_loads(db_get(row, 0, "plan"), 0, NULL);
	size_t i;
	json_t *k;

	memset(m, 0, sizeof(*m));
	m->qn = *qn;
	snprintf(m->new_name, sizeof(m->new_name), "%s", db_get(row, 0, "new_name"));
	snprintf(m->old_name, sizeof(m->old_name), "%s", db_get(row, 0, "old_name"));
	snprintf(m->view_name, sizeof(m->view_name), "%s", db_get(row, 0, "view_name"));
	snprintf(m->trigger, sizeof(m->trigger), "%s", db_get(row, 0, "trigger_name"));
	snprintf(m->function, sizeof(m->function), "%s", db_get(row, 0, "function_name"));
	snprintf(m->pol.column, sizeof(m->pol.column), "%s",
		 json_string_value(json_object_get(plan, "partition_column")));
	m->key_names = json_incref(json_object_get(plan, "key"));
	json_array_foreach(m->key_names, i, k) {
		char *q = db_ident(conn, json_string_value(k));
		strbuf_printf(&m->key, "%s%s", m->key.len ? ", " : "", q);
		PQfreemem(q);
	}
	quoted_list(conn, m->key_names, m->pol.column, &m->new_key);
	json_decref(plan);
	/* The insertable columns, for the trigger functions. */
	{
		PGresult *res;
		if (!rel_oid(conn, qn->schema, qn->table, &m->oid, err))
			return false;
		{
			char oidtext[16];
			const char *p1[1] = {oidtext};
			snprintf(oidtext, sizeof(oidtext), "%u", m->oid);
			if (!(res = db_exec(conn, sql_table_columns, 1, p1, err)))
				return false;
			strbuf_puts(&m->ins_cols, PQgetvalue(res, 0, 0));
			PQclear(res);
		}
	}
	return mig_quote_names(conn, m);
}

static enum job_outcome mig_after_run(struct job_ctx *ctx, bool rollback)
{
	const json_t *params = job_params(ctx);
	PGconn *conn = job_conn(ctx);
	struct qualified_name qn;
	struct svc_error err = {0};
	struct mig m = {0};
	PGresult *row = NULL;
	json_t *stmts = json_array();
	enum job_outcome outcome = JOB_DONE;
	char why[256], display[2 * IDENT_MAX + 2];
	const char *state;

	if (!ident_parse_table(json_string_value(json_object_get(params, "table")), &qn, why,
			       sizeof(why)) ||
	    !(row = mig_row(conn, &qn, &err)) || !mig_from_row(conn, row, &qn, &m, &err)) {
		outcome = job_fail(ctx, JOB_FAILED, NULL, "Cannot read the migration", "%s",
				   err.detail[0] ? err.detail : why);
		goto done;
	}
	ident_format(&qn, display, sizeof(display));
	state = db_get(row, 0, "state");
	job_save(ctx, rollback ? "rollback" : "finalize", 0, 1, "steps", NULL);
	if (job_attempt(ctx) > 1 && strcmp(state, rollback ? "rolled_back" : "finalized") == 0) {
		/* An earlier attempt committed, and lost its session before it could say so. */
		job_event(ctx, JOB_EVENT_INFO, NULL, "%s by an earlier attempt of this job",
			  rollback ? "rolled back" : "finalized");
	} else if (rollback) {
		if (strcmp(state, "cut_over") != 0) {
			outcome = job_fail(ctx, JOB_FAILED, NULL, "Nothing to roll back",
					   "the migration of %s is %s, not cut over", display, state);
			goto done;
		}
		/* Swap back; the partitioned table, renamed <t>_new, stays in sync. */
		if (!mig_swap_stmts(conn, &m, m.old_q, m.new_q, true, stmts, &err) ||
		    !mig_state_stmt(conn, &m, "state = 'rolled_back'", stmts, &err))
			goto failed;
		if (!mig_ddl(ctx, &m, "rollback", stmts, &err))
			goto failed;
		job_event(ctx, JOB_EVENT_INFO, NULL,
			  "rolled back: %s is the original table again; the partitioned one is %s, "
			  "kept in sync until finalize",
			  display, m.new_name);
	} else {
		bool cut = strcmp(state, "cut_over") == 0;
		if (!cut && strcmp(state, "rolled_back") != 0) {
			outcome = job_fail(ctx, JOB_FAILED, NULL, "Nothing to finalize",
					   "the migration of %s is %s", display, state);
			goto done;
		}
		json_array_append_new(stmts, json_sprintf("DROP TRIGGER IF EXISTS %s ON %s.%s",
							  m.trig_q, m.s_q, m.t_q));
		json_array_append_new(stmts, json_sprintf("DROP FUNCTION IF EXISTS %s.%s()", m.s_q,
							  m.func_q));
		json_array_append_new(stmts, json_sprintf("DROP TABLE %s.%s", m.s_q,
							  cut ? m.old_q : m.new_q));
		if (!mig_state_stmt(conn, &m, "state = 'finalized'", stmts, &err))
			goto failed;
		if (!mig_ddl(ctx, &m, "finalize", stmts, &err))
			goto failed;
		job_event(ctx, JOB_EVENT_INFO, NULL, "finalized: %s and the sync trigger dropped",
			  cut ? m.old_name : m.new_name);
	}
	tables_cache_forget(display);
	job_set_result(ctx, json_pack("{s:s, s:s}", "table", display, "state",
				      rollback ? "rolled_back" : "finalized"));
	goto done;
failed:
	/*
	 * A lost session is retried (worker.c): the state, committed with the
	 * DDL or not, tells the retry which it was.
	 */
	outcome = job_fail(ctx, ddl_retryable(err.sqlstate) ? JOB_RETRY : JOB_FAILED,
			   err.sqlstate[0] ? err.sqlstate : NULL,
			   rollback ? "Rollback failed" : "Finalize failed", "%s", err.detail);
done:
	PQclear(row);
	json_decref(stmts);
	mig_free(&m);
	svc_error_clear(&err);
	return outcome;
}

static enum job_outcome mig_rollback_run(struct job_ctx *ctx)
{
	return mig_after_run(ctx, true);
}

static enum job_outcome mig_finalize_run(struct job_ctx *ctx)
{
	return mig_after_run(ctx, false);
}

const struct job_kind migration_run_kind = {
	.name = "migration.run",
	.max_attempts = 5,
	.validate = mig_validate_params,
	.run = mig_run,
};

const struct job_kind migration_rollback_kind = {
	.name = "migration.rollback",
	.max_attempts = 5,
	.validate = mig_validate_params,
	.run = mig_rollback_run,
};

const struct job_kind migration_finalize_kind = {
	.name = "migration.finalize",
	.max_attempts = 5,
	.validate = mig_validate_params,
	.run = mig_finalize_run,
};

/* ---- the service face ------------------------------------------------------ */

static PGconn *mig_borrow(struct pool *pool, struct svc_error *err)
{
	char why[400];
	PGconn *conn = pool_borrow(pool, why, sizeof(why));

	if (!conn)
		svc_fail(err, SVC_UNAVAILABLE, "the database is not available: %s", why);
	return conn;
}

/* Checks the knobs of a request body; false names the field. */
static bool mig_knobs_valid(const json_t *body, bool allow_start, struct svc_error *err)
{
	const char *key;
	json_t *v;
	int months, days;

	json_object_foreach((json_t *)body, key, v) {
		if (!strcmp(key, "batch_rows")) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > 1000000)
				return svc_field(err, key, "batch_rows must be a whole number from 1 to "
							   "1000000");
		} else if (!strcmp(key, "max_rows_per_s")) {
			if (!json_is_null(v) && (!json_is_integer(v) || json_integer_value(v) < 1 ||
						 json_integer_value(v) > 2147483647))
				return svc_field(err, key, "max_rows_per_s must be a whole number from 1 "
							   "to 2147483647, or null for no limit");
		} else if (allow_start && !strcmp(key, "parallel")) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > COPY_PARALLEL_MAX)
				return svc_field(err, key,
						 "parallel must be a whole number from 1 to %d: the "
						 "connections the copy uses at once",
						 COPY_PARALLEL_MAX);
		} else if (allow_start && !strcmp(key, "rollback_window")) {
			if (!json_is_string(v) || !calendar_parse_age(json_string_value(v), &months, &days))
				return svc_field(err, key, "rollback_window must be an age like \"30 days\"");
		} else if (!(allow_start && !strcmp(key, "dry_run"))) {
			return svc_field(err, key,
					 allow_start ? "unknown field '%.64s'; expected dry_run, "
						       "batch_rows, max_rows_per_s, parallel, rollback_window"
						     : "unknown field '%.64s'; expected batch_rows, "
						       "max_rows_per_s",
					 key);
		}
	}
	return true;
}

json_t *migration_start(struct pool *pool, const char *name, const json_t *body, const char *by,
			const char *idempotency_key, bool *dry_run, bool *replayed,
			struct svc_error *err)
{
	const json_t *dry = json_object_get(body, "dry_run");
	struct job_request rq = {0};
	struct mig m;
	json_t *params, *out = NULL;
	PGconn *conn;
	bool ok;

	*dry_run = false;
	if (dry && !json_is_boolean(dry))
		return svc_field(err, "dry_run", "dry_run must be true or false"), NULL;
	if (!mig_knobs_valid(body, true, err) || !(conn = mig_borrow(pool, err)))
		return NULL;
	ok = mig_plan(NULL, conn, name, RANGE_BUDGET, &m, err);
	pool_return(pool, conn);
	if (!ok) {
		mig_free(&m);
		return NULL;
	}
	params = json_deep_copy(body);
	json_object_del(params, "dry_run");
	{
		char display[2 * IDENT_MAX + 2];
		ident_format(&m.qn, display, sizeof(display));
		json_object_set_new(params, "table", json_string(display));
	}
	if (json_is_true(dry)) {
		*dry_run = true;
		out = mig_plan_json(&m, params);
	} else if (json_array_size(m.blockers)) {
		svc_fail(err, SVC_UNPROCESSABLE, "%zu blocker(s) stop this migration; first: %s",
			 json_array_size(m.blockers),
			 json_string_value(json_array_get(m.blockers, 0)));
		err->extra = json_pack("{s:O}", "blockers", m.blockers);
	} else {
		rq.kind = migration_run_kind.name;
		rq.params = params;
		rq.created_by = by;
		rq.idempotency_key = idempotency_key;
		out = jobs_enqueue(pool, &rq, replayed, err);
	}
	json_decref(params);
	mig_free(&m);
	return out;
}

static json_t *mig_row_json(const PGresult *res)
{
	json_t *o = json_object();
	int c;

	for (c = 0; c < PQnfields(res); c++) {
		const char *name = PQfname(res, c), *v = PQgetisnull(res, 0, c) ? NULL : PQgetvalue(res, 0, c);
		if (!strcmp(name, "plan"))
			json_object_set_new(o, name, v ? json_loads(v, 0, NULL) : json_null());
		else if (!strcmp(name, "job_id") || !strcmp(name, "batch_rows") ||
			 !strcmp(name, "max_rows_per_s"))
			json_object_set_new(o, name, v ? json_integer(atoll(v)) : json_null());
		else if (!strcmp(name, "window_over"))
			json_object_set_new(o, name, json_boolean(v && v[0] == 't'));
		else if (v && strstr(name, "_at") == name + strlen(name) - 3) {
			char ts[64];
			db_timestamp_rfc3339(v, ts, sizeof(ts));
			json_object_set_new(o, name, json_string(ts));
		} else if (!strcmp(name, "rollback_deadline") && v) {
			char ts[64];
			db_timestamp_rfc3339(v, ts, sizeof(ts));
			json_object_set_new(o, name, json_string(ts));
		} else {
			json_object_set_new(o, name, v ? json_string(v) : json_null());
		}
	}
	return o;
}

json_t *migration_get(struct pool *pool, const char *name, struct svc_error *err)
{
	struct qualified_name qn;
	char why[256];
	PGresult *res;
	PGconn *conn;
	json_t *out = NULL;

	if (!ident_parse_table(name, &qn, why, sizeof(why)))
		return svc_fail(err, SVC_NOT_FOUND, "%s", why), NULL;
	if (!(conn = mig_borrow(pool, err)))
		return NULL;
	if ((res = mig_row(conn, &qn, err)) != NULL)
		out = mig_row_json(res);
	PQclear(res);
	pool_return(pool, conn);
	return out;
}

json_t *migration_tune(struct pool *pool, const char *name, const json_t *body,
		       struct svc_error *err)
{
	const json_t *b = json_object_get(body, "batch_rows"), *r = json_object_get(body, "max_rows_per_s");
	struct qualified_name qn;
	char why[256], batch[24], rate[24];
	const char *p[5];
	PGresult *res;
	PGconn *conn;
	json_t *out = NULL;

	if (!ident_parse_table(name, &qn, why, sizeof(why)))
		return svc_fail(err, SVC_NOT_FOUND, "%s", why), NULL;
	if (!mig_knobs_valid(body, false, err))
		return NULL;
	if (!b && !r)
		return svc_field(err, "batch_rows", "give batch_rows and/or max_rows_per_s"), NULL;
	snprintf(batch, sizeof(batch), "%lld", (long long)json_integer_value(b));
	snprintf(rate, sizeof(rate), "%lld", (long long)json_integer_value(r));
	p[0] = qn.schema;
	p[1] = qn.table;
	p[2] = b ? batch : NULL;
	p[3] = r ? "t" : "f";
	p[4] = r && !json_is_null(r) ? rate : NULL;
	if (!(conn = mig_borrow(pool, err)))
		return NULL;
	res = db_exec(conn,
		      "UPDATE partd.migrations SET batch_rows = coalesce($3::integer, batch_rows), "
		      "max_rows_per_s = CASE WHEN $4::boolean THEN $5::integer ELSE max_rows_per_s END, "
		      "updated_at = now() WHERE schema_name = $1 AND table_name = $2 "
		      "AND state IN ('preparing', 'copying', 'validating', 'cutting_over') RETURNING 1",
		      5, p, err);
	if (res && PQntuples(res) == 0)
		svc_fail(err, SVC_CONFLICT, "%s.%s has no migration under way to tune", qn.schema,
			 qn.table);
	else if (res) {
		PQclear(res);
		res = mig_row(conn, &qn, err);
		out = res ? mig_row_json(res) : NULL;
	}
	PQclear(res);
	pool_return(pool, conn);
	return out;
}

json_t *migration_after(struct pool *pool, const char *name, const char *kind,
			const json_t *body, const char *by, const char *idempotency_key,
			bool *replayed, struct svc_error *err)
{
	const json_t *force = json_object_get(body, "force");
	bool finalize = strcmp(kind, migration_finalize_kind.name) == 0;
	struct job_request rq = {0};
	struct qualified_name qn;
	char why[256], display[2 * IDENT_MAX + 2];
	const char *key, *state;
	json_t *v, *params, *job = NULL;
	PGresult *row;
	PGconn *conn;

	json_object_foreach((json_t *)body, key, v) {
		if (!finalize || strcmp(key, "force"))
			return svc_field(err, key, finalize ? "unknown field '%.64s'; expected force"
							    : "unknown field '%.64s'; rollback takes no body",
					 key),
			       NULL;
	}
	if (force && !json_is_boolean(force))
		return svc_field(err, "force", "force must be true or false"), NULL;
	if (!ident_parse_table(name, &qn, why, sizeof(why)))
		return svc_fail(err, SVC_NOT_FOUND, "%s", why), NULL;
	if (!(conn = mig_borrow(pool, err)))
		return NULL;
	row = mig_row(conn, &qn, err);
	pool_return(pool, conn);
	if (!row)
		return NULL;
	ident_format(&qn, display, sizeof(display));
	state = db_get(row, 0, "state");
	if (!finalize && strcmp(state, "cut_over") != 0) {
		svc_fail(err, SVC_CONFLICT, "the migration of %s is %s; only a cut-over one rolls back",
			 display, state);
	} else if (finalize && strcmp(state, "cut_over") && strcmp(state, "rolled_back")) {
		svc_fail(err, SVC_CONFLICT, "the migration of %s is %s; finalize follows a cut-over or "
					    "a rollback",
			 display, state);
	} else if (finalize && !strcmp(state, "cut_over") && !db_get_bool(row, 0, "window_over") &&
		   !json_is_true(force)) {
		char ts[64];
		db_timestamp_rfc3339(db_get(row, 0, "rollback_deadline"), ts, sizeof(ts));
		svc_fail(err, SVC_CONFLICT,
			 "the rollback window of %s lasts until %s; finalizing now drops %s, the only "
			 "way back: send {\"force\":true} to do it anyway",
			 display, ts, db_get(row, 0, "old_name"));
	} else {
		params = json_pack("{s:s}", "table", display);
		rq.kind = kind;
		rq.params = params;
		rq.created_by = by;
		rq.idempotency_key = idempotency_key;
		job = jobs_enqueue(pool, &rq, replayed, err);
		json_decref(params);
	}
	PQclear(row);
	return job;
}
