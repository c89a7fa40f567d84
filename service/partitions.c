#include "partitions.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bound.h"
#include "calendar.h"
#include "db.h"
#include "ddl.h"
#include "embed.h"
#include "ident.h"
#include "jobs.h"
#include "strbuf.h"
#include "tables.h"

#define MAX_RANGES 1200

static bool pc_validate(const json_t *params, json_t **out, char *table, size_t tablelen,
			struct svc_error *err)
{
	const json_t *t = json_object_get(params, "table"), *ahead = json_object_get(params, "ahead");
	const json_t *from = json_object_get(params, "from"), *to = json_object_get(params, "to");
	const json_t *batch = json_object_get(params, "batch_rows");
	struct qualified_name qn;
	const char *key;
	json_t *value;
	char why[256];
	long f, e;

	json_object_foreach((json_t *)params, key, value) {
		if (strcmp(key, "table") && strcmp(key, "ahead") && strcmp(key, "from") &&
		    strcmp(key, "to") && strcmp(key, "batch_rows"))
			return svc_field(err, key,
					 "unknown field '%.64s'; expected ahead, or from and to, and "
					 "optionally batch_rows",
					 key);
	}
	if (!json_is_string(t) || !ident_parse_table(json_string_value(t), &qn, why, sizeof(why)))
		return svc_field(err, "table", "table: %s", json_is_string(t) ? why : "is required");
	if (ahead && (from || to))
		return svc_field(err, "ahead", "give either ahead or from and to, not both");
	if (ahead && (!json_is_integer(ahead) || json_integer_value(ahead) < 1 ||
		      json_integer_value(ahead) > 120))
		return svc_field(err, "ahead", "ahead must be a whole number of intervals from 1 to 120");
	if (!ahead && !from && !to)
		return svc_field(err, "ahead", "give ahead (intervals after the current one) or from and to");
	if ((from && !to) || (to && !from))
		return svc_field(err, from ? "to" : "from", "from and to go together");
	if (from && (!json_is_string(from) || !calendar_parse_date(json_string_value(from), &f)))
		return svc_field(err, "from", "from must be a date, YYYY-MM-DD");
	if (to && (!json_is_string(to) || !calendar_parse_date(json_string_value(to), &e)))
		return svc_field(err, "to", "to must be a date, YYYY-MM-DD");
	if (from && e <= f)
		return svc_field(err, "to", "to must be after from (the range is [from, to))");
	if (from && e - f > 366L * 100)
		return svc_field(err, "to", "from and to may span at most 100 years");
	if (batch && (!json_is_integer(batch) || json_integer_value(batch) < 1 ||
		      json_integer_value(batch) > 1000000))
		return svc_field(err, "batch_rows", "batch_rows must be a whole number from 1 to 1000000");
	ident_format(&qn, table, tablelen);
	*out = json_deep_copy(params);
	json_object_set_new(*out, "table", json_string(table));
	if (!batch)
		json_object_set_new(*out, "batch_rows", json_integer(5000));
	return true;
}

struct pc_run {
	struct job_ctx *ctx;
	PGconn *conn;
	struct qualified_name qn;
	struct table_policy pol;
	unsigned int oid;
	char *schema_q, *parent_q, *column_q; /* escaped identifiers */
	char *default_q;                      /* NULL without a default partition */
	char *with; /* " WITH (...)" of the newest partition's storage parameters, or "" */
	unsigned int default_oid;
	char columns[8192];                   /* insertable column list, quoted */
	json_int_t batch_rows;
	json_t *cp;                           /* checkpoint being built */
};

/* Runs one statement; true on success. */
static bool pc_exec(struct pc_run *r, const char *sql, int n, const char *const *params,
		    PGresult **out, struct svc_error *err)
{
	PGresult *res = db_exec(r->conn, sql, n, params, err);

	if (out)
		*out = res;
	else
		PQclear(res);
	return res != NULL;
}

