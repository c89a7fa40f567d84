/*
 * DESIGN: no threads of its own. The job's worker thread opens `parallel`
 * extra sessions ("lanes") and keeps one copy statement in flight on each
 * through libpq's asynchronous API, waiting in poll() on their sockets;
 * the job's own connection reads the knobs and stores checkpoints. All of
 * the state below belongs to that one thread.
 *
 * The work is the block range [0, nblocks) of the source, one stripe per
 * lane, each walked in ranges of about batch_rows rows. Stripes keep the
 * lanes apart: a table is mostly in the order its rows came, so adjacent
 * ranges fill the same partition and two lanes on them would queue on its
 * relation-extension lock. A lane whose stripe runs out takes the far half
 * of the largest stripe left. A finished range joins `done` (kept sorted
 * and merged); a range that hit a lock time-out or a deadlock goes to
 * `retry`. The checkpoint is `done` itself, so a new attempt sends only the
 * gaps.
 *
 * A range is sent as a plain INSERT first: ON CONFLICT DO NOTHING costs a
 * speculative insertion per row (a probe of the key, a token lock and a
 * second WAL record), a quarter to a third of the statement, and a range
 * meets a row already in the target only where the application wrote since
 * the trigger (or an earlier attempt copied it). Such a range fails whole
 * with unique_violation, changing nothing, and goes again with ON CONFLICT
 * DO NOTHING; so does a run of the ranges after it (struct copy_conflicts),
 * so that a busy table is copied with ON CONFLICT nearly all the time and a
 * quiet one never.
 */
#include "copy.h"

#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calendar.h"
#include "db.h"
#include "ddl.h"
#include "pace.h"

#define COPY_RANGE_ATTEMPTS  6
#define COPY_SAVE_EVERY_S    1.0

struct range {
	long long from, to; /* blocks, [from, to) */
	int attempt;
	bool on_conflict; /* sent with ON CONFLICT DO NOTHING (it met a row already there) */
};

struct lane {
	PGconn *conn;
	bool busy;
	struct range r;
	long long pos, end; /* the lane's stripe of the heap still to send */
	double paid;        /* rows of r paid for at the rate before it ran: an estimate */
	long long seen;     /* conflicts.conflicts when r was sent */
};

struct copier {
	struct job_ctx *ctx;
	const struct copy_spec *spec;
	char *sql;         /* INSERT ... FOR SHARE */
	char *sql_nothing; /* the same, ON CONFLICT (key) DO NOTHING */
	char filenode[24];
	long long nblocks;
	struct range *done, *retry;
	size_t ndone, nretry, cap_done, cap_retry;
	long long copied;
	long batch_rows, max_rows_per_s;
	double rows_per_block;
	struct pace pace; /* max_rows_per_s, over the rows the ranges copy */
	int nlanes;
	struct lane lanes[COPY_PARALLEL_MAX];
	struct copy_conflicts conflicts;
	long long ranges_plain, ranges_nothing;
};

static bool push(struct range **a, size_t *n, size_t *cap, struct range r)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct range *g = realloc(*a, ncap * sizeof(**a));
		if (!g)
			return false;
		*a = g;
		*cap = ncap;
	}
	(*a)[(*n)++] = r;
	return true;
}

/* Adds r to the sorted, merged list of done ranges. */
static bool done_add(struct copier *c, struct range r)
{
	size_t i = 0, j;

	while (i < c->ndone && c->done[i].to < r.from)
		i++;
	/* Ranges i.. that touch r merge into it. */
	for (j = i; j < c->ndone && c->done[j].from <= r.to; j++) {
		if (c->done[j].from < r.from)
			r.from = c->done[j].from;
		if (c->done[j].to > r.to)
			r.to = c->done[j].to;
	}
	if (j > i) {
		c->done[i] = r;
		memmove(&c->done[i + 1], &c->done[j], (c->ndone - j) * sizeof(*c->done));
		c->ndone -= j - i - 1;
		return true;
	}
	if (!push(&c->done, &c->ndone, &c->cap_done, r))
		return false;
	memmove(&c->done[i + 1], &c->done[i], (c->ndone - 1 - i) * sizeof(*c->done));
	c->done[i] = r;
	return true;
}

static long long blocks_done(const struct copier *c)
{
	long long n = 0;
	size_t i;

	for (i = 0; i < c->ndone; i++)
		n += c->done[i].to - c->done[i].from;
	return n;
}

/* Cuts the heap into one stripe per lane. */
static void stripes_reset(struct copier *c)
{
	int i;

	for (i = 0; i < c->nlanes; i++) {
		c->lanes[i].pos = c->nblocks * i / c->nlanes;
		c->lanes[i].end = c->nblocks * (i + 1) / c->nlanes;
	}
}

static long long range_blocks(const struct copier *c)
{
	long long want = (long long)((double)c->batch_rows / c->rows_per_block);

	return want < 1 ? 1 : want;
}

/* True when no lane has blocks of its stripe left to send. */
static bool stripes_done(const struct copier *c)
{
	int i;

	for (i = 0; i < c->nlanes; i++)
		if (c->lanes[i].pos < c->lanes[i].end)
			return false;
	return true;
}

/*
 * The next range lane l sends: a retry first, else the next gap of its
 * stripe; when that is used up, the far half of the largest stripe left
 * (if it is worth splitting). False when there is nothing for l now.
 */
static bool take_range(struct copier *c, struct lane *l, struct range *out)
{
	long long want = range_blocks(c);

	if (c->nretry) {
		*out = c->retry[--c->nretry];
		return true;
	}
	for (;;) {
		long long pos = l->pos, limit = l->end;
		size_t i;

		for (i = 0; i < c->ndone; i++) {
			if (c->done[i].from <= pos && pos < c->done[i].to)
				pos = c->done[i].to;
			else if (c->done[i].from > pos) {
				limit = c->done[i].from < limit ? c->done[i].from : limit;
				break;
			}
		}
		if (pos < l->end) {
			out->from = pos;
			out->to = pos + want < limit ? pos + want : limit;
			out->attempt = 1;
			out->on_conflict = false;
			l->pos = out->to;
			return true;
		}
		l->pos = l->end;
		{
			struct lane *victim = NULL;
			int k;
			for (k = 0; k < c->nlanes; k++) {
				struct lane *v = &c->lanes[k];
				if (v != l && v->end - v->pos >= 2 * want &&
				    (!victim || v->end - v->pos > victim->end - victim->pos))
					victim = v;
			}
			if (!victim)
				return false;
			l->pos = victim->pos + (victim->end - victim->pos) / 2;
			l->end = victim->end;
			victim->end = l->pos;
		}
	}
}

