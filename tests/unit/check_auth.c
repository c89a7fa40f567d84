/* auth: the tokens file and token lookup. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../api/auth.h"
#include "suites.h"

/* printf %s TOKEN | sha256sum, computed outside partd. */
#define HASH_TOK_READ "a2f0a437be4fd6ceaaa59fac18e495e88345b0aa6fb8ccbddd05a8d88e7a3e56"
#define HASH_TOK_OPERATE "d92b5e1d5baffce13bc5b46410f529f24309f762b2948d7648fb1e41ecee0836"
#define HASH_TOK_ADMIN_UPPER "DF6ADB0B23FA33235F4AEE6A0D62C118B00D71C07C81BE87067B4F5892E66DBC"

static const char good_file[] =
	"# partd tokens\r\n"
	"\r\n"
	"read dashboard " HASH_TOK_READ "\r\n"
	"   \t\n"
	"\toperate  ci-bot\t" HASH_TOK_OPERATE "  \n"
	"  # an indented comment\n"
	"admin alice@example.com " HASH_TOK_ADMIN_UPPER; /* no final newline */

static char err[512];

/* Expects text to be refused with an error that contains every one of want. */
static void expect_refused(const char *text, const char *const *want)
{
	struct auth_tokens *t;

	err[0] = '\0';
	t = auth_parse(text, "tokens.txt", err, sizeof(err));
	ck_assert_msg(t == NULL, "accepted: %s", text);
	for (; *want; want++)
		ck_assert_msg(strstr(err, *want) != NULL, "error '%s' lacks '%s'", err, *want);
}

#define REFUSED(text, ...) expect_refused(text, (const char *const[]){__VA_ARGS__, NULL})

START_TEST(test_parse_good_file)
{
	struct auth_tokens *t = auth_parse(good_file, "tokens.txt", err, sizeof(err));
	const char *name = NULL;
	enum auth_scope scope = AUTH_NONE;

	ck_assert_msg(t != NULL, "refused: %s", err);
	ck_assert_uint_eq(auth_count(t), 3);

	ck_assert(auth_lookup(t, "tok-read", &name, &scope));
	ck_assert_str_eq(name, "dashboard");
	ck_assert_int_eq(scope, AUTH_READ);

	ck_assert(auth_lookup(t, "tok-operate", &name, &scope));
	ck_assert_str_eq(name, "ci-bot");
	ck_assert_int_eq(scope, AUTH_OPERATE);

	ck_assert(auth_lookup(t, "tok-admin", &name, &scope));
	ck_assert_str_eq(name, "alice@example.com");
	ck_assert_int_eq(scope, AUTH_ADMIN);
	auth_free(t);
}
END_TEST

START_TEST(test_lookup_rejects_wrong_tokens)
{
	struct auth_tokens *t = auth_parse(good_file, "tokens.txt", err, sizeof(err));
	const char *name = "unchanged";
	enum auth_scope scope = AUTH_NONE;

	ck_assert_ptr_nonnull(t);
	ck_assert(!auth_lookup(t, "", &name, &scope));
	ck_assert(!auth_lookup(t, "tok-reae", &name, &scope));
	ck_assert(!auth_lookup(t, "tok-read ", &name, &scope));
	ck_assert(!auth_lookup(t, "TOK-READ", &name, &scope));
	ck_assert(!auth_lookup(t, "tok-rea", &name, &scope));
	/* The stored hash is not itself a token. */
	ck_assert(!auth_lookup(t, HASH_TOK_READ, &name, &scope));
	ck_assert(!auth_lookup(t, "dashboard", &name, &scope));
	ck_assert_str_eq(name, "unchanged");
	ck_assert_int_eq(scope, AUTH_NONE);
	auth_free(t);
}
END_TEST

START_TEST(test_parse_empty_and_comments_only)
{
	struct auth_tokens *t = auth_parse("", "tokens.txt", err, sizeof(err));
	const char *name;
	enum auth_scope scope;

	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(auth_count(t), 0);
	ck_assert(!auth_lookup(t, "", &name, &scope));
	ck_assert(!auth_lookup(t, "tok-read", &name, &scope));
	auth_free(t);

	t = auth_parse("# nothing\n\n   \n\r\n", "tokens.txt", err, sizeof(err));
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(auth_count(t), 0);
	auth_free(t);
}
END_TEST