/* The job's DDL: one transaction under lock_timeout, retried (service/ddl.c). */
static bool pc_ddl(struct pc_run *r, const char *what, const char *const *stmts, int n,
		   struct svc_error *err)
{
	const unsigned int oids[2] = {r->oid, r->default_oid};

	return ddl_transaction(r->ctx, what, stmts, (size_t)n, oids, r->default_oid ? 2 : 1, err);
}

static char *literal(PGconn *conn, long day)
{
	char d[16];

	calendar_format(day, d, sizeof(d));
	return PQescapeLiteral(conn, d, strlen(d));
}

/* Moves rows of [a, b) from the default partition into part_q, in batches. */
static bool pc_move_batches(struct pc_run *r, const char *part_q, const char *lo, const char *hi,
			    long long *moved, struct svc_error *err)
{
	char *sql = NULL;
	PGresult *res;
	long long n;

	if (asprintf(&sql,
		     "WITH moved AS (DELETE FROM %s.%s WHERE ctid = ANY (ARRAY(SELECT ctid FROM %s.%s "
		     "WHERE %s >= %s AND %s < %s LIMIT %lld)) RETURNING %s) "
		     "INSERT INTO %s.%s (%s) SELECT %s FROM moved",
		     r->schema_q, r->default_q, r->schema_q, r->default_q, r->column_q, lo, r->column_q,
		     hi, (long long)r->batch_rows, r->columns, r->schema_q, part_q, r->columns,
		     r->columns) < 0)
		return svc_fail(err, SVC_INTERNAL, "out of memory");
	do {
		if (job_should_stop(r->ctx)) {
			free(sql);
			return svc_fail(err, SVC_INTERNAL, "stopped");
		}
		if (!pc_exec(r, sql, 0, NULL, &res, err)) {
			free(sql);
			return false;
		}
		n = strtoll(PQcmdTuples(res), NULL, 10);
		PQclear(res);
		*moved += n;
		if (n > 0)
			job_save(r->ctx, "moving default rows", *moved, -1, "rows", NULL);
	} while (n == r->batch_rows);
	free(sql);
	return true;
}

/*
 * Undoes a partition made but not attached (a cancelled job will not come
 * back to attach it): its rows go back through the parent (into the
 * default partition, where they were) and the table is dropped, in one
 * transaction. Nothing happens unless name is a table partd made that is
 * not a partition.
 */
static bool pc_unstage(struct pc_run *r, const char *name, struct svc_error *err)
{
	const char *params[2] = {r->qn.schema, name};
	char *part_q = NULL, *back = NULL, *drop = NULL;
	const char *stmts[2];
	PGresult *res;
	bool ok = true;

	if (!pc_exec(r, sql_relation_state, 2, params, &res, err))
		return false;
	if (PQntuples(res) == 1 && !db_get_bool(res, 0, "relispartition") &&
	    db_get_bool(res, 0, "partd_made")) {
		part_q = db_ident(r->conn, name);
		if (!part_q ||
		    asprintf(&back,
			     "WITH moved AS (DELETE FROM %s.%s RETURNING %s) INSERT INTO %s.%s (%s) "
			     "SELECT %s FROM moved",
			     r->schema_q, part_q, r->columns, r->schema_q, r->parent_q, r->columns,
			     r->columns) < 0 ||
		    asprintf(&drop, "DROP TABLE %s.%s", r->schema_q, part_q) < 0) {
			PQclear(res);
			PQfreemem(part_q);
			return svc_fail(err, SVC_INTERNAL, "out of memory");
		}
		stmts[0] = back;
		stmts[1] = drop;
		{
			const unsigned int oids[2] = {r->oid, r->default_oid};
			ok = ddl_cleanup_transaction(r->ctx, "undo unattached partition", stmts, 2,
						     oids, r->default_oid ? 2 : 1, err);
		}
		if (ok)
			job_event(r->ctx, JOB_EVENT_INFO, NULL,
				  "cancelled: %s was not attached yet; its rows went back to the "
				  "default partition and it was dropped",
				  name);
	}
	PQclear(res);
	PQfreemem(part_q);
	free(back);
	free(drop);
	return ok;
}

