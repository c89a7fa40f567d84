#include "archive.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "calendar.h"
#include "db.h"

#define CHUNK (256 * 1024)

long long archive_csv_count(struct archive_csv *c, const char *buf, size_t n)
{
	long long records = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		/* A doubled quote inside quotes toggles twice: still inside. */
		if (buf[i] == '"')
			c->in_quotes = !c->in_quotes;
		if (buf[i] == '\n' && !c->in_quotes) {
			records++;
			c->mid_record = false;
		} else {
			c->mid_record = true;
		}
	}
	return records;
}

bool archive_url_dir(const char *url, char *dir, size_t dirlen)
{
	size_t n;

	if (!url || strncmp(url, "file://", 7) != 0 || url[7] != '/')
		return false;
	n = strlen(url + 7);
	while (n > 1 && url[7 + n - 1] == '/')
		n--;
	if (n + 1 > dirlen)
		return false;
	memcpy(dir, url + 7, n);
	dir[n] = '\0';
	return true;
}

static bool mkdirs(const char *dir, char *why, size_t whylen)
{
	char path[1024];
	size_t i, n = strlen(dir);

	if (n >= sizeof(path))
		return snprintf(why, whylen, "archive directory name too long"), false;
	memcpy(path, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0750) != 0 && errno != EEXIST) {
			snprintf(why, whylen, "cannot create archive directory %s: %s", path,
				 strerror(errno));
			return false;
		}
		path[i] = dir[i];
	}
	return true;
}

bool archive_dir_probe(const char *dir, char *why, size_t whylen)
{
	char probe[1100];
	struct stat sb;
	int fd;

	if (!mkdirs(dir, why, whylen))
		return false;
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		snprintf(why, whylen, "archive directory %s is not a directory", dir);
		return false;
	}
	snprintf(probe, sizeof(probe), "%s/.partd-probe-%ld", dir, (long)getpid());
	fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	if (fd < 0 || write(fd, "ok\n", 3) != 3 || fsync(fd) != 0) {
		snprintf(why, whylen, "archive directory %s is not writable: %s", dir,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(probe);
		return false;
	}
	close(fd);
	unlink(probe);
	return true;
}

static void hex(const unsigned char *d, unsigned int n, char *out)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
	out[2 * n] = '\0';
}

/* A gzip file being written through a temp name. */
struct gz_out {
	char path[1100], tmp[1120];
	FILE *f;
	z_stream z;
	bool z_open;
	unsigned char buf[CHUNK];
};