/* The names of a lane's prepared statements: c->sql and c->sql_nothing. */
#define LANE_STMT         "partd_copy"
#define LANE_STMT_NOTHING "partd_copy_on_conflict"

static bool lane_send(struct copier *c, struct lane *l)
{
	char from[32], to[32];
	const char *p[2] = {from, to};

	snprintf(from, sizeof(from), "(%lld,0)", l->r.from);
	snprintf(to, sizeof(to), "(%lld,0)", l->r.to);
	if (!l->r.on_conflict && copy_conflicts_take(&c->conflicts))
		l->r.on_conflict = true;
	l->seen = c->conflicts.conflicts;
	if (!PQsendQueryPrepared(l->conn, l->r.on_conflict ? LANE_STMT_NOTHING : LANE_STMT, 2, p,
				 NULL, NULL, 0))
		return false;
	l->busy = true;
	return true;
}

bool copy_conflicts_take(struct copy_conflicts *k)
{
	if (k->left <= 0)
		return false;
	k->left--;
	return true;
}

void copy_conflicts_met(struct copy_conflicts *k)
{
	k->conflicts++;
	k->run *= 2;
	if (k->run < COPY_CONFLICT_RUN_MIN)
		k->run = COPY_CONFLICT_RUN_MIN;
	if (k->run > COPY_CONFLICT_RUN_MAX)
		k->run = COPY_CONFLICT_RUN_MAX;
	k->left = k->run;
}

void copy_conflicts_passed(struct copy_conflicts *k, long long seen)
{
	if (seen == k->conflicts)
		k->run /= 2;
}

/*
 * Reads a finished lane's result. A lock time-out or deadlock sends its
 * range back to the queue; any other error fails the copy.
 */
static bool lane_collect(struct copier *c, struct lane *l, struct svc_error *err)
{
	PGresult *res;
	bool ok = true, retry = false, conflict = false;
	long long inserted = 0;

	while ((res = PQgetResult(l->conn)) != NULL) {
		if (PQresultStatus(res) == PGRES_COMMAND_OK) {
			inserted += strtoll(PQcmdTuples(res), NULL, 10);
		} else if (ok) {
			const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
			if (!l->r.on_conflict && state && strcmp(state, "23505") == 0) {
				/* unique_violation: the statement inserted nothing */
				retry = conflict = true;
			} else if (ddl_retryable(state) && l->r.attempt < COPY_RANGE_ATTEMPTS) {
				retry = true;
				job_event(c->ctx, JOB_EVENT_WARNING,
					  json_pack("{s:I, s:I, s:s}", "from_block",
						    (json_int_t)l->r.from, "to_block",
						    (json_int_t)l->r.to, "sqlstate", state),
					  "copy of blocks %lld..%lld waited too long for row locks "
					  "(%s, attempt %d of %d); it is sent again",
					  l->r.from, l->r.to, state, l->r.attempt,
					  COPY_RANGE_ATTEMPTS);
			} else {
				char what[64];
				snprintf(what, sizeof(what), "copy of blocks %lld..%lld", l->r.from,
					 l->r.to);
				db_result_fail(l->conn, res, err, what);
			}
			ok = false;
		}
		PQclear(res);
	}
	l->busy = false;
	c->copied += inserted;
	/* Paid for by what it held (a range that failed, next to nothing), not the estimate. */
	pace_spend(&c->pace, (double)inserted - l->paid);
	l->paid = 0;
	if (ok) {
		if (l->r.on_conflict) {
			c->ranges_nothing++;
		} else {
			c->ranges_plain++;
			copy_conflicts_passed(&c->conflicts, l->seen);
		}
		return done_add(c, l->r) || svc_fail(err, SVC_INTERNAL, "out of memory");
	}
	if (retry) {
		if (conflict) {
			copy_conflicts_met(&c->conflicts);
			l->r.on_conflict = true;
		} else
			l->r.attempt++;
		return push(&c->retry, &c->nretry, &c->cap_retry, l->r) ||
		       svc_fail(err, SVC_INTERNAL, "out of memory");
	}
	return false;
}

/* Cancels what the lanes run and waits for them to be idle. */
static void lanes_drain(struct copier *c)
{
	struct svc_error ignored = {0};
	char why[256];
	int i;

	for (i = 0; i < c->nlanes; i++) {
		struct lane *l = &c->lanes[i];
		if (l->busy)
			(void)db_cancel(l->conn, why, sizeof(why)); /* else it runs to its end */
	}
	for (i = 0; i < c->nlanes; i++) {
		struct lane *l = &c->lanes[i];
		PGresult *res;
		if (!l->busy)
			continue;
		/* A range finished before the cancel arrived still counts. */
		if (!lane_collect(c, l, &ignored))
			svc_error_clear(&ignored);
		while ((res = PQgetResult(l->conn)) != NULL)
			PQclear(res);
	}
}

static bool copier_save(struct copier *c)
{
	json_t *done = json_array();
	long long total = c->spec->rows_estimate > c->copied ? c->spec->rows_estimate : c->copied;
	size_t i;

	for (i = 0; i < c->ndone; i++)
		json_array_append_new(done, json_pack("[I, I]", (json_int_t)c->done[i].from,
						      (json_int_t)c->done[i].to));
	return job_save(c->ctx, "copy", c->copied, total, "rows",
			json_pack("{s:s, s:s, s:I, s:o, s:I, s:I, s:I, s:I}", "phase", "copy",
				  "filenode", c->filenode, "nblocks", (json_int_t)c->nblocks, "done",
				  done, "copied", (json_int_t)c->copied, "ranges_plain",
				  (json_int_t)c->ranges_plain, "ranges_on_conflict",
				  (json_int_t)c->ranges_nothing, "conflicts",
				  (json_int_t)c->conflicts.conflicts));
}

/* Rows a heap block holds, from the planner's estimate: at least 1, 50 when unknown. */
static double rows_per_block(long long rows_estimate, long long nblocks)
{
	double r = nblocks > 0 && rows_estimate > 0 ? (double)rows_estimate / (double)nblocks : 50.0;

	return r < 1 ? 1 : r;
}

/* The blocks of relation oid now; in a snapshot's first statement, every row it sees lies below. */
static bool relation_blocks(PGconn *conn, unsigned int oid, long long *nblocks,
			    struct svc_error *err)
{
	char o[16];
	const char *p[1] = {o};
	PGresult *res;

