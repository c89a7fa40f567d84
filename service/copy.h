/*
 * copy: the online copy of a table's rows into another while writers go on,
 * in ranges of heap blocks (TID range scans, PostgreSQL 14+) spread over
 * several connections that one job thread drives asynchronously.
 *
 * Correctness rests on the caller's dual-write trigger being in place
 * before the copy starts: every row written since lives in the target
 * already, so the copy only has to bring over the rows that existed then,
 * all of which lie below the relation's size measured after the trigger
 * committed. Each range is one statement: rows read FOR SHARE (a
 * concurrent UPDATE or DELETE waits for us, then its trigger applies it
 * after our insert) and inserted ON CONFLICT (the target's key) DO NOTHING
 * (a row the trigger wrote is newer than ours). Copying a range twice therefore changes
 * nothing, which is what makes a checkpoint that lags the work safe.
 * A range is first sent without the ON CONFLICT clause, which costs a
 * speculative insertion per row; if it meets a row already there it fails
 * whole (unique_violation, nothing inserted) and goes again with it.
 */
#ifndef PARTD_COPY_H
#define PARTD_COPY_H

#include <stdbool.h>

#include "job.h"
#include "svc.h"

#define COPY_PARALLEL_MAX 16

struct copy_spec {
	const char *source;  /* schema-qualified, quoted */
	const char *target;  /* schema-qualified, quoted */
	const char *columns; /* quoted, comma-separated insertable columns */
	const char *key;     /* the target's primary key columns, quoted */
	unsigned int source_oid;
	int parallel;            /* connections, 1..COPY_PARALLEL_MAX */
	long long rows_estimate; /* for progress; reltuples is fine */
	/*
	 * Called about once a second on the job's connection: the batch size in
	 * rows and the rate limit (0: none) as the user last tuned them.
	 */
	bool (*read_knobs)(void *arg, long *batch_rows, long *max_rows_per_s,
			   struct svc_error *err);
	void *arg;
};

enum copy_outcome { COPY_DONE, COPY_STOPPED, COPY_FAILED };

/*
 * Which ranges go with ON CONFLICT DO NOTHING. After a plain range meets a
 * row already in the target, the next `run` ranges go with it: a run of at
 * least COPY_CONFLICT_RUN_MIN, doubled at each conflict up to
 * COPY_CONFLICT_RUN_MAX, and halved at each plain range that goes in, when
 * that range was sent after the last conflict (one sent before it says
 * nothing of the table since). Zero it to start.
 */
#define COPY_CONFLICT_RUN_MIN 4
#define COPY_CONFLICT_RUN_MAX 256
struct copy_conflicts {
	long left, run;      /* ranges still to send with the clause; the next run */
	long long conflicts; /* plain ranges that met a row, so far */
};
/* Whether the next new range goes with the clause (then counted off the run). */
bool copy_conflicts_take(struct copy_conflicts *k);
/* A plain range met a row already there. */
void copy_conflicts_met(struct copy_conflicts *k);
/* A plain range went in; seen is k->conflicts when it was sent. */
void copy_conflicts_passed(struct copy_conflicts *k, long long seen);

/*
 * Copies every row of spec->source into spec->target, resuming from cp (the
 * checkpoint a previous attempt stored, or NULL), storing progress in rows
 * and a checkpoint {"phase":"copy", ...} with job_save as it goes.
 * *copied is the number of rows the copy inserted, this attempt and the
 * ones before (rows the trigger wrote first are not counted, nor is a
 * range copied again). COPY_STOPPED when job_should_stop() said so (the ranges in
 * flight are cancelled); COPY_FAILED with err filled otherwise.
 */
enum copy_outcome copy_run(struct job_ctx *ctx, const struct copy_spec *spec, const json_t *cp,
			   long long *copied, struct svc_error *err);

/*
 * How copy_statements keeps to the rate limit: rows[i] is what statement i
 * reads (an estimate will do), and read_knobs, as in copy_spec, gives the
 * rate (max_rows_per_s, 0: none) as the user last tuned it. A statement is
 * sent only once the rows of those sent before it are due at that rate.
 */