static bool gz_open(struct gz_out *g, const char *path, int level, char *why, size_t whylen)
{
	snprintf(g->path, sizeof(g->path), "%s", path);
	snprintf(g->tmp, sizeof(g->tmp), "%s.tmp", path);
	if (!(g->f = fopen(g->tmp, "wb"))) {
		snprintf(why, whylen, "cannot create %s: %s", g->tmp, strerror(errno));
		return false;
	}
	memset(&g->z, 0, sizeof(g->z));
	/* 15 + 16: a gzip header and trailer around the deflate stream. */
	if (deflateInit2(&g->z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		snprintf(why, whylen, "zlib: deflateInit2 failed");
		return false;
	}
	g->z_open = true;
	return true;
}

static bool gz_write(struct gz_out *g, const void *data, size_t n, int flush, char *why,
		     size_t whylen)
{
	g->z.next_in = (unsigned char *)data;
	g->z.avail_in = (unsigned int)n;
	do {
		size_t have;
		g->z.next_out = g->buf;
		g->z.avail_out = CHUNK;
		if (deflate(&g->z, flush) == Z_STREAM_ERROR) {
			snprintf(why, whylen, "zlib: deflate failed");
			return false;
		}
		have = CHUNK - g->z.avail_out;
		if (have && fwrite(g->buf, 1, have, g->f) != have) {
			snprintf(why, whylen, "cannot write %s: %s", g->tmp, strerror(errno));
			return false;
		}
	} while (g->z.avail_out == 0);
	return true;
}

static bool fsync_dir_of(const char *path)
{
	char copy[1100];
	int fd;
	bool ok;

	snprintf(copy, sizeof(copy), "%s", path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return false;
	ok = fsync(fd) == 0;
	close(fd);
	return ok;
}

/* Finishes the stream, fsyncs and closes the temp file; its size into *bytes. */
static bool gz_finish(struct gz_out *g, long long *bytes, char *why, size_t whylen)
{
	struct stat sb;

	if (!gz_write(g, "", 0, Z_FINISH, why, whylen))
		return false;
	if (fflush(g->f) != 0 || fsync(fileno(g->f)) != 0) {
		snprintf(why, whylen, "cannot write %s: %s", g->tmp, strerror(errno));
		return false;
	}
	if (fclose(g->f) != 0) {
		g->f = NULL;
		snprintf(why, whylen, "cannot write %s: %s", g->tmp, strerror(errno));
		return false;
	}
	g->f = NULL;
	if (stat(g->tmp, &sb) != 0) {
		snprintf(why, whylen, "cannot stat %s: %s", g->tmp, strerror(errno));
		return false;
	}
	*bytes = (long long)sb.st_size;
	return true;
}

/* Renames the finished temp file into place and fsyncs its directory. */
static bool gz_place(struct gz_out *g, char *why, size_t whylen)
{
	if (rename(g->tmp, g->path) != 0 || !fsync_dir_of(g->path)) {
		snprintf(why, whylen, "cannot put %s in place: %s", g->path, strerror(errno));
		return false;
	}
	return true;
}

static void gz_close(struct gz_out *g, bool committed)
{
	if (g->z_open)
		deflateEnd(&g->z);
	g->z_open = false;
	if (g->f)
		fclose(g->f);
	g->f = NULL;
	if (!committed && g->tmp[0])
		unlink(g->tmp);
}

/* Calls feed for every chunk of path's gunzipped content (below). */
typedef bool (*gz_feed_fn)(const char *buf, size_t n, void *arg, char *why, size_t whylen);
static bool gz_read(const char *path, gz_feed_fn feed, void *arg, const struct archive_stop *stop,
		    struct archive_stats *st, char *why, size_t whylen);

static bool stop_asked(const struct archive_stop *stop)
{
	return stop && stop->requested && stop->requested(stop->arg);
}

/* A COPY ... TO STDOUT being read, and whether partd still wants its rows. */
struct copy_out {
	struct db_wait w;
	bool asked; /* the stop was asked: the COPY is being cancelled */
	bool quit;  /* rows no longer wanted (asked, or the file failed) */
};

static void copy_ask(struct copy_out *c, const struct archive_stop *stop)
{
	if (!c->asked && stop_asked(stop))
		c->asked = c->quit = true;
}

/*
 * Whether a COPY that was asked to stop ended by the stop: cancelled on
 * the server (57014), or done before the cancel came. Anything else (a
 * lock_timeout, a lost connection) is the COPY's own failure.
 */
static bool ended_by_stop(const PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	return PQresultStatus(res) == PGRES_COMMAND_OK || (state && strcmp(state, "57014") == 0);
}

bool archive_copy_out(PGconn *conn, const char *copy_sql, const char *path, int level,
		      const struct archive_stop *stop, struct archive_stats *st, char *why,
		      size_t whylen)
{
	struct copy_out c = {
	    .w = {.conn = conn, .what = "an archive COPY", .job_id = stop ? stop->job_id : 0}};
	struct gz_out *g = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	PGresult *res = NULL;
	bool ok = false, committed = false, file_failed = false;
	char *row;
	int n;

	memset(st, 0, sizeof(*st));
	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		snprintf(why, whylen, "sha256 unavailable");
		goto done;
	}
	if (path && (!(g = calloc(1, sizeof(*g))) || !gz_open(g, path, level, why, whylen)))
		goto done;
	if (!PQsendQuery(conn, copy_sql)) {
		snprintf(why, whylen, "COPY failed: %s", PQerrorMessage(conn));
		goto done;
	}
	/* Asynchronously, so that a stop is seen while the COPY waits (for a lock, say). */
	while (PQisBusy(conn)) {
		copy_ask(&c, stop);
		if (!db_wait_input(&c.w, c.quit))
			break; /* the connection failed: PQgetResult says so */
	}
	res = PQgetResult(conn);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		st->stopped = c.asked && ended_by_stop(res);
		if (!st->stopped)
			snprintf(why, whylen, "COPY failed: %s", PQerrorMessage(conn));
		goto done;
	}
	PQclear(res);
	res = NULL;
	for (;;) {
		n = PQgetCopyData(conn, &row, 1);
		if (n > 0) {
			/* One row per call: rows are counted as they come. */
			if (!c.quit && g && !gz_write(g, row, (size_t)n, Z_NO_FLUSH, why, whylen))
				c.quit = file_failed = true; /* why says so */
			if (!c.quit) {
				EVP_DigestUpdate(md, row, (size_t)n);
				st->rows++;
				st->raw_bytes += n;
				if (st->rows % 1024 == 0)
					copy_ask(&c, stop);
			}
			PQfreemem(row);
			if (c.quit)
				db_wait_cancel(&c.w);
		} else if (n == 0) {
			copy_ask(&c, stop);
			if (!db_wait_input(&c.w, c.quit)) {
				n = -2;
				break;
			}
		} else {
			break;
		}
	}
	/* The COPY's own result: an error when it was cancelled or failed on the server. */
	res = PQgetResult(conn);
	if (file_failed)
		goto done;
	if (c.asked) {
		st->stopped = n == -1 && ended_by_stop(res);
		if (!st->stopped)
			snprintf(why, whylen, "COPY failed while stopping: %s",
				 PQerrorMessage(conn));
		goto done;
	}
	if (n == -2 || PQresultStatus(res) != PGRES_COMMAND_OK) {
		snprintf(why, whylen, "COPY failed: %s", PQerrorMessage(conn));
		goto done;
	}
	if (g && !gz_finish(g, &st->file_bytes, why, whylen))
		goto done;
	EVP_DigestFinal_ex(md, digest, &dlen);
	hex(digest, dlen, st->sha256);
	if (g) {
		/* Read back before it takes its name: a file in place has been checked. */
		struct archive_stats back;
		double t0 = monotonic_ms();
		if (!gz_read(g->tmp, NULL, NULL, stop, &back, why, whylen)) {
			if ((st->stopped = back.stopped))
				snprintf(
				    why, whylen,
				    "stopped reading %s back after %lld of %lld rows; the file "
				    "is removed",
				    g->tmp, back.rows, st->rows);
			goto done;
		}
		if (back.rows != st->rows || strcmp(back.sha256, st->sha256) != 0) {
			snprintf(why, whylen,
				 "%s does not read back: %lld rows sha256 %s written, %lld rows "
				 "sha256 %s read; not put in place",
				 g->tmp, st->rows, st->sha256, back.rows, back.sha256);
			goto done;
		}
		st->read_back_ms = monotonic_ms() - t0;
		if (!gz_place(g, why, whylen))
			goto done;
		committed = true;
	}
	ok = true;
done:
	if (st->stopped && c.asked)
		snprintf(why, whylen, "stopped after %lld rows: the COPY was cancelled%s", st->rows,
			 g ? " and its unfinished file removed" : "");
	PQclear(res);
	/* The rest (none, unless the COPY could not be read to its end: then give up on it). */
	while ((res = PQgetResult(conn)) != NULL) {
		bool copying = PQresultStatus(res) == PGRES_COPY_OUT;
		PQclear(res);
		if (copying)
			break;
	}
	if (g)
		gz_close(g, committed);
	free(g);
	EVP_MD_CTX_free(md);
	return ok;
}