	snprintf(o, sizeof(o), "%u", oid);
	res = db_exec(conn,
		      "SELECT pg_catalog.pg_relation_size($1::oid) / "
		      "pg_catalog.current_setting('block_size')::bigint",
		      1, p, err);
	if (!res)
		return false;
	*nblocks = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return true;
}

/* The source's file and size in blocks, as they are now. */
static bool copier_measure(struct copier *c, char *filenode, size_t len, long long *nblocks,
			   struct svc_error *err)
{
	char oid[16];
	const char *p[1] = {oid};
	PGresult *res;

	snprintf(oid, sizeof(oid), "%u", c->spec->source_oid);
	res = db_exec(job_conn(c->ctx),
		      "SELECT pg_catalog.pg_relation_filenode($1::oid)::text, "
		      "pg_catalog.pg_relation_size($1::oid) / "
		      "pg_catalog.current_setting('block_size')::bigint",
		      1, p, err);
	if (!res)
		return false;
	snprintf(filenode, len, "%s", PQgetvalue(res, 0, 0));
	*nblocks = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	return true;
}

/* Takes what an earlier attempt finished, unless the table was rewritten since. */
static void copier_resume(struct copier *c, const json_t *cp)
{
	const json_t *done = json_object_get(cp, "done"), *r;
	const char *fn = json_string_value(json_object_get(cp, "filenode"));
	size_t i;

	c->copied = json_integer_value(json_object_get(cp, "copied"));
	/*
	 * The ranges earlier attempts sent, for the closing event: they count
	 * whatever became of their rows (a range copied after the last save is
	 * copied again, and counted again).
	 */
	c->ranges_plain = json_integer_value(json_object_get(cp, "ranges_plain"));
	c->ranges_nothing = json_integer_value(json_object_get(cp, "ranges_on_conflict"));
	c->conflicts.conflicts = json_integer_value(json_object_get(cp, "conflicts"));
	if (!fn || strcmp(fn, c->filenode) != 0 || !json_is_array(done)) {
		if (fn)
			job_event(c->ctx, JOB_EVENT_WARNING, NULL,
				  "the source was rewritten since the last attempt (VACUUM FULL or "
				  "CLUSTER): the copy starts over");
		return;
	}
	json_array_foreach(done, i, r)
	{
		struct range g = {.from = json_integer_value(json_array_get(r, 0)),
				  .to = json_integer_value(json_array_get(r, 1)),
				  .attempt = 1};
		if (g.from >= 0 && g.to > g.from)
			done_add(c, g);
	}
	job_event(c->ctx, JOB_EVENT_INFO,
		  json_pack("{s:I, s:I, s:I}", "copied", (json_int_t)c->copied, "blocks_done",
			    (json_int_t)blocks_done(c), "blocks", (json_int_t)c->nblocks),
		  "copy resumes from the checkpoint: %lld rows already copied, %lld of %lld "
		  "blocks done",
		  c->copied, blocks_done(c), c->nblocks);
}

/*
 * A session for a lane: lock_timeout as for DDL, and a check of the client
 * every second, so that the statements of a partd that was killed stop at
 * once instead of running on with their locks. extra: more SETs, or "".
 *
 * And a deadlock check after LANE_DEADLOCK_TIMEOUT of waiting, where the
 * server's is longer and partd may set it (a superuser, or GRANT SET ON
 * PARAMETER deadlock_timeout). A copy's FOR SHARE and an application's
 * transaction that writes two rows can each wait for the other; the
 * check runs in whichever session waited deadlock_timeout first, which
 * fails. With the server's setting on both sides, that is the one that
 * waited first, often the application; with the lane's shorter one it is
 * the lane, and the range is sent again.
 */
#define LANE_DEADLOCK_TIMEOUT "100ms"
static PGconn *lane_connect(struct job_ctx *ctx, const char *extra, char *why, size_t whylen)
{
	PGconn *conn = job_connect(ctx, "partd-copy", why, whylen);
	struct svc_error err = {0};
	char *sql = NULL;
	PGresult *res = NULL;

	if (!conn)
		return NULL;
	if (asprintf(&sql,
		     "SET lock_timeout = %ld; SET client_connection_check_interval = 1000; "
		     "SELECT pg_catalog.set_config('deadlock_timeout', '" LANE_DEADLOCK_TIMEOUT
		     "', false) WHERE pg_catalog.has_parameter_privilege('deadlock_timeout', "
		     "'SET') AND pg_catalog.current_setting('deadlock_timeout')::interval > "
		     "interval '" LANE_DEADLOCK_TIMEOUT "'%s%s",
		     job_lock_timeout_ms(ctx), extra[0] ? "; " : "", extra) >= 0)
		res = db_exec(conn, sql, 0, NULL, &err);
	free(sql);
	if (!res) {
		snprintf(why, whylen, "%.200s", err.detail[0] ? err.detail : "out of memory");
		PQfinish(conn);
		return NULL;
	}
	PQclear(res);
	return conn;
}

/* Prepares one of a lane's two statements. */
static bool lane_prepare(PGconn *conn, const char *name, const char *sql, int lane,
			 struct svc_error *err)
{
	PGresult *res = PQprepare(conn, name, sql, 2, NULL);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	char what[64];

	snprintf(what, sizeof(what), "copy connection %d: prepare", lane);
	if (!ok)
		db_result_fail(conn, res, err, what);
	PQclear(res);
	return ok;
}

/*
 * The lanes, each with the copy's two statements prepared. A range of the
 * live knobs' size (some 100 rows) spent a sixth of its time in parse and
 * plan when sent as text; the generic plan (a TID range scan under the
 * lock, the only plan there is for it) is made once. Without
 * force_generic_plan the server would plan each range again, since the
 * generic plan's estimate (the default 0.5 % of the table for a range
 * between two parameters) looks dearer than a custom one.
 */
static bool copier_open_lanes(struct copier *c, struct svc_error *err)
{
	char why[256];
	int i;

	for (i = 0; i < c->spec->parallel; i++) {
		/*
		 * synchronous_commit off is safe here: a range is recorded done only
		 * by a later, synchronous commit on the job's connection, whose WAL
		 * flush covers every commit record written before it.
		 */
		if (!(c->lanes[i].conn = lane_connect(c->ctx,
						      "SET synchronous_commit = off; "
						      "SET plan_cache_mode = force_generic_plan",
						      why, sizeof(why))))
			return svc_fail(err, SVC_UNAVAILABLE, "copy connection %d: %s", i + 1, why);
		c->nlanes = i + 1;
		if (!lane_prepare(c->lanes[i].conn, LANE_STMT, c->sql, i + 1, err) ||
		    !lane_prepare(c->lanes[i].conn, LANE_STMT_NOTHING, c->sql_nothing, i + 1, err))
			return false;
	}
	return true;
}