enum pc_result { PC_CREATED, PC_CONFLICT, PC_FAILED, PC_STOPPED };

/*
 * Makes the partition for [a, b). why says what happened on a conflict or
 * failure; *retryable (unless NULL), whether that failure was a lock
 * time-out or a deadlock that a later attempt may get past.
 */
static enum pc_result pc_make(struct pc_run *r, long a, long b, char *name, size_t namelen,
			      long long *moved, bool *retryable, char *why, size_t whylen)
{
	const char *params[2] = {r->qn.schema, name};
	struct svc_error err = {0};
	char *part_q = NULL, *lo = literal(r->conn, a), *hi = literal(r->conn, b);
	char *create = NULL, *check = NULL, *move = NULL, *attach = NULL, *lock = NULL;
	enum pc_result result = PC_FAILED;
	bool staged = false;
	PGresult *res = NULL;

	interval_partition_name(r->pol.interval, r->qn.table, a, name, namelen);
	part_q = db_ident(r->conn, name);
	if (!part_q || !lo || !hi) {
		snprintf(why, whylen, "out of memory");
		goto done;
	}
	if (!pc_exec(r, sql_relation_state, 2, params, &res, &err))
		goto failed;
	if (PQntuples(res) == 1) {
		/* A table of that name: ours from an attempt that stopped before ATTACH, or not ours. */
		if (db_get_bool(res, 0, "relispartition") || !db_get_bool(res, 0, "partd_made")) {
			snprintf(why, whylen, "%s.%s already exists and is not a partition partd is making",
				 r->qn.schema, name);
			result = PC_CONFLICT;
			goto done;
		}
		staged = true;
	}
	if (!staged && !r->default_q) {
		/* Nothing to move: make, constrain and attach in one short transaction. */
		const char *stmts[3];
		if (asprintf(&create,
			     "CREATE TABLE %s.%s (LIKE %s.%s INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
			     "INCLUDING STORAGE INCLUDING COMMENTS INCLUDING GENERATED)%s",
			     r->schema_q, part_q, r->schema_q, r->parent_q, r->with) < 0 ||
		    asprintf(&check,
			     "ALTER TABLE %s.%s ADD CONSTRAINT partd_bounds CHECK (%s IS NOT NULL AND "
			     "%s >= %s AND %s < %s)",
			     r->schema_q, part_q, r->column_q, r->column_q, lo, r->column_q, hi) < 0 ||
		    asprintf(&attach,
			     "ALTER TABLE %s.%s ATTACH PARTITION %s.%s FOR VALUES FROM (%s) TO (%s)",
			     r->schema_q, r->parent_q, r->schema_q, part_q, lo, hi) < 0) {
			create = check = attach = NULL;
			snprintf(why, whylen, "out of memory");
			goto done;
		}
		stmts[0] = create;
		stmts[1] = check;
		stmts[2] = attach;
		if (!pc_ddl(r, "create and attach partition", stmts, 3, &err))
			goto failed;
		result = PC_CREATED;
		goto done;
	}
	if (!staged) {
		const char *stmts[2];
		if (asprintf(&create,
			     "CREATE TABLE %s.%s (LIKE %s.%s INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
			     "INCLUDING STORAGE INCLUDING COMMENTS INCLUDING GENERATED)%s",
			     r->schema_q, part_q, r->schema_q, r->parent_q, r->with) < 0 ||
		    asprintf(&check,
			     "ALTER TABLE %s.%s ADD CONSTRAINT partd_bounds CHECK (%s IS NOT NULL AND "
			     "%s >= %s AND %s < %s)",
			     r->schema_q, part_q, r->column_q, r->column_q, lo, r->column_q, hi) < 0) {
			create = check = NULL;
			snprintf(why, whylen, "out of memory");
			goto done;
		}
		stmts[0] = create;
		stmts[1] = check;
		if (!pc_ddl(r, "create table", stmts, 2, &err))
			goto failed;
	}
	if (r->default_q && !pc_move_batches(r, part_q, lo, hi, moved, &err)) {
		if (job_should_stop(r->ctx)) {
			result = PC_STOPPED;
			goto done;
		}
		goto failed;
	}
	if (job_should_stop(r->ctx)) {
		result = PC_STOPPED;
		goto done;
	}
	{
		/* The last rows that reached the default meanwhile move under its lock, then ATTACH. */
		const char *stmts[3];
		int n = 0;
		if (r->default_q) {
			if (asprintf(&lock, "LOCK TABLE %s.%s IN ACCESS EXCLUSIVE MODE", r->schema_q,
				     r->default_q) < 0 ||
			    asprintf(&move,
				     "WITH moved AS (DELETE FROM %s.%s WHERE %s >= %s AND %s < %s "
				     "RETURNING %s) INSERT INTO %s.%s (%s) SELECT %s FROM moved",
				     r->schema_q, r->default_q, r->column_q, lo, r->column_q, hi,
				     r->columns, r->schema_q, part_q, r->columns, r->columns) < 0) {
				lock = move = NULL;
				snprintf(why, whylen, "out of memory");
				goto done;
			}
			stmts[n++] = lock;
			stmts[n++] = move;
		}
		if (asprintf(&attach, "ALTER TABLE %s.%s ATTACH PARTITION %s.%s FOR VALUES FROM (%s) TO (%s)",
			     r->schema_q, r->parent_q, r->schema_q, part_q, lo, hi) < 0) {
			attach = NULL;
			snprintf(why, whylen, "out of memory");
			goto done;
		}
		stmts[n++] = attach;
		if (!pc_ddl(r, "attach partition", stmts, n, &err))
			goto failed;
	}
	result = PC_CREATED;
	goto done;
failed:
	if (retryable)
		*retryable = ddl_retryable(err.sqlstate);
	snprintf(why, whylen, "%s%s%s", err.detail, err.sqlstate[0] ? " (SQLSTATE " : "",
		 err.sqlstate[0] ? err.sqlstate : "");
	if (err.sqlstate[0])
		strncat(why, ")", whylen - strlen(why) - 1);
done:
	PQclear(res);
	PQfreemem(part_q);
	PQfreemem(lo);
	PQfreemem(hi);
	free(create);
	free(check);
	free(move);
	free(attach);
	free(lock);
	svc_error_clear(&err);
	return result;
}

