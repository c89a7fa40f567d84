/*
 * DESIGN: no threads of its own. The job's worker thread opens `parallel`
 * extra sessions ("lanes") and keeps one copy statement in flight on each
 * through libpq's asynchronous API, waiting in poll() on their sockets;
 * the job's own connection reads the knobs and stores checkpoints. All of
 * the state below belongs to that one thread.
 *
 * The work is the block range [0, nblocks) of the source, cut into ranges
 * of about batch_rows rows. A finished range joins `done` (kept sorted and
 * merged); a range that hit a lock time-out or a deadlock goes to `retry`.
 * The checkpoint is `done` itself, so a new attempt sends only the gaps.
 */
#include "copy.h"

#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"

#define COPY_RANGE_ATTEMPTS 6
#define COPY_SAVE_EVERY_S   1.0

struct range {
	long long from, to; /* blocks, [from, to) */
	int attempt;
};

struct lane {
	PGconn *conn;
	bool busy;
	struct range r;
};

struct copier {
	struct job_ctx *ctx;
	const struct copy_spec *spec;
	char *sql;
	char filenode[24];
	long long nblocks;
	struct range *done, *retry;
	size_t ndone, nretry, cap_done, cap_retry;
	long long next; /* where fresh ranges start */
	long long copied, copied_at_start;
	long batch_rows, max_rows_per_s;
	double rows_per_block, t0;
	int nlanes;
	struct lane lanes[COPY_PARALLEL_MAX];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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

/* The next range to send: a retry first, else the next gap from c->next. */
static bool take_range(struct copier *c, struct range *out)
{
	long long pos = c->next, limit = c->nblocks, want;
	size_t i;

	if (c->nretry) {
		*out = c->retry[--c->nretry];
		return true;
	}
	for (i = 0; i < c->ndone; i++) {
		if (c->done[i].from <= pos && pos < c->done[i].to)
			pos = c->done[i].to;
		else if (c->done[i].from > pos) {
			limit = c->done[i].from < limit ? c->done[i].from : limit;
			break;
		}
	}
	if (pos >= c->nblocks)
		return false;
	want = (long long)((double)c->batch_rows / c->rows_per_block);
	if (want < 1)
		want = 1;
	out->from = pos;
	out->to = pos + want < limit ? pos + want : limit;
	out->attempt = 1;
	c->next = out->to;
	return true;
}

static bool lane_send(struct copier *c, struct lane *l)
{
	char from[32], to[32];
	const char *p[2] = {from, to};

	snprintf(from, sizeof(from), "(%lld,0)", l->r.from);
	snprintf(to, sizeof(to), "(%lld,0)", l->r.to);
	if (!PQsendQueryParams(l->conn, c->sql, 2, NULL, p, NULL, NULL, 0))
		return false;
	l->busy = true;
	return true;
}

/* Rows the busy lanes are copying, for the rate limit. */
static double rows_in_flight(const struct copier *c)
{
	double n = 0;
	int i;

	for (i = 0; i < c->nlanes; i++)
		if (c->lanes[i].busy)
			n += (double)(c->lanes[i].r.to - c->lanes[i].r.from) * c->rows_per_block;
	return n;
}

/*
 * Reads a finished lane's result. A lock time-out or deadlock sends its
 * range back to the queue; any other error fails the copy.
 */
static bool lane_collect(struct copier *c, struct lane *l, struct svc_error *err)
{
	PGresult *res;
	bool ok = true, retry = false;

	while ((res = PQgetResult(l->conn)) != NULL) {
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
			c->copied += strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		} else if (ok) {
			const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
			if (state && (!strcmp(state, "55P03") || !strcmp(state, "40P01")) &&
			    l->r.attempt < COPY_RANGE_ATTEMPTS) {
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
				svc_fail(err, SVC_INTERNAL, "copy of blocks %lld..%lld: %s",
					 l->r.from, l->r.to, PQresultErrorMessage(res));
				snprintf(err->sqlstate, sizeof(err->sqlstate), "%s",
					 state ? state : "");
				if (db_error_is_connection(l->conn, err))
					err->code = SVC_UNAVAILABLE;
			}
			ok = false;
		}
		PQclear(res);
	}
	l->busy = false;
	if (ok)
		return done_add(c, l->r) || svc_fail(err, SVC_INTERNAL, "out of memory");
	if (retry) {
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
		PGcancel *cancel;
		if (!l->busy)
			continue;
		if ((cancel = PQgetCancel(l->conn)) != NULL) {
			PQcancel(cancel, why, sizeof(why));
			PQfreeCancel(cancel);
		}
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
			json_pack("{s:s, s:s, s:I, s:o, s:I}", "phase", "copy", "filenode",
				  c->filenode, "nblocks", (json_int_t)c->nblocks, "done", done,
				  "copied", (json_int_t)c->copied));
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
	if (!fn || strcmp(fn, c->filenode) != 0 || !json_is_array(done)) {
		if (fn)
			job_event(c->ctx, JOB_EVENT_WARNING, NULL,
				  "the source was rewritten since the last attempt (VACUUM FULL or "
				  "CLUSTER): the copy starts over");
		return;
	}
	json_array_foreach(done, i, r)
	{
		struct range g = {json_integer_value(json_array_get(r, 0)),
				  json_integer_value(json_array_get(r, 1)), 1};
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

static bool copier_open_lanes(struct copier *c, struct svc_error *err)
{
	char why[256], set[128];
	int i;

	/*
	 * synchronous_commit off is safe here: a range is recorded done only by
	 * a later, synchronous commit on the job's connection, whose WAL flush
	 * covers every commit record written before it.
	 */
	snprintf(set, sizeof(set), "SET lock_timeout = %ld; SET synchronous_commit = off",
		 job_lock_timeout_ms(c->ctx));
	for (i = 0; i < c->spec->parallel; i++) {
		PGresult *res;
		if (!(c->lanes[i].conn = job_connect(c->ctx, "partd-copy", why, sizeof(why))))
			return svc_fail(err, SVC_UNAVAILABLE, "copy connection %d: %s", i + 1, why);
		c->nlanes = i + 1;
		res = db_exec(c->lanes[i].conn, set, 0, NULL, err);
		if (!res)
			return false;
		PQclear(res);
	}
	return true;
}

static void copier_free(struct copier *c)
{
	int i;

	for (i = 0; i < c->nlanes; i++)
		PQfinish(c->lanes[i].conn);
	free(c->sql);
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
	if (asprintf(&c.sql,
		     "WITH src AS (SELECT %s FROM %s WHERE ctid >= $1::tid AND ctid < $2::tid "
		     "FOR SHARE), ins AS (INSERT INTO %s (%s) SELECT %s FROM src ON CONFLICT DO "
		     "NOTHING) SELECT count(*) FROM src",
		     spec->columns, spec->source, spec->target, spec->columns, spec->columns) < 0) {
		c.sql = NULL;
		svc_fail(err, SVC_INTERNAL, "out of memory");
		goto out;
	}
	if (!copier_measure(&c, c.filenode, sizeof(c.filenode), &c.nblocks, err) ||
	    !spec->read_knobs(spec->arg, &c.batch_rows, &c.max_rows_per_s, err))
		goto out;
	if (cp && json_object_get(cp, "done"))
		copier_resume(&c, cp);
	c.copied_at_start = c.copied;
	c.rows_per_block = c.nblocks > 0 && spec->rows_estimate > 0
			       ? (double)spec->rows_estimate / (double)c.nblocks
			       : 50.0;
	if (c.rows_per_block < 1)
		c.rows_per_block = 1;
	if (!copier_open_lanes(&c, err))
		goto out;
	if (!cp || !json_object_get(cp, "done"))
		job_event(ctx, JOB_EVENT_INFO,
			  json_pack("{s:I, s:i, s:I}", "blocks", (json_int_t)c.nblocks, "parallel",
				    spec->parallel, "batch_rows", (json_int_t)c.batch_rows),
			  "copy: %lld blocks of %s in ranges of about %ld rows over %d connections",
			  c.nblocks, spec->source, c.batch_rows, spec->parallel);
	c.t0 = now_s();
	for (;;) {
		struct pollfd fds[COPY_PARALLEL_MAX];
		int nfds = 0, i, busy = 0, timeout = 250;
		double t = now_s();
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
			if (!l->busy && c.max_rows_per_s > 0) {
				/* Stay under the rate: send only once the rows so far are due. */
				double due = c.t0 + ((double)(c.copied - c.copied_at_start) +
						     rows_in_flight(&c)) /
							(double)c.max_rows_per_s;
				if (due > t) {
					int wait = (int)((due - t) * 1000) + 1;
					timeout = wait < timeout ? wait : timeout;
					break;
				}
			}
			if (!l->busy && take_range(&c, &r)) {
				l->r = r;
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
		if (!busy && !c.nretry && c.next >= c.nblocks && blocks_done(&c) >= c.nblocks) {
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
			c.next = 0;
			continue;
		}
		if (busy && poll(fds, (nfds_t)nfds, timeout) < 0)
			continue;
		if (!busy) {
			if (c.next >= c.nblocks && !c.nretry) {
				/* Gaps left behind a done range: scan again from the start. */
				c.next = 0;
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
		outcome = COPY_DONE;
	} else {
		lanes_drain(&c);
	}
out:
	*copied = c.copied;
	copier_free(&c);
	return outcome;
}