static void copier_free(struct copier *c)
{
	int i;

	for (i = 0; i < c->nlanes; i++)
		PQfinish(c->lanes[i].conn);
	free(c->sql);
	free(c->sql_nothing);
	free(c->done);
	free(c->retry);
}

enum copy_outcome copy_run(struct job_ctx *ctx, const struct copy_spec *spec, const json_t *cp,
			   long long *copied, struct svc_error *err)
{
	struct copier c = {.ctx = ctx, .spec = spec};
	enum copy_outcome outcome = COPY_FAILED;
	double last_save = 0, last_knobs = 0;

	*copied = 0;
	/*
	 * The arbiter is the target's primary key: only it can clash, since the
	 * source enforces the same unique constraints on the rows we lock, and
	 * naming it spares a check of every other unique index for each row.
	 */
	if (asprintf(&c.sql,
		     "INSERT INTO %s (%s) SELECT %s FROM %s WHERE ctid >= $1::tid AND ctid < $2::tid "
		     "FOR SHARE",
		     spec->target, spec->columns, spec->columns, spec->source) < 0)
		c.sql = NULL;
	if (!c.sql ||
	    asprintf(&c.sql_nothing, "%s ON CONFLICT (%s) DO NOTHING", c.sql, spec->key) < 0) {
		c.sql_nothing = NULL;
		svc_fail(err, SVC_INTERNAL, "out of memory");
		goto out;
	}
	if (!copier_measure(&c, c.filenode, sizeof(c.filenode), &c.nblocks, err) ||
	    !spec->read_knobs(spec->arg, &c.batch_rows, &c.max_rows_per_s, err))
		goto out;
	if (cp && json_object_get(cp, "done"))
		copier_resume(&c, cp);
	c.rows_per_block = rows_per_block(spec->rows_estimate, c.nblocks);
	if (!copier_open_lanes(&c, err))
		goto out;
	stripes_reset(&c);
	if (!cp || !json_object_get(cp, "done"))
		job_event(ctx, JOB_EVENT_INFO,
			  json_pack("{s:I, s:i, s:I}", "blocks", (json_int_t)c.nblocks, "parallel",
				    spec->parallel, "batch_rows", (json_int_t)c.batch_rows),
			  "copy: %lld blocks of %s in ranges of about %ld rows over %d connections",
			  c.nblocks, spec->source, c.batch_rows, spec->parallel);
	pace_init(&c.pace, c.max_rows_per_s, monotonic_ms());
	for (;;) {
		struct pollfd fds[COPY_PARALLEL_MAX];
		int nfds = 0, i, busy = 0, timeout = 250;
		double t = (monotonic_ms() / 1000.0);
		struct range r;

		if (job_should_stop(ctx)) {
			lanes_drain(&c);
			copier_save(&c);
			outcome = COPY_STOPPED;
			goto out;
		}
		if (t - last_knobs >= 1.0) {
			if (!spec->read_knobs(spec->arg, &c.batch_rows, &c.max_rows_per_s, err))
				break;
			pace_set_rate(&c.pace, c.max_rows_per_s, monotonic_ms());
			last_knobs = t;
		}
		if (t - last_save >= COPY_SAVE_EVERY_S) {
			if (!copier_save(&c)) {
				lanes_drain(&c);
				outcome = COPY_STOPPED; /* the job is no longer ours */
				goto out;
			}
			last_save = t;
		}
		for (i = 0; i < c.nlanes; i++) {
			struct lane *l = &c.lanes[i];
			int pace_ms;
			if (!l->busy &&
			    (pace_ms = pace_wait_ms(&c.pace, monotonic_ms(), timeout)) > 0) {
				timeout = pace_ms;
				break;
			}
			if (!l->busy && take_range(&c, l, &r)) {
				l->r = r;
				l->paid = (double)(r.to - r.from) * c.rows_per_block;
				pace_spend(&c.pace, l->paid);
				if (!lane_send(&c, l)) {
					svc_fail(err, SVC_UNAVAILABLE, "copy connection %d: %s",
						 i + 1, PQerrorMessage(l->conn));
					lanes_drain(&c);
					goto out;
				}
			}
		}
		for (i = 0; i < c.nlanes; i++)
			if (c.lanes[i].busy) {
				fds[nfds].fd = PQsocket(c.lanes[i].conn);
				fds[nfds].events = POLLIN;
				fds[nfds].revents = 0;
				nfds++;
				busy++;
			}
		if (!busy && !c.nretry && stripes_done(&c) && blocks_done(&c) >= c.nblocks) {
			char filenode[24];
			long long nblocks;
			if (!copier_measure(&c, filenode, sizeof(filenode), &nblocks, err))
				break;
			if (strcmp(filenode, c.filenode) == 0)
				break; /* every range is done */
			/* VACUUM FULL or CLUSTER moved the rows under us: start over. */
			job_event(
			    ctx, JOB_EVENT_WARNING, NULL,
			    "the source was rewritten during the copy (VACUUM FULL or CLUSTER): "
			    "the copy starts over");
			snprintf(c.filenode, sizeof(c.filenode), "%s", filenode);
			c.nblocks = nblocks;
			c.ndone = 0;
			stripes_reset(&c);
			continue;
		}
		if (busy && poll(fds, (nfds_t)nfds, timeout) < 0)
			continue;
		if (!busy) {
			if (stripes_done(&c) && !c.nretry) {
				/* Gaps nobody's stripe covers (cannot happen): walk it all again. */
				stripes_reset(&c);
				continue;
			}
			job_sleep_ms(ctx, timeout);
			continue;
		}
		for (i = 0; i < c.nlanes; i++) {
			struct lane *l = &c.lanes[i];
			if (!l->busy)
				continue;
			if (!PQconsumeInput(l->conn)) {
				svc_fail(err, SVC_UNAVAILABLE, "copy connection %d: %s", i + 1,
					 PQerrorMessage(l->conn));
				l->busy = false;
				lanes_drain(&c);
				goto out;
			}
			if (!PQisBusy(l->conn) && !lane_collect(&c, l, err)) {
				lanes_drain(&c);
				copier_save(&c);
				goto out;
			}
		}
	}
	if (err->code == SVC_OK) {
		copier_save(&c);
		job_event(ctx, JOB_EVENT_INFO,
			  json_pack("{s:I, s:I, s:I}", "ranges_plain", (json_int_t)c.ranges_plain,
				    "ranges_on_conflict", (json_int_t)c.ranges_nothing, "conflicts",
				    (json_int_t)c.conflicts.conflicts),
			  "copy: %lld ranges inserted as they were, %lld with ON CONFLICT DO NOTHING "
			  "(%lld met rows the trigger or an earlier attempt had written, and went again)",
			  c.ranges_plain, c.ranges_nothing, c.conflicts.conflicts);
		outcome = COPY_DONE;
	} else {
		lanes_drain(&c);
	}
out:
	*copied = c.copied;
	copier_free(&c);
	return outcome;
}