json_t *partitions_existing(PGconn *conn, unsigned int oid, struct svc_error *err)
{
	char oidtext[16];
	const char *params[1] = {oidtext};
	PGresult *res;
	json_t *list;
	int i;

	snprintf(oidtext, sizeof(oidtext), "%u", oid);
	if (!(res = db_exec(conn, sql_partitions_bounds, 1, params, err)))
		return NULL;
	list = json_array();
	for (i = 0; i < PQntuples(res); i++) {
		struct bound b;
		long fd = LONG_MIN, td = LONG_MAX;
		bool al = true;
		if (!bound_decode(db_get(res, i, "bound_node"), &b) || b.is_default)
			continue;
		if (b.has_from)
			calendar_parse_bound(b.from, &fd, &al);
		if (b.has_to && calendar_parse_bound(b.to, &td, &al) && !al)
			td++;
		json_array_append_new(list, json_pack("{s:s, s:I, s:I}", "name", db_get(res, i, "name"),
						      "from", (json_int_t)fd, "to", (json_int_t)td));
	}
	PQclear(res);
	return list;
}

/*
 * The storage parameters (fillfactor, autovacuum_*, toast.*) of the
 * partition oid, as the " WITH (...)" a new partition is made with, so that
 * partitions made later match the ones before them (a migrated table's
 * come from its source); "" when it has none.
 */