START_TEST(test_whitespace_only_lines_are_blank)
{
	/* A line of only form feed or vertical tab is blank too (isspace). */
	struct auth_tokens *t = auth_parse("\f\n\v\r\nread bob " HASH_TOK_READ "\n", "tokens.txt",
					   err, sizeof(err));

	ck_assert_msg(t != NULL, "refused: %s", err);
	ck_assert_uint_eq(auth_count(t), 1);
	auth_free(t);
}
END_TEST

START_TEST(test_many_tokens_grow)
{
	char line[128], *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct auth_tokens *t;
	const char *name;
	enum auth_scope scope;
	int i;

	ck_assert_ptr_nonnull(f);
	for (i = 0; i < 40; i++) {
		snprintf(line, sizeof(line), "read bot%d %064x\n", i, i);
		fputs(line, f);
	}
	fputs("operate last " HASH_TOK_OPERATE "\n", f);
	fclose(f);
	t = auth_parse(text, "tokens.txt", err, sizeof(err));
	ck_assert_msg(t != NULL, "refused: %s", err);
	ck_assert_uint_eq(auth_count(t), 41);
	ck_assert(auth_lookup(t, "tok-operate", &name, &scope));
	ck_assert_str_eq(name, "last");
	ck_assert_int_eq(scope, AUTH_OPERATE);
	auth_free(t);
	free(text);
}
END_TEST

START_TEST(test_bad_scope)
{
	REFUSED("# header\n\nsuperuser bob " HASH_TOK_READ "\n", "tokens.txt:3:", "superuser");
	REFUSED("READ bob " HASH_TOK_READ "\n", "tokens.txt:1:", "READ");
	REFUSED("none bob " HASH_TOK_READ "\n", "tokens.txt:1:", "none");
}
END_TEST

START_TEST(test_wrong_field_count)
{
	REFUSED("read bob\n", "tokens.txt:1:", "2 field");
	REFUSED("read " HASH_TOK_READ "\n", "tokens.txt:1:", "2 field");
	REFUSED("read dashboard " HASH_TOK_READ "\nread bob " HASH_TOK_READ " extra\n",
		"tokens.txt:2:", "4 field");
	REFUSED("read bob " HASH_TOK_READ " # inline comment\n", "tokens.txt:1:", "4 field");
	REFUSED("read\n", "tokens.txt:1:", "1 field");
}
END_TEST

START_TEST(test_bad_hash)
{
	/* 63 hex digits */
	REFUSED("\n\nread bob a2f0a437be4fd6ceaaa59fac18e495e88345b0aa6fb8ccbddd05a8d88e7a3e5\n",
		"tokens.txt:3:", "SHA-256");
	/* 65 hex digits */
	REFUSED("read bob " HASH_TOK_READ "0\n", "tokens.txt:1:", "SHA-256");
	/* not hex */
	REFUSED("read bob g2f0a437be4fd6ceaaa59fac18e495e88345b0aa6fb8ccbddd05a8d88e7a3e56\n",
		"tokens.txt:1:", "SHA-256");
	/* the token itself instead of its hash */
	REFUSED("read bob tok-read\n", "tokens.txt:1:", "SHA-256");
}
END_TEST

START_TEST(test_bad_name)
{
	char line[256], longname[66];

	REFUSED("read bob! " HASH_TOK_READ "\n", "tokens.txt:1:", "name");
	REFUSED("read dashboard " HASH_TOK_READ "\nread b/ob " HASH_TOK_READ "\n", "tokens.txt:2:",
		"name");
	REFUSED("read b\"ob " HASH_TOK_READ "\n", "tokens.txt:1:", "name");

	memset(longname, 'n', 65);
	longname[65] = '\0';
	snprintf(line, sizeof(line), "read %s %s\n", longname, HASH_TOK_READ);
	REFUSED(line, "tokens.txt:1:", "name");

	/* 64 characters is still fine. */
	longname[64] = '\0';
	snprintf(line, sizeof(line), "read %s %s\n", longname, HASH_TOK_READ);
	{
		struct auth_tokens *t = auth_parse(line, "tokens.txt", err, sizeof(err));
		const char *name;
		enum auth_scope scope;

		ck_assert_msg(t != NULL, "refused: %s", err);
		ck_assert(auth_lookup(t, "tok-read", &name, &scope));
		ck_assert_str_eq(name, longname);
		auth_free(t);
	}
}
END_TEST

START_TEST(test_line_numbers_count_crlf_lines_once)
{
	/* Line numbers count CRLF lines once each. */
	REFUSED("# a\r\n# b\r\n\r\nread bob zz\r\n", "tokens.txt:4:");
}
END_TEST