/* ---- verify ------------------------------------------------------------ */

enum { SIDE_SOURCE, SIDE_TARGET };

struct month_sum {
	char month[16];
	long long n[2];
	__int128 sum[2];
};

struct verifier {
	struct job_ctx *ctx;
	const struct copy_verify_spec *spec;
	PGconn *conn[2];
	bool busy[2], in_xact[2];
	char *sql_chunk;  /* the source, one block range */

	long long nblocks, next, scanned;
	double rows_per_block;
	long batch_rows, max_rows_per_s;
	PGresult *parts; /* the target's partitions: name, size in blocks */
	int next_part;
	long long part_next; /* the next block of partition next_part */
	struct month_sum *months;
	size_t nmonths, cap;
	struct pace pace;   /* max_rows_per_s, both sides together */
	double estimate[2]; /* the rows paid for the side's statement in flight */
};

/*
 * Per month: rows and the sum of a 64-bit hash of every row, of one block
 * range of a table: the partition column, the columns, the table (all
 * quoted) and the range's tids as $1 and $2. The hash is
 * hash_record_extended of the row when every type allows (a quarter of the
 * CPU of md5 over the row's text, which is the fallback); both sides use
 * the same one.
 */
static char *verify_sql(const struct copy_verify_spec *s, const char *table)
{
	char *sql = NULL, *hash = NULL;

	if (asprintf(&hash,
		     s->binary_hash ? "pg_catalog.hash_record_extended(ROW(%s), 0)"
				    : "('x' || substr(md5(ROW(%s)::text), 1, 16))::bit(64)::bigint",
		     s->columns) < 0)
		return NULL;
	/* to_char once a month, not once a row: it was a quarter of the statement's time. */
	if (asprintf(&sql,
		     "SELECT coalesce(to_char(m, 'YYYY-MM'), 'NULL'), n, s::text FROM (SELECT "
		     "date_trunc('month', %s) AS m, count(*) AS n, sum(%s) AS s FROM %s "
		     "WHERE ctid >= $1::tid AND ctid < $2::tid GROUP BY 1) x",
		     s->column, hash, table) < 0)
		sql = NULL;
	free(hash);
	return sql;
}

/* A decimal integer (sum() of bigint is numeric) into 128 bits. */
static bool parse_i128(const char *s, __int128 *out)
{
	bool neg = *s == '-';
	__int128 v = 0;

	if (neg || *s == '+')
		s++;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (*s - '0');
	}
	*out = neg ? -v : v;
	return true;
}

/* The month's totals, added in order when new; NULL when out of memory. */
static struct month_sum *verifier_month(struct verifier *v, const char *month)
{
	size_t i = 0;

	while (i < v->nmonths && strcmp(v->months[i].month, month) < 0)
		i++;
	if (i < v->nmonths && strcmp(v->months[i].month, month) == 0)
		return &v->months[i];
	if (v->nmonths == v->cap) {
		size_t ncap = v->cap ? v->cap * 2 : 32;
		struct month_sum *g = realloc(v->months, ncap * sizeof(*g));
		if (!g)
			return NULL;
		v->months = g;
		v->cap = ncap;
	}
	memmove(&v->months[i + 1], &v->months[i], (v->nmonths - i) * sizeof(*v->months));
	memset(&v->months[i], 0, sizeof(*v->months));
	snprintf(v->months[i].month, sizeof(v->months[i].month), "%s", month);
	v->nmonths++;
	return &v->months[i];
}

/* Reads one side's finished statement into the month totals. */
static bool verifier_collect(struct verifier *v, int side, struct svc_error *err)
{
	PGresult *res;
	bool ok = true;

	while ((res = PQgetResult(v->conn[side])) != NULL) {
		if (PQresultStatus(res) == PGRES_TUPLES_OK) {
			int i;
			for (i = 0; ok && i < PQntuples(res); i++) {
				struct month_sum *m = verifier_month(v, PQgetvalue(res, i, 0));
				__int128 sum = 0;
				long long n = strtoll(PQgetvalue(res, i, 1), NULL, 10);
				if (!m || !parse_i128(PQgetvalue(res, i, 2), &sum)) {
					ok = svc_fail(err, SVC_INTERNAL, "checksum of month %s unreadable",
						      PQgetvalue(res, i, 0));
					break;
				}
				m->n[side] += n;
				m->sum[side] += sum;
				v->scanned += n;
				pace_spend(&v->pace, (double)n);
			}
		} else if (ok) {
			ok = db_result_fail(v->conn[side], res, err,
					    side == SIDE_SOURCE ? "checksums of the source"
								: "checksums of the target");
		}
		PQclear(res);
	}
	v->busy[side] = false;
	pace_spend(&v->pace, -v->estimate[side]); /* paid for by what it read, above */
	return ok;
}