static bool pc_template_with(struct pc_run *r, const char *oid, struct svc_error *err)
{
	const char *p1[1] = {oid};
	PGresult *res;
	strbuf with;
	int i;

	if (!pc_exec(r, sql_table_reloptions, 1, p1, &res, err))
		return false;
	strbuf_init(&with);
	for (i = 0; i < PQntuples(res); i++) {
		const char *opt = db_get(res, i, "name"), *value = db_get(res, i, "value");
		char *lit = PQescapeLiteral(r->conn, value, strlen(value));

		/* Names come from the catalog; anything unexpected is left out, never spliced. */
		if (lit && strspn(opt, "abcdefghijklmnopqrstuvwxyz_.") == strlen(opt))
			strbuf_printf(&with, "%s%s = %s", with.len ? ", " : " WITH (", opt, lit);
		PQfreemem(lit);
	}
	PQclear(res);
	if (with.len)
		strbuf_puts(&with, ")");
	r->with = strdup(with.len ? with.data : "");
	strbuf_free(&with);
	if (!r->with || with.failed)
		return svc_fail(err, SVC_INTERNAL, "out of memory");
	return true;
}

static bool pc_prepare(struct pc_run *r, const struct qualified_name *qn, struct svc_error *err)
{
	const json_t *params = job_params(r->ctx);
	char oidtext[16], dname[IDENT_MAX + 1] = "", newest[16] = "";
	const char *p1[1] = {oidtext};
	long newest_to = LONG_MIN;
	PGresult *res;
	bool partitioned;
	int i;

	r->qn = *qn;
	if (!tables_load(r->conn, &r->qn, &r->pol, &r->oid, &partitioned, err))
		return false;
	if (!partitioned)
		return svc_fail(err, SVC_CONFLICT,
				"%s.%s is not partitioned by RANGE on %s; migrate it first", r->qn.schema,
				r->qn.table, r->pol.column);
	r->batch_rows = params ? json_integer_value(json_object_get(params, "batch_rows")) : 0;
	if (r->batch_rows < 1)
		r->batch_rows = 5000;
	snprintf(oidtext, sizeof(oidtext), "%u", r->oid);
	if (!pc_exec(r, sql_table_columns, 1, p1, &res, err))
		return false;
	snprintf(r->columns, sizeof(r->columns), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (!pc_exec(r, sql_partitions_bounds, 1, p1, &res, err))
		return false;
	for (i = 0; i < PQntuples(res); i++) {
		struct bound b;
		long to = LONG_MAX;
		bool all_day = true;

		if (!bound_decode(db_get(res, i, "bound_node"), &b))
			continue;
		if (b.is_default) {
			snprintf(dname, sizeof(dname), "%s", db_get(res, i, "name"));
			r->default_oid = (unsigned int)strtoul(db_get(res, i, "oid"), NULL, 10);
			continue;
		}
		if (b.has_to)
			calendar_parse_bound(b.to, &to, &all_day);
		if (!newest[0] || to > newest_to) {
			newest_to = to;
			snprintf(newest, sizeof(newest), "%s", db_get(res, i, "oid"));
		}
	}
	PQclear(res);
	if (newest[0] ? !pc_template_with(r, newest, err) : !(r->with = strdup("")))
		return err->code ? false : svc_fail(err, SVC_INTERNAL, "out of memory");
	if (dname[0])
		r->default_q = db_ident(r->conn, dname);
	r->schema_q = db_ident(r->conn, r->qn.schema);
	r->parent_q = db_ident(r->conn, r->qn.table);
	r->column_q = db_ident(r->conn, r->pol.column);
	if (!r->schema_q || !r->parent_q || !r->column_q || (dname[0] && !r->default_q))
		return svc_fail(err, SVC_INTERNAL, "out of memory");
	return true;
}

static enum job_outcome pc_run(struct job_ctx *ctx)
{
	const json_t *params = job_params(ctx), *cp = job_checkpoint(ctx);
	struct pc_run r = {0};
	struct svc_error err = {0};
	json_t *existing = NULL, *created, *exists, *conflicts, *failed, *e;
	enum job_outcome outcome = JOB_DONE;
	long starts[MAX_RANGES + 1], today = calendar_today(), a;
	long long moved;
	int n = 0, i, next;
	bool lock_failed = false, retryable = false;
	struct qualified_name qn;
	char why[256];
	size_t k;

	r.ctx = ctx;
	r.conn = job_conn(ctx);
	if (!ident_parse_table(json_string_value(json_object_get(params, "table")), &qn, why,
			       sizeof(why)))
		svc_fail(&err, SVC_BAD_REQUEST, "%s", why);
	if (err.code || !pc_prepare(&r, &qn, &err)) {
		outcome = job_fail(ctx, err.code == SVC_UNAVAILABLE ? JOB_RETRY : JOB_FAILED,
				   err.sqlstate[0] ? err.sqlstate : NULL, "Cannot create partitions",
				   "%s", err.detail);
		goto done;
	}
	/* The ranges: current interval plus `ahead`, or [from, to) widened to whole intervals. */
	if (json_object_get(params, "ahead")) {
		int ahead = (int)json_integer_value(json_object_get(params, "ahead"));
		for (a = interval_start(r.pol.interval, today); n <= ahead; n++)
			starts[n] = a, a = interval_add(r.pol.interval, a, 1);
	} else {
		long f, e;
		calendar_parse_date(json_string_value(json_object_get(params, "from")), &f);
		calendar_parse_date(json_string_value(json_object_get(params, "to")), &e);
		for (a = interval_start(r.pol.interval, f); a < e && n < MAX_RANGES; n++)
			starts[n] = a, a = interval_add(r.pol.interval, a, 1);
		if (a < e) {
			outcome = job_fail(ctx, JOB_FAILED, NULL, "Too many partitions",
					   "from-to spans more than %d %ss; split the request",
					   MAX_RANGES, interval_unit_name(r.pol.interval));
			goto done;
		}
	}
	starts[n] = a;

	next = cp ? (int)json_integer_value(json_object_get(cp, "next")) : 0;
	moved = cp ? json_integer_value(json_object_get(cp, "moved_rows")) : 0;
	r.cp = cp ? json_deep_copy(cp)
		  : json_pack("{s:i, s:I, s:[], s:[], s:[], s:[]}", "next", 0, "moved_rows",
			      (json_int_t)0, "created", "existing", "conflicts", "failed");
	created = json_object_get(r.cp, "created");
	exists = json_object_get(r.cp, "existing");
	conflicts = json_object_get(r.cp, "conflicts");
	failed = json_object_get(r.cp, "failed");
	if (!job_save(ctx, "creating", next, n, "partitions", NULL)) {
		outcome = JOB_STOPPED;
		goto done;
	}
	for (i = next; i < n; i++) {
		long lo = starts[i], hi = starts[i + 1];
		char name[IDENT_MAX + 1], why[768], label[16];
		json_t *overlap = json_array();
		bool exact = false;

		if (job_should_stop(ctx)) {
			outcome = JOB_STOPPED;
			goto done;
		}
		/* The bounds are read once; what this job makes is added as it goes. */
		if (!existing && !(existing = partitions_existing(r.conn, r.oid, &err))) {
			json_decref(overlap);
			outcome = job_fail(ctx, JOB_RETRY, err.sqlstate, "Catalog read failed", "%s",
					   err.detail);
			goto done;
		}
		json_array_foreach(existing, k, e) {
			long f = (long)json_integer_value(json_object_get(e, "from"));
			long t = (long)json_integer_value(json_object_get(e, "to"));
			if (f == lo && t == hi)
				exact = true;
			else if (f < hi && t > lo)
				json_array_append(overlap, json_object_get(e, "name"));
		}
		calendar_format(lo, label, sizeof(label));
		if (exact) {
			bool ours = false;
			json_t *c;
			interval_partition_name(r.pol.interval, r.qn.table, lo, name, sizeof(name));
			json_array_foreach(existing, k, e)
				if (json_integer_value(json_object_get(e, "from")) == lo)
					snprintf(name, sizeof(name), "%s",
						 json_string_value(json_object_get(e, "name")));
			/* A retry starts over: what an earlier attempt made stays "created". */
			json_array_foreach(created, k, c)
				ours |= strcmp(json_string_value(c), name) == 0;
			if (!ours)
				json_array_append_new(exists, json_string(name));
		} else if (json_array_size(overlap)) {
			json_array_append_new(conflicts,
					      json_pack("{s:s, s:O}", "from", label, "overlaps", overlap));
			job_event(ctx, JOB_EVENT_WARNING, json_pack("{s:O}", "overlaps", overlap),
				  "range from %s overlaps partitions partd did not make; left alone",
				  label);
		} else {
			switch (pc_make(&r, lo, hi, name, sizeof(name), &moved, &retryable, why,
					sizeof(why))) {
			case PC_CREATED:
				json_array_append_new(created, json_string(name));
				json_array_append_new(existing,
						      json_pack("{s:s, s:I, s:I}", "name", name, "from",
								(json_int_t)lo, "to", (json_int_t)hi));
				break;
			case PC_CONFLICT:
				json_array_append_new(conflicts, json_pack("{s:s, s:s}", "from", label,
									  "reason", why));
				job_event(ctx, JOB_EVENT_WARNING, NULL, "%s", why);
				break;
			case PC_FAILED:
				lock_failed |= retryable;
				json_array_append_new(failed, json_pack("{s:s, s:s, s:s}", "from", label,
									"name", name, "error", why));
				job_event(ctx, JOB_EVENT_ERROR, NULL, "%s: %s", name, why);
				break;
			case PC_STOPPED:
				json_decref(overlap);
				outcome = JOB_STOPPED;
				goto done;
			}
		}
		json_decref(overlap);
		json_object_set_new(r.cp, "next", json_integer(i + 1));
		json_object_set_new(r.cp, "moved_rows", json_integer(moved));
		if (!job_save(ctx, "creating", i + 1, n, "partitions", json_deep_copy(r.cp))) {
			outcome = JOB_STOPPED;
			goto done;
		}
	}
	job_set_result(ctx, json_pack("{s:O, s:O, s:O, s:O, s:I}", "created", created, "existing",
				      exists, "conflicts", conflicts, "failed", failed, "moved_rows",
				      (json_int_t)moved));
	if (json_array_size(failed)) {
		/*
		 * No failed range may keep rows in a table that is not attached:
		 * undo them now; a retry (lock time-outs only) starts over from the
		 * first range, finding the others already there.
		 */
		json_array_foreach(failed, k, e) {
			svc_error_clear(&err);
			if (!pc_unstage(&r, json_string_value(json_object_get(e, "name")), &err))
				job_event(ctx, JOB_EVENT_ERROR, NULL, "undoing %s failed: %s",
					  json_string_value(json_object_get(e, "name")), err.detail);
		}
		outcome = job_fail(ctx, lock_failed ? JOB_RETRY : JOB_FAILED, lock_failed ? "55P03" : NULL,
				   "Some partitions were not created",
				   "%zu of %d partitions failed; see result.failed and the events",
				   json_array_size(failed), n);
		if (lock_failed) {
			json_object_set_new(r.cp, "next", json_integer(0));
			json_object_set_new(r.cp, "failed", json_array());
			json_object_set_new(r.cp, "conflicts", json_array());
			json_object_set_new(r.cp, "existing", json_array());
			job_save(ctx, "creating", 0, n, "partitions", json_deep_copy(r.cp));
		}
	}
done:
	if (r.schema_q) {
		char display[2 * IDENT_MAX + 2];
		ident_format(&r.qn, display, sizeof(display));
		tables_cache_forget(display);
	}
	if (outcome == JOB_STOPPED && job_cancel_requested(ctx) && r.schema_q) {
		/* The job will not come back: leave no unattached partition behind. */
		for (i = 0; i < n; i++) {
			char name[IDENT_MAX + 1];
			interval_partition_name(r.pol.interval, r.qn.table, starts[i], name, sizeof(name));
			svc_error_clear(&err);
			if (!pc_unstage(&r, name, &err))
				job_event(ctx, JOB_EVENT_ERROR, NULL, "undoing %s failed: %s", name,
					  err.detail);
		}
	}
	json_decref(existing);
	json_decref(r.cp);
	PQfreemem(r.schema_q);
	PQfreemem(r.parent_q);
	PQfreemem(r.column_q);
	PQfreemem(r.default_q);
	free(r.with);
	svc_error_clear(&err);
	return outcome;
}

bool partitions_ensure(struct job_ctx *ctx, const struct qualified_name *qn, long from, long to,
		       struct svc_error *err)
{
	struct pc_run r = {0};
	json_t *existing = NULL, *e;
	char name[IDENT_MAX + 1], why[768], display[2 * IDENT_MAX + 2];
	long long moved = 0;
	bool ok = false, exact = false;
	size_t k;

	r.ctx = ctx;
	r.conn = job_conn(ctx);
	if (!pc_prepare(&r, qn, err) || !(existing = partitions_existing(r.conn, r.oid, err)))
		goto done;
	json_array_foreach(existing, k, e) {
		long f = (long)json_integer_value(json_object_get(e, "from"));
		long t = (long)json_integer_value(json_object_get(e, "to"));
		if (f == from && t == to)
			exact = true;
		else if (f < to && t > from) {
			svc_fail(err, SVC_CONFLICT, "%s.%s: partition %s overlaps the range wanted",
				 qn->schema, qn->table, json_string_value(json_object_get(e, "name")));
			goto done;
		}
	}
	if (exact) {
		ok = true;
		goto done;
	}
	switch (pc_make(&r, from, to, name, sizeof(name), &moved, NULL, why, sizeof(why))) {
	case PC_CREATED:
		ok = true;
		break;
	case PC_STOPPED:
		svc_fail(err, SVC_INTERNAL, "stopped");
		break;
	default:
		svc_fail(err, SVC_INTERNAL, "%s", why);
		break;
	}
	ident_format(qn, display, sizeof(display));
	tables_cache_forget(display);
done:
	json_decref(existing);
	PQfreemem(r.schema_q);
	PQfreemem(r.parent_q);
	PQfreemem(r.column_q);
	PQfreemem(r.default_q);
	free(r.with);
	return ok;
}

const struct job_kind partitions_create_kind = {
	.name = "partitions.create",
	.max_attempts = 5,
	.validate = pc_validate,
	.run = pc_run,
};

json_t *partitions_enqueue(struct pool *pool, const char *name, const json_t *body,
			   const char *by, const char *idempotency_key, bool *replayed,
			   struct svc_error *err)
{
	struct job_request rq = {0};
	struct qualified_name qn;
	struct table_policy pol;
	char why[256], display[2 * IDENT_MAX + 2];
	json_t *params, *job = NULL;
	unsigned int oid;
	bool partitioned = false, ok;
	PGconn *conn;

	if (!ident_parse_table(name, &qn, why, sizeof(why)))
		return svc_fail(err, SVC_NOT_FOUND, "%s", why), NULL;
	if (json_object_get(body, "table"))
		return svc_field(err, "table", "the table comes from the path, not the body"), NULL;
	if (!(conn = pool_borrow(pool, why, sizeof(why))))
		return svc_fail(err, SVC_UNAVAILABLE, "the database is not available: %s", why), NULL;
	ok = tables_load(conn, &qn, &pol, &oid, &partitioned, err);
	pool_return(pool, conn);
	if (!ok)
		return NULL;
	ident_format(&qn, display, sizeof(display));
	if (!partitioned)
		return svc_fail(err, SVC_CONFLICT,
				"%s is not partitioned yet: migrate it with POST /v1/tables/%s/migration",
				display, display),
		       NULL;
	params = json_deep_copy(body);
	json_object_set_new(params, "table", json_string(display));
	if (!json_object_get(params, "ahead") && !json_object_get(params, "from") &&
	    !json_object_get(params, "to"))
		json_object_set_new(params, "ahead", json_integer(pol.premake));
	rq.kind = partitions_create_kind.name;
	rq.params = params;
	rq.created_by = by;
	rq.idempotency_key = idempotency_key;
	job = jobs_enqueue(pool, &rq, replayed, err);
	json_decref(params);
	return job;
}