static bool gz_read(const char *path, gz_feed_fn feed, void *arg, const struct archive_stop *stop,
		    struct archive_stats *st, char *why, size_t whylen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	struct archive_csv csv = {0};
	struct stat sb;
	char *buf = malloc(CHUNK);
	gzFile gz = NULL;
	bool ok = false;
	int n;

	memset(st, 0, sizeof(*st));
	if (!md || !buf || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		snprintf(why, whylen, "out of memory");
		goto done;
	}
	if (stat(path, &sb) != 0 || !(gz = gzopen(path, "rb"))) {
		snprintf(why, whylen, "cannot read %s: %s", path, strerror(errno));
		goto done;
	}
	st->file_bytes = (long long)sb.st_size;
	while ((n = gzread(gz, buf, CHUNK)) > 0) {
		if (stop_asked(stop)) {
			st->stopped = true;
			snprintf(why, whylen, "stopped after %lld rows of %s", st->rows, path);
			goto done;
		}
		EVP_DigestUpdate(md, buf, (size_t)n);
		st->raw_bytes += n;
		st->rows += archive_csv_count(&csv, buf, (size_t)n);
		if (feed && !feed(buf, (size_t)n, arg, why, whylen))
			goto done;
	}
	if (n < 0 || !gzeof(gz)) {
		int e;
		const char *m = gzerror(gz, &e);
		snprintf(why, whylen, "%s is damaged: %s", path, m ? m : "read error");
		goto done;
	}
	if (csv.mid_record || csv.in_quotes) {
		snprintf(why, whylen, "%s ends inside a record", path);
		goto done;
	}
	EVP_DigestFinal_ex(md, digest, &dlen);
	hex(digest, dlen, st->sha256);
	ok = true;
done:
	if (gz)
		gzclose(gz);
	free(buf);
	EVP_MD_CTX_free(md);
	return ok;
}