/* Sends the side's next statement; false when it has nothing left. */
static bool verifier_send(struct verifier *v, int side, struct svc_error *err)
{
	/* Blocks of about batch_rows rows, at least one. */
	long long want = (long long)((double)v->batch_rows / v->rows_per_block);
	bool sent;

	if (want < 1)
		want = 1;
	if (side == SIDE_SOURCE) {
		char from[32], to[32];
		const char *p[2] = {from, to};
		if (v->next >= v->nblocks)
			return false;
		snprintf(from, sizeof(from), "(%lld,0)", v->next);
		if (want > v->nblocks - v->next)
			want = v->nblocks - v->next;
		v->next += want;
		snprintf(to, sizeof(to), "(%lld,0)", v->next);
		sent = PQsendQueryParams(v->conn[side], v->sql_chunk, 2, NULL, p, NULL, NULL, 0);
	} else {
		/* The target's partitions one after the other, each in block ranges. */
		char from[32], to[32], *sql = NULL;
		const char *p[2] = {from, to};
		long long nb;
		while (v->next_part < PQntuples(v->parts) &&
		       v->part_next >= strtoll(PQgetvalue(v->parts, v->next_part, 1), NULL, 10)) {
			v->next_part++;
			v->part_next = 0;
		}
		if (v->next_part >= PQntuples(v->parts))
			return false;
		nb = strtoll(PQgetvalue(v->parts, v->next_part, 1), NULL, 10);
		snprintf(from, sizeof(from), "(%lld,0)", v->part_next);
		if (want > nb - v->part_next)
			want = nb - v->part_next;
		v->part_next += want;
		snprintf(to, sizeof(to), "(%lld,0)", v->part_next);
		if (!(sql = verify_sql(v->spec, PQgetvalue(v->parts, v->next_part, 0))))
			return svc_fail(err, SVC_INTERNAL, "out of memory");
		sent = PQsendQueryParams(v->conn[side], sql, 2, NULL, p, NULL, NULL, 0);
		free(sql);
	}
	if (!sent)
		return svc_fail(err, SVC_UNAVAILABLE, "checksum connection: %s",
				PQerrorMessage(v->conn[side]));
	v->busy[side] = true;
	v->estimate[side] = (double)want * v->rows_per_block;
	pace_spend(&v->pace, v->estimate[side]);
	return true;
}

static bool verifier_has_work(const struct verifier *v, int side)
{
	int i;

	if (side == SIDE_SOURCE)
		return v->next < v->nblocks;
	for (i = v->next_part; i < PQntuples(v->parts); i++)
		if ((i == v->next_part ? v->part_next : 0) <
		    strtoll(PQgetvalue(v->parts, i, 1), NULL, 10))
			return true;
	return false;
}

/* Both connections in one REPEATABLE READ snapshot; the work measured in it. */
static bool verifier_open(struct verifier *v, struct svc_error *err)
{
	const struct copy_verify_spec *s = v->spec;
	char why[256], oid[16], *lit = NULL, *sql = NULL;
	const char *p[1] = {oid};
	PGresult *res;
	int side;
	bool ok;

	for (side = 0; side < 2; side++)
		if (!(v->conn[side] = lane_connect(v->ctx, "", why, sizeof(why))))
			return svc_fail(err, SVC_UNAVAILABLE, "checksum connection: %s", why);
	res = db_exec(v->conn[SIDE_SOURCE],
		      "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "
		      "SELECT pg_catalog.pg_export_snapshot()",
		      0, NULL, err);
	if (!res)
		return false;
	v->in_xact[SIDE_SOURCE] = true;
	lit = PQescapeLiteral(v->conn[SIDE_TARGET], PQgetvalue(res, 0, 0),
			      strlen(PQgetvalue(res, 0, 0)));
	PQclear(res);
	ok = lit && asprintf(&sql,
			     "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "
			     "SET TRANSACTION SNAPSHOT %s",
			     lit) >= 0;
	PQfreemem(lit);
	if (!ok)
		return svc_fail(err, SVC_INTERNAL, "out of memory");
	res = db_exec(v->conn[SIDE_TARGET], sql, 0, NULL, err);
	free(sql);
	if (!res)
		return false;
	PQclear(res);
	v->in_xact[SIDE_TARGET] = true;
	/* Every row the snapshot sees lies below the size measured after it. */
	if (!relation_blocks(v->conn[SIDE_SOURCE], s->source_oid, &v->nblocks, err))
		return false;
	snprintf(oid, sizeof(oid), "%u", s->target_oid);
	v->parts = db_exec(v->conn[SIDE_TARGET],
			   "SELECT inhrelid::pg_catalog.regclass::text, "
			   "pg_catalog.pg_relation_size(inhrelid) / "
			   "pg_catalog.current_setting('block_size')::bigint "
			   "FROM pg_catalog.pg_inherits WHERE inhparent = $1::oid ORDER BY 1",
			   1, p, err);
	return v->parts != NULL;
}

static void verifier_close(struct verifier *v)
{
	int side;

	for (side = 0; side < 2; side++) {
		if (!v->conn[side])
			continue;
		if (v->busy[side]) {
			char why[256];
			PGresult *res;
			(void)db_cancel(v->conn[side], why, sizeof(why));
			while ((res = PQgetResult(v->conn[side])) != NULL)
				PQclear(res);
		}
		if (v->in_xact[side])
			PQclear(PQexec(v->conn[side], "ROLLBACK"));
		PQfinish(v->conn[side]);
	}
	PQclear(v->parts);
	free(v->sql_chunk);
	free(v->months);
}

enum copy_outcome copy_verify(struct job_ctx *ctx, const struct copy_verify_spec *spec,
			      json_t **differing, long long *rows, struct svc_error *err)
{
	struct verifier v = {.ctx = ctx, .spec = spec};
	enum copy_outcome outcome = COPY_FAILED;
	double last = 0;
	size_t i;

	*differing = NULL;
	*rows = 0;
	if (!(v.sql_chunk = verify_sql(spec, spec->source))) {
		svc_fail(err, SVC_INTERNAL, "out of memory");
		goto out;
	}
	if (!spec->read_knobs(spec->arg, &v.batch_rows, &v.max_rows_per_s, err) ||
	    !verifier_open(&v, err))
		goto out;
	v.rows_per_block = rows_per_block(spec->rows_estimate, v.nblocks);
	pace_init(&v.pace, v.max_rows_per_s, monotonic_ms());
	for (;;) {
		struct pollfd fds[2];
		int nfds = 0, side, timeout = 250, sides[2], pace_ms;
		double t = (monotonic_ms() / 1000.0);

		if (job_should_stop(ctx)) {
			outcome = COPY_STOPPED;
			goto out;
		}
		if (t - last >= 1.0) {
			long long total = 2 * spec->rows_estimate;
			if (!spec->read_knobs(spec->arg, &v.batch_rows, &v.max_rows_per_s, err))
				goto out;
			pace_set_rate(&v.pace, v.max_rows_per_s, monotonic_ms());
			if (!job_save(ctx, "validate", v.scanned, total > v.scanned ? total : v.scanned,
				      "rows", NULL)) {
				outcome = COPY_STOPPED;
				goto out;
			}
			last = t;
		}
		for (side = 0; side < 2; side++) {
			if (v.busy[side] || !verifier_has_work(&v, side))
				continue;
			if (spec->parallel < 2 && v.busy[1 - side])
				continue; /* one range in flight at a time */
			if ((pace_ms = pace_wait_ms(&v.pace, monotonic_ms(), timeout)) > 0) {
				timeout = pace_ms;
				continue;
			}
			if (!verifier_send(&v, side, err))
				goto out;
		}
		for (side = 0; side < 2; side++)
			if (v.busy[side]) {
				fds[nfds].fd = PQsocket(v.conn[side]);
				fds[nfds].events = POLLIN;
				fds[nfds].revents = 0;
				sides[nfds++] = side;
			}
		if (!nfds) {
			if (!verifier_has_work(&v, SIDE_SOURCE) && !verifier_has_work(&v, SIDE_TARGET))
				break;
			job_sleep_ms(ctx, timeout);
			continue;
		}
		if (poll(fds, (nfds_t)nfds, timeout) < 0)
			continue;
		for (i = 0; i < (size_t)nfds; i++) {
			side = sides[i];
			if (!PQconsumeInput(v.conn[side])) {
				svc_fail(err, SVC_UNAVAILABLE, "checksum connection: %s",
					 PQerrorMessage(v.conn[side]));
				goto out;
			}
			if (!PQisBusy(v.conn[side]) && !verifier_collect(&v, side, err))
				goto out;
		}
	}
	*differing = json_array();
	for (i = 0; i < v.nmonths; i++) {
		const struct month_sum *m = &v.months[i];
		*rows += m->n[SIDE_SOURCE];
		if (m->n[0] != m->n[1] || m->sum[0] != m->sum[1])
			json_array_append_new(*differing, json_string(m->month));
	}
	outcome = COPY_DONE;
out:
	verifier_close(&v);
	return outcome;
}

