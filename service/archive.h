/*
 * archive: a partition's rows as a gzip'd CSV file, written straight from
 * COPY ... TO STDOUT through libpq and zlib (no temp copy of the data), and
 * read back: to verify it and to restore it with COPY ... FROM STDIN.
 *
 * The sha256 is of the uncompressed CSV stream (what COPY produced and
 * what a restore feeds back), so a file recompressed at another level
 * still verifies. Rows are CSV records, counted with quoting in mind (a
 * quoted field may hold a newline).
 *
 * Files are written as <path>.tmp, fsync'd, renamed into place and the
 * directory fsync'd: a crash leaves the old file or the new one, never
 * half of one. Errors (ENOSPC, EACCES, ...) come back in why with the
 * file's name; a half-written temp file is removed.
 */
#ifndef PARTD_ARCHIVE_H
#define PARTD_ARCHIVE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct archive_stats {
	long long rows;
	long long raw_bytes;  /* of the CSV */
	long long file_bytes; /* of the gzip file */
	char sha256[65];      /* hex, of the CSV */
	double read_back_ms;  /* archive_copy_out to a file: reading it back */
	bool stopped;         /* ended early because stop asked (see below) */
};

/*
 * A way to end a long archive operation early: requested(arg) is asked
 * every 1024 rows and every chunk read, and while the server has not
 * answered; true stops the operation. A COPY is then cancelled on the
 * server (COPY FROM ends with an error, so nothing of it stays) and an
 * unfinished file is removed; the function returns false with stopped set.
 * A NULL stop (or requested) never stops. job_id, when not 0, names the
 * job in the log should a cancel fail.
 */
struct archive_stop {
	bool (*requested)(void *arg);
	void *arg;
	int64_t job_id;
};

/*
 * The directory of a "file:///abs/path" URL into dir; false when it is not
 * one (only file:// is supported).
 */
bool archive_url_dir(const char *url, char *dir, size_t dirlen);
/* Makes dir (and its parents) if needed and checks a file can be written there. */
bool archive_dir_probe(const char *dir, char *why, size_t whylen);
/*
 * Runs copy_sql (a COPY ... TO STDOUT (FORMAT csv)) on conn and writes its
 * output gzip'd (level) to path: to a temp file, read back (rows, sha256)
 * before it is renamed into place, so a file under path has always been
 * checked. With path NULL it only hashes and counts.
 */
bool archive_copy_out(PGconn *conn, const char *copy_sql, const char *path, int level,
		      const struct archive_stop *stop, struct archive_stats *st, char *why,
		      size_t whylen);
/* Re-reads path: gunzips it, counts CSV records and hashes the CSV. */
bool archive_read(const char *path, const struct archive_stop *stop, struct archive_stats *st,
		  char *why, size_t whylen);
/*
 * Runs copy_sql (a COPY ... FROM STDIN (FORMAT csv)) on conn and feeds it
 * the gunzipped content of path; st gets what was sent.
 */
bool archive_copy_in(PGconn *conn, const char *copy_sql, const char *path,
		     const struct archive_stop *stop, struct archive_stats *st, char *why,
		     size_t whylen);
/* Writes text to path (temp file, fsync, rename). */
bool archive_write_text(const char *path, const char *text, char *why, size_t whylen);

/* For tests: counts the CSV records completed in buf, carrying quote state. */
struct archive_csv {
	bool in_quotes;
	bool mid_record; /* bytes seen since the last record end */
};
long long archive_csv_count(struct archive_csv *c, const char *buf, size_t n);

#endif
