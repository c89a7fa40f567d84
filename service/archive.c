#include "archive.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

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

/* Flushes, fsyncs and renames into place; size of the file into *bytes. */
static bool gz_commit(struct gz_out *g, long long *bytes, char *why, size_t whylen)
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
	if (stat(g->tmp, &sb) != 0 || rename(g->tmp, g->path) != 0 || !fsync_dir_of(g->path)) {
		snprintf(why, whylen, "cannot put %s in place: %s", g->path, strerror(errno));
		return false;
	}
	*bytes = (long long)sb.st_size;
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

bool archive_copy_out(PGconn *conn, const char *copy_sql, const char *path, int level,
		      struct archive_stats *st, char *why, size_t whylen)
{
	struct gz_out *g = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	PGresult *res = NULL;
	bool ok = false, copying = false, committed = false;
	char *row;
	int n;

	memset(st, 0, sizeof(*st));
	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		snprintf(why, whylen, "sha256 unavailable");
		goto done;
	}
	if (path && (!(g = calloc(1, sizeof(*g))) || !gz_open(g, path, level, why, whylen)))
		goto done;
	res = PQexec(conn, copy_sql);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		snprintf(why, whylen, "COPY failed: %s", PQerrorMessage(conn));
		goto done;
	}
	PQclear(res);
	res = NULL;
	copying = true;
	/* One row per call: rows are counted as they come. */
	while ((n = PQgetCopyData(conn, &row, 0)) > 0) {
		bool wrote = !g || gz_write(g, row, (size_t)n, Z_NO_FLUSH, why, whylen);
		EVP_DigestUpdate(md, row, (size_t)n);
		st->rows++;
		st->raw_bytes += n;
		PQfreemem(row);
		if (!wrote)
			goto done;
	}
	copying = false;
	if (n == -2) {
		snprintf(why, whylen, "COPY failed: %s", PQerrorMessage(conn));
		goto done;
	}
	res = PQgetResult(conn);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		snprintf(why, whylen, "COPY failed: %s", PQerrorMessage(conn));
		goto done;
	}
	if (g && !gz_commit(g, &st->file_bytes, why, whylen))
		goto done;
	committed = true;
	EVP_DigestFinal_ex(md, digest, &dlen);
	hex(digest, dlen, st->sha256);
	ok = true;
done:
	if (copying) {
		/* Stopped early (a write failed): drain the COPY so the connection is usable. */
		while ((n = PQgetCopyData(conn, &row, 0)) > 0)
			PQfreemem(row);
	}
	PQclear(res);
	while ((res = PQgetResult(conn)) != NULL)
		PQclear(res);
	if (g)
		gz_close(g, committed);
	free(g);
	EVP_MD_CTX_free(md);
	return ok;
}

/* Calls feed for every chunk of path's gunzipped content. */
typedef bool (*gz_feed_fn)(const char *buf, size_t n, void *arg, char *why, size_t whylen);

static bool gz_read(const char *path, gz_feed_fn feed, void *arg, struct archive_stats *st,
		    char *why, size_t whylen)
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

bool archive_read(const char *path, struct archive_stats *st, char *why, size_t whylen)
{
	return gz_read(path, NULL, NULL, st, why, whylen);
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

bool archive_copy_in(PGconn *conn, const char *copy_sql, const char *path, struct archive_stats *st,
		     char *why, size_t whylen)
{
	PGresult *res = PQexec(conn, copy_sql);
	bool ok;

	if (PQresultStatus(res) != PGRES_COPY_IN) {
		snprintf(why, whylen, "COPY failed: %s", PQerrorMessage(conn));
		PQclear(res);
		return false;
	}
	PQclear(res);
	ok = gz_read(path, feed_copy, conn, st, why, whylen);
	PQputCopyEnd(conn, ok ? NULL : "partd: the archive could not be read");
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
