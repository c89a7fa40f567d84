/* archive: CSV record counting, file:// URLs, the directory probe, gzip round trip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "../../service/archive.h"
#include "suites.h"

START_TEST(test_csv_count_quotes)
{
	struct archive_csv c = {0};
	const char *csv = "1,a,\"multi\nline, \"\"quoted\"\"\"\n2,b,\n";

	ck_assert_int_eq(archive_csv_count(&c, csv, strlen(csv)), 2);
	ck_assert(!c.in_quotes);
	ck_assert(!c.mid_record);
}
END_TEST

START_TEST(test_csv_count_split_chunks)
{
	struct archive_csv c = {0};
	const char *csv = "1,\"x\ny\"\n2,z\n";
	long long n = 0;
	size_t i;

	/* One byte at a time: the quote state carries over chunk ends. */
	for (i = 0; i < strlen(csv); i++)
		n += archive_csv_count(&c, csv + i, 1);
	ck_assert_int_eq(n, 2);
	n = archive_csv_count(&c, "3,\"open", 7);
	ck_assert_int_eq(n, 0);
	ck_assert(c.in_quotes);
}
END_TEST

START_TEST(test_url_dir)
{
	char dir[64];

	ck_assert(archive_url_dir("file:///var/lib/partd/archive/", dir, sizeof(dir)));
	ck_assert_str_eq(dir, "/var/lib/partd/archive");
	ck_assert(archive_url_dir("file:///", dir, sizeof(dir)));
	ck_assert_str_eq(dir, "/");
	ck_assert(!archive_url_dir("s3://bucket/x", dir, sizeof(dir)));
	ck_assert(!archive_url_dir("file://relative", dir, sizeof(dir)));
	ck_assert(!archive_url_dir(NULL, dir, sizeof(dir)));
}
END_TEST

START_TEST(test_probe)
{
	char base[] = "/tmp/partd-archive-test.XXXXXX", path[256], why[512];
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(base));
	snprintf(path, sizeof(path), "%s/a/b", base);
	ck_assert_msg(archive_dir_probe(path, why, sizeof(why)), "%s", why);
	/* Under a regular file no directory can be made, root or not. */
	snprintf(path, sizeof(path), "%s/afile", base);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/afile/sub", base);
	ck_assert(!archive_dir_probe(path, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "afile/sub"));
	snprintf(path, sizeof(path), "rm -rf %s", base);
	ck_assert_int_eq(system(path), 0);
}
END_TEST

START_TEST(test_read_gzip)
{
	char path[] = "/tmp/partd-archive-test-XXXXXX", why[512];
	struct archive_stats st;
	const char *csv = "1,\"a\nb\"\n2,c\n";
	gzFile gz;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	gz = gzopen(path, "wb1");
	ck_assert_ptr_nonnull(gz);
	ck_assert_int_eq(gzwrite(gz, csv, (unsigned)strlen(csv)), (int)strlen(csv));
	gzclose(gz);
	ck_assert_msg(archive_read(path, NULL, &st, why, sizeof(why)), "%s", why);
	ck_assert_int_eq(st.rows, 2);
	ck_assert_int_eq(st.raw_bytes, (long long)strlen(csv));
	/* sha256 of "1,\"a\nb\"\n2,c\n" */
	ck_assert_int_eq(strlen(st.sha256), 64);
	/* A damaged file does not verify. */
	gz = gzopen(path, "wb1");
	gzwrite(gz, "1,\"never closed\n", 16);
	gzclose(gz);
	ck_assert(!archive_read(path, NULL, &st, why, sizeof(why)));
	unlink(path);
	ck_assert(!archive_read(path, NULL, &st, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "cannot read"));
}
END_TEST

/* Says stop once it has been asked more than *arg times. */
static bool stop_after(void *arg)
{
	int *left = arg;

	return --*left < 0;
}

START_TEST(test_read_stops_when_asked)
{
	char path[] = "/tmp/partd-archive-stop-XXXXXX", why[512], line[64];
	struct archive_stats st;
	int fd = mkstemp(path), i, asks;
	struct archive_stop stop = {.requested = stop_after, .arg = &asks};
	gzFile gz;

	ck_assert_int_ge(fd, 0);
	close(fd);
	gz = gzopen(path, "wb1");
	ck_assert_ptr_nonnull(gz);
	for (i = 0; i < 100000; i++) { /* some 2.3 MB: several chunks */
		int n = snprintf(line, sizeof(line), "%d,row number %d\n", i, i);
		ck_assert_int_eq(gzwrite(gz, line, (unsigned)n), n);
	}
	gzclose(gz);
	/* Never asked to stop: every row. */
	asks = 1000;
	ck_assert_msg(archive_read(path, &stop, &st, why, sizeof(why)), "%s", why);
	ck_assert_int_eq(st.rows, 100000);
	ck_assert(!st.stopped);
	ck_assert_int_lt(asks, 1000 - 3); /* asked as it went, chunk by chunk */
	/* Asked to stop after the first chunk: false, stopped, part of the rows. */
	asks = 1;
	ck_assert(!archive_read(path, &stop, &st, why, sizeof(why)));
	ck_assert(st.stopped);
	ck_assert_int_gt(st.rows, 0);
	ck_assert_int_lt(st.rows, 100000);
	ck_assert_msg(strstr(why, "stopped after") && strstr(why, path), "%s", why);
	/* A failure that is not a stop does not say stopped. */
	unlink(path);
	ck_assert(!archive_read(path, &stop, &st, why, sizeof(why)));
	ck_assert(!st.stopped);
}
END_TEST

START_TEST(test_write_text)
{
	char dir[] = "/tmp/partd-archive-test.XXXXXX", path[128], why[512], buf[16] = "";
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/m.json", dir);
	ck_assert_msg(archive_write_text(path, "{}\n", why, sizeof(why)), "%s", why);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	ck_assert_str_eq(buf, "{}\n");
	unlink(path);
	rmdir(dir);
}
END_TEST

Suite *archive_suite(void)
{
	Suite *s = suite_create("archive");
	TCase *tc = tcase_create("archive");

	tcase_add_test(tc, test_csv_count_quotes);
	tcase_add_test(tc, test_csv_count_split_chunks);
	tcase_add_test(tc, test_url_dir);
	tcase_add_test(tc, test_probe);
	tcase_add_test(tc, test_read_gzip);
	tcase_add_test(tc, test_read_stops_when_asked);
	tcase_add_test(tc, test_write_text);
	suite_add_tcase(s, tc);
	return s;
}