/* ---- the first and last day of a column, at the job's rate ---------------- */

/* Folds one range's first and last day (text, NULL when it has none) into *lo and *hi. */
static void range_fold(const PGresult *res, long *lo, long *hi, bool *found)
{
	long a, b;

	/* A day before year 1 or after 9999 does not parse: such rows go to the default. */
	if (PQgetisnull(res, 0, 0) || !calendar_parse_date(PQgetvalue(res, 0, 0), &a) ||
	    !calendar_parse_date(PQgetvalue(res, 0, 1), &b))
		return;
	if (!*found || a < *lo)
		*lo = a;
	if (!*found || b > *hi)
		*hi = b;
	*found = true;
}

enum copy_outcome copy_range(struct job_ctx *ctx, const struct copy_range_spec *spec, long *lo,
			     long *hi, bool *found, struct svc_error *err)
{
	enum copy_outcome outcome = COPY_FAILED;
	long batch_rows = 0, rate = 0;
	long long nblocks, next = 0, scanned = 0;
	double per_block, last_knobs = -1e9;
	char why[256], *sql = NULL;
	struct pace pc;
	PGconn *conn = NULL;
	PGresult *res;

	*found = false;
	*lo = *hi = 0;
	if (asprintf(&sql,
		     "SELECT min(%s) FILTER (WHERE pg_catalog.isfinite(%s))::date::text, "
		     "max(%s) FILTER (WHERE pg_catalog.isfinite(%s))::date::text, count(*) "
		     "FROM %s WHERE ctid >= $1::tid AND ctid < $2::tid",
		     spec->column, spec->column, spec->column, spec->column, spec->table) < 0) {
		sql = NULL;
		svc_fail(err, SVC_INTERNAL, "out of memory");
		goto out;
	}
	if (!(conn = lane_connect(ctx, "", why, sizeof(why)))) {
		svc_fail(err, SVC_UNAVAILABLE, "range connection: %s", why);
		goto out;
	}
	if (!(res = db_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, err)))
		goto out;
	PQclear(res);
	/* The snapshot's first statement: every row it sees lies below the size measured. */
	if (!relation_blocks(conn, spec->table_oid, &nblocks, err))
		goto out;
	per_block = rows_per_block(spec->rows_estimate, nblocks);
	pace_init(&pc, 0, monotonic_ms());
	while (next < nblocks) {
		char from[32], to[32];
		const char *p2[2] = {from, to};
		double t = monotonic_ms(), sent;
		long long want;
		int wait_ms;

		if (job_should_stop(ctx)) {
			outcome = COPY_STOPPED;
			goto out;
		}
		if (t - last_knobs >= 1000.0 * COPY_SAVE_EVERY_S) {
			if (!spec->knobs(spec->arg, &batch_rows, &rate, err))
				goto out;
			pace_set_rate(&pc, rate, t);
			if (!job_save(ctx, spec->phase, scanned,
				      spec->rows_estimate > scanned ? spec->rows_estimate : scanned,
				      "rows", NULL)) {
				outcome = COPY_STOPPED;
				goto out;
			}
			last_knobs = t;
		}
		if ((wait_ms = pace_wait_ms(&pc, t, 250)) > 0) {
			job_sleep_ms(ctx, wait_ms);
			continue;
		}
		want = (long long)((double)batch_rows / per_block);
		if (want < 1)
			want = 1;
		if (want > nblocks - next)
			want = nblocks - next;
		snprintf(from, sizeof(from), "(%lld,0)", next);
		next += want;
		snprintf(to, sizeof(to), "(%lld,0)", next);
		sent = (double)want * per_block;
		pace_spend(&pc, sent);
		if (!(res = db_exec(conn, sql, 2, p2, err)))
			goto out;
		scanned += strtoll(PQgetvalue(res, 0, 2), NULL, 10);
		pace_spend(&pc, strtod(PQgetvalue(res, 0, 2), NULL) - sent); /* what it held */
		range_fold(res, lo, hi, found);
		PQclear(res);
	}
	outcome = COPY_DONE;
out:
	PQfinish(conn); /* ends the read-only transaction */
	free(sql);
	return outcome;
}

/* ---- standalone statements over several connections ---------------------- */

/* The first statement not yet sent whose key no connection is running; n if none. */
static size_t next_statement(const bool *sent, const char *const *keys, size_t n,
			     const long *running, int nconn)
{
	size_t s;
	int i;

	for (s = 0; s < n; s++) {
		bool busy = false;
		if (sent[s])
			continue;
		for (i = 0; keys && i < nconn && !busy; i++)
			busy = running[i] >= 0 && strcmp(keys[running[i]], keys[s]) == 0;
		if (!busy)
			return s;
	}
	return n;
}