struct copy_pace {
	const long long *rows;
	bool (*read_knobs)(void *arg, long *batch_rows, long *max_rows_per_s,
			   struct svc_error *err);
	void *arg;
};

/*
 * Runs stmts[0..n), each a statement of its own outside any transaction
 * block (CREATE INDEX CONCURRENTLY, say), over `parallel` new connections
 * at once, under lock_timeout; one that times out on a lock is sent again
 * a few times, with backoff, after undo[i] (when undo and undo[i] are not
 * NULL: what clears the leftover of an attempt cut off, for CREATE INDEX
 * CONCURRENTLY the DROP INDEX CONCURRENTLY IF EXISTS of its invalid index).
 * Two statements with equal keys[i] (when keys is not NULL: the relation
 * they lock, say) never run at once: two concurrent index builds on one
 * table deadlock, each waiting for the other's transaction. pace, when
 * not NULL, holds them to the rate limit. *done counts the statements that
 * succeeded and progress is saved as phase/unit. COPY_STOPPED when the job
 * should stop (what runs is cancelled); COPY_FAILED with err naming the
 * statement that failed.
 */
enum copy_outcome copy_statements(struct job_ctx *ctx, const char *const *stmts,
				  const char *const *undo, const char *const *keys, size_t n,
				  int parallel, const struct copy_pace *pace, const char *phase,
				  const char *unit, size_t *done, struct svc_error *err);

/*
 * The validation of a copy: per month (of `column`), the row count and an
 * order-independent checksum of every column, of `source` (a plain table,
 * read in block ranges) and of every partition of `target`, both in one
 * snapshot shared by two connections, so writers that go on meanwhile
 * cannot make the sides differ. Reads at most the knobs' rate (rows/s,
 * both sides together). *differing is a new array of the months that
 * differ ("YYYY-MM"); *rows the source's row count.
 */
struct copy_verify_spec {
	const char *source, *target; /* schema-qualified, quoted */
	unsigned int source_oid, target_oid;
	const char *columns; /* every column, quoted, comma-separated */
	const char *column;  /* the partition column, quoted */
	/*
	 * Every column's type hashes in agreement with its equality
	 * (sql/migration_hashable.sql): rows are checksummed with
	 * hash_record_extended, else with md5 of their text form.
	 */
	bool binary_hash;
	/* 1: one side reads at a time (one core); 2 or more: both at once. */
	int parallel;
	long long rows_estimate;
	bool (*read_knobs)(void *arg, long *batch_rows, long *max_rows_per_s,
			   struct svc_error *err);
	void *arg;
};

enum copy_outcome copy_verify(struct job_ctx *ctx, const struct copy_verify_spec *spec,
			      json_t **differing, long long *rows, struct svc_error *err);

/*
 * The first and last calendar day of `column` in `table`: what one
 * min()/max() over the table says, read instead in ranges of heap blocks
 * of about batch_rows rows, one statement each, at most max_rows_per_s
 * rows a second (as knobs gives them, read about once a second), all in
 * one REPEATABLE READ snapshot on a connection of its own. So a table with
 * no index on the column is scanned at the rate the user set for the rest
 * of the job, not at full speed on one core. *found is false when no row
 * has a value. Progress is saved in rows as phase. COPY_STOPPED when the
 * job should stop; COPY_FAILED with err filled otherwise.
 */
struct copy_range_spec {
	const char *table;  /* schema-qualified, quoted */
	const char *column; /* quoted; date, timestamp or timestamptz */
	unsigned int table_oid;
	long long rows_estimate;
	const char *phase;
	bool (*knobs)(void *arg, long *batch_rows, long *max_rows_per_s, struct svc_error *err);
	void *arg;
};

enum copy_outcome copy_range(struct job_ctx *ctx, const struct copy_range_spec *spec, long *lo,
			     long *hi, bool *found, struct svc_error *err);

#endif