bool archive_read(const char *path, const struct archive_stop *stop, struct archive_stats *st,
		  char *why, size_t whylen)
{
	return gz_read(path, NULL, NULL, stop, st, why, whylen);
}

static bool feed_copy(const char *buf, size_t n, void *arg, char *why, size_t whylen)
{
	PGconn *conn = arg;

	if (PQputCopyData(conn, buf, (int)n) != 1) {
		snprintf(why, whylen, "COPY failed: %s", PQerrorMessage(conn));
		return false;
	}
	return true;
}

bool archive_copy_in(PGconn *conn, const char *copy_sql, const char *path,
		     const struct archive_stop *stop, struct archive_stats *st, char *why,
		     size_t whylen)
{
	PGresult *res = PQexec(conn, copy_sql);
	bool ok;

	if (PQresultStatus(res) != PGRES_COPY_IN) {
		snprintf(why, whylen, "COPY failed: %s", PQerrorMessage(conn));
		PQclear(res);
		return false;
	}
	PQclear(res);
	ok = gz_read(path, feed_copy, conn, stop, st, why, whylen);
	/* An error message ends the COPY with an error: nothing of it stays. */
	PQputCopyEnd(conn, ok            ? NULL
			   : st->stopped ? "partd: the job is stopping"
					 : "partd: the archive could not be read");
	while ((res = PQgetResult(conn)) != NULL) {
		if (ok && PQresultStatus(res) != PGRES_COMMAND_OK) {
			snprintf(why, whylen, "COPY failed: %s", PQerrorMessage(conn));
			ok = false;
		}
		PQclear(res);
	}
	return ok;
}

bool archive_write_text(const char *path, const char *text, char *why, size_t whylen)
{
	char tmp[1120];
	size_t n = strlen(text);
	FILE *f;
	bool ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (!(f = fopen(tmp, "wb"))) {
		snprintf(why, whylen, "cannot create %s: %s", tmp, strerror(errno));
		return false;
	}
	ok = fwrite(text, 1, n, f) == n && fflush(f) == 0 && fsync(fileno(f)) == 0;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) != 0 || !fsync_dir_of(path)) {
		snprintf(why, whylen, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return false;
	}
	return true;
}