START_TEST(test_load_empty_path)
{
	struct auth_tokens *t = auth_load("", err, sizeof(err));

	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(auth_count(t), 0);
	auth_free(t);
}
END_TEST

START_TEST(test_load_missing_file)
{
	struct auth_tokens *t = auth_load("/nonexistent/partd/tokens", err, sizeof(err));

	ck_assert_ptr_null(t);
	ck_assert_msg(strstr(err, "PARTD_TOKENS_FILE") != NULL, "error '%s'", err);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/partd/tokens"));
}
END_TEST

/* Writes text to a new temporary file; the caller unlinks path. */
static void write_temp(char *path, const char *text)
{
	int fd = mkstemp(path);
	FILE *f;

	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(test_load_file)
{
	char path[] = "/tmp/partd-tokens-XXXXXX";
	struct auth_tokens *t;
	const char *name;
	enum auth_scope scope;

	write_temp(path, good_file);
	t = auth_load(path, err, sizeof(err));
	unlink(path);
	ck_assert_msg(t != NULL, "refused: %s", err);
	ck_assert_uint_eq(auth_count(t), 3);
	ck_assert(auth_lookup(t, "tok-operate", &name, &scope));
	ck_assert_str_eq(name, "ci-bot");
	auth_free(t);
}
END_TEST

START_TEST(test_load_file_error_names_file_and_line)
{
	char path[] = "/tmp/partd-tokens-XXXXXX", want[64];
	struct auth_tokens *t;

	write_temp(path, "# ok\nread bob nothex\n");
	t = auth_load(path, err, sizeof(err));
	unlink(path);
	ck_assert_ptr_null(t);
	snprintf(want, sizeof(want), "%s:2:", path);
	ck_assert_msg(strstr(err, want) != NULL, "error '%s' lacks '%s'", err, want);
}
END_TEST

START_TEST(test_load_directory_is_an_error)
{
	/*
	 * A directory opens with fopen() but cannot be read. Loading it must
	 * fail, not quietly give zero tokens (every /v1 route would then 401
	 * with nothing in the log but "no tokens loaded").
	 */
	struct auth_tokens *t = auth_load("/tmp", err, sizeof(err));

	ck_assert_msg(t == NULL, "a directory loaded as %zu tokens", auth_count(t));
	ck_assert_ptr_nonnull(strstr(err, "PARTD_TOKENS_FILE"));
	auth_free(t);
}
END_TEST

START_TEST(test_scope_names)
{
	ck_assert_str_eq(auth_scope_name(AUTH_NONE), "none");
	ck_assert_str_eq(auth_scope_name(AUTH_READ), "read");
	ck_assert_str_eq(auth_scope_name(AUTH_OPERATE), "operate");
	ck_assert_str_eq(auth_scope_name(AUTH_ADMIN), "admin");
	/* Scopes nest read < operate < admin; the server compares them. */
	ck_assert_int_lt(AUTH_NONE, AUTH_READ);
	ck_assert_int_lt(AUTH_READ, AUTH_OPERATE);
	ck_assert_int_lt(AUTH_OPERATE, AUTH_ADMIN);
}
END_TEST

START_TEST(test_free_and_count_null)
{
	auth_free(NULL);
	ck_assert_uint_eq(auth_count(NULL), 0);
}
END_TEST

Suite *auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *parse = tcase_create("parse");
	TCase *load = tcase_create("load");

	tcase_add_test(parse, test_parse_good_file);
	tcase_add_test(parse, test_lookup_rejects_wrong_tokens);
	tcase_add_test(parse, test_parse_empty_and_comments_only);
	tcase_add_test(parse, test_whitespace_only_lines_are_blank);
	tcase_add_test(parse, test_many_tokens_grow);
	tcase_add_test(parse, test_bad_scope);
	tcase_add_test(parse, test_wrong_field_count);
	tcase_add_test(parse, test_bad_hash);
	tcase_add_test(parse, test_bad_name);
	tcase_add_test(parse, test_line_numbers_count_crlf_lines_once);
	tcase_add_test(parse, test_scope_names);
	tcase_add_test(parse, test_free_and_count_null);
	suite_add_tcase(s, parse);

	tcase_add_test(load, test_load_empty_path);
	tcase_add_test(load, test_load_missing_file);
	tcase_add_test(load, test_load_file);
	tcase_add_test(load, test_load_file_error_names_file_and_line);
	tcase_add_test(load, test_load_directory_is_an_error);
	suite_add_tcase(s, load);
	return s;
}