enum copy_outcome copy_statements(struct job_ctx *ctx, const char *const *stmts,
				  const char *const *undo, const char *const *keys, size_t n,
				  int parallel, const struct copy_pace *pace, const char *phase,
				  const char *unit, size_t *done, struct svc_error *err)
{
	long batch_rows = 0, rate = 0;
	struct pace pc; /* over pace->rows of the statements sent */
	double last_knobs = -1e9;
	PGconn *conn[COPY_PARALLEL_MAX] = {0};
	long running[COPY_PARALLEL_MAX]; /* index into stmts, -1 when idle */
	bool undoing[COPY_PARALLEL_MAX]; /* what runs is undo[running] */
	int attempt[COPY_PARALLEL_MAX];
	enum copy_outcome outcome = COPY_FAILED;
	bool *sent = NULL;
	size_t nsent = 0;
	char why[256];
	int i, nconn = parallel < (int)n ? parallel : (int)n;

	*done = 0;
	if (nconn < 1)
		return COPY_DONE;
	if (!(sent = calloc(n, sizeof(*sent))))
		return svc_fail(err, SVC_INTERNAL, "out of memory"), COPY_FAILED;
	if (nconn > COPY_PARALLEL_MAX)
		nconn = COPY_PARALLEL_MAX;
	pace_init(&pc, 0, monotonic_ms()); /* the rate comes with the first knobs */
	for (i = 0; i < nconn; i++) {
		running[i] = -1;
		/*
		 * parallel 1 asks for one core: no parallel workers for an index
		 * build either (max_parallel_maintenance_workers is 2 by default).
		 */
		if (!(conn[i] = lane_connect(ctx,
					     parallel < 2 ? "SET max_parallel_maintenance_workers = 0"
							  : "",
					     why, sizeof(why)))) {
			svc_fail(err, SVC_UNAVAILABLE, "connection %d: %s", i + 1, why);
			goto out;
		}
	}
	for (;;) {
		struct pollfd fds[COPY_PARALLEL_MAX];
		int map[COPY_PARALLEL_MAX], nfds = 0, k, timeout = 250, pace_ms;
		double now = monotonic_ms();

		if (job_should_stop(ctx)) {
			outcome = COPY_STOPPED;
			goto out;
		}
		if (pace && now - last_knobs >= 1000) {
			if (!pace->read_knobs(pace->arg, &batch_rows, &rate, err))
				goto out;
			pace_set_rate(&pc, rate, now);
			last_knobs = now;
		}
		for (i = 0; i < nconn; i++) {
			size_t next;
			if (running[i] >= 0 || nsent == n)
				continue;
			if ((next = next_statement(sent, keys, n, running, nconn)) == n)
				break; /* what is left waits for a key in use */
			if (pace && (pace_ms = pace_wait_ms(&pc, now, timeout)) > 0) {
				timeout = pace_ms;
				break;
			}
			if (pace)
				pace_spend(&pc, (double)pace->rows[next]);
			if (!PQsendQuery(conn[i], stmts[next])) {
				svc_fail(err, SVC_UNAVAILABLE, "%s: %s", stmts[next],
					 PQerrorMessage(conn[i]));
				goto out;
			}
			sent[next] = true;
			nsent++;
			running[i] = (long)next;
			undoing[i] = false;
			attempt[i] = 1;
		}
		for (i = 0; i < nconn; i++)
			if (running[i] >= 0) {
				fds[nfds].fd = PQsocket(conn[i]);
				fds[nfds].events = POLLIN;
				fds[nfds].revents = 0;
				map[nfds++] = i;
			}
		if (!nfds && nsent == n) {
			outcome = COPY_DONE;
			goto out;
		}
		if (!nfds) {
			/* Nothing runs: the next statement is not due yet. */
			if (!job_sleep_ms(ctx, timeout)) {
				outcome = COPY_STOPPED;
				goto out;
			}
			continue;
		}
		if (poll(fds, (nfds_t)nfds, timeout) < 0)
			continue;
		for (k = 0; k < nfds; k++) {
			PGresult *res;
			bool ok = true, retry = false;
			const char *sql;
			i = map[k];
			sql = undoing[i] ? undo[running[i]] : stmts[running[i]];
			if (!PQconsumeInput(conn[i])) {
				svc_fail(err, SVC_UNAVAILABLE, "%s: %s", sql, PQerrorMessage(conn[i]));
				goto out;
			}
			if (PQisBusy(conn[i]))
				continue;
			while ((res = PQgetResult(conn[i])) != NULL) {
				ExecStatusType st = PQresultStatus(res);
				if (ok && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
					const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
					ok = false;
					if (ddl_retryable(state) && attempt[i] < DDL_ATTEMPTS) {
						retry = true;
					} else {
						db_result_fail(conn[i], res, err, sql);
					}
				}
				PQclear(res);
			}
			if (ok && !undoing[i]) {
				running[i] = -1;
				(*done)++;
				job_save(ctx, phase, (int64_t)*done, (int64_t)n, unit, NULL);
				continue;
			}
			if (!ok && !retry)
				goto out;
			if (retry) {
				long wait_ms = ddl_backoff_ms(attempt[i]);
				job_event(ctx, JOB_EVENT_WARNING, NULL,
					  "%s: lock_timeout (%ld ms) reached or deadlock in attempt %d of %d; "
					  "retrying in %ld ms",
					  sql, job_lock_timeout_ms(ctx), attempt[i], DDL_ATTEMPTS, wait_ms);
				attempt[i]++;
				if (!job_sleep_ms(ctx, wait_ms)) {
					running[i] = -1;
					outcome = COPY_STOPPED;
					goto out;
				}
			}
			/*
			 * Next: the undo of a statement cut off (its leftover, such as an
			 * invalid index), then the statement again; or, after a
			 * successful undo, the statement.
			 */
			if (undoing[i])
				undoing[i] = !ok; /* the undo again, or now the statement */
			else
				undoing[i] = undo && undo[running[i]];
			sql = undoing[i] ? undo[running[i]] : stmts[running[i]];
			if (!PQsendQuery(conn[i], sql)) {
				running[i] = -1;
				svc_fail(err, SVC_UNAVAILABLE, "%s: %s", sql, PQerrorMessage(conn[i]));
				goto out;
			}
		}
	}
out:
	for (i = 0; i < nconn; i++) {
		if (conn[i] && running[i] >= 0) {
			PGresult *res;
			(void)db_cancel(conn[i], why, sizeof(why));
			while ((res = PQgetResult(conn[i])) != NULL)
				PQclear(res);
		}
		PQfinish(conn[i]);
	}
	free(sent);
	return outcome;
}
