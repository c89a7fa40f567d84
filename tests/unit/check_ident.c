/* ident: table names as the API accepts them. */
#include <stdio.h>
#include <string.h>

#include "../../service/ident.h"
#include "../../service/strbuf.h"
#include "suites.h"

static char err[256];

/* Expects name to parse into schema and table. */
static void expect_table(const char *name, const char *schema, const char *table)
{
	struct qualified_name q;

	memset(&q, 'x', sizeof(q));
	ck_assert_msg(ident_parse_table(name, &q, err, sizeof(err)), "'%s' refused: %s", name, err);
	ck_assert_str_eq(q.schema, schema);
	ck_assert_str_eq(q.table, table);
}

/* Expects name to be refused, with a reason, and out left untouched. */
static void expect_refused(const char *name)
{
	struct qualified_name q, before;

	memset(&q, 'x', sizeof(q));
	before = q;
	err[0] = '\0';
	ck_assert_msg(!ident_parse_table(name, &q, err, sizeof(err)), "'%.80s' accepted", name);
	ck_assert_msg(err[0] != '\0', "'%.80s' refused without a reason", name);
	ck_assert_msg(memcmp(&q, &before, sizeof(q)) == 0, "'%.80s' changed out on failure", name);
}

static void fill(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
}

START_TEST(test_valid_parts)
{
	char s[IDENT_MAX + 2];

	ck_assert(ident_valid("t"));
	ck_assert(ident_valid("_"));
	ck_assert(ident_valid("platform_analytics"));
	ck_assert(ident_valid("Post_Analytics_2026_11"));
	ck_assert(ident_valid("_2026"));
	fill(s, 'a', IDENT_MAX);
	ck_assert(ident_valid(s));
}
END_TEST

START_TEST(test_invalid_parts)
{
	char s[IDENT_MAX + 2];

	ck_assert(!ident_valid(""));
	ck_assert(!ident_valid("1t"));
	ck_assert(!ident_valid("9"));
	ck_assert(!ident_valid("a b"));
	ck_assert(!ident_valid("a;b"));
	ck_assert(!ident_valid("a\"b"));
	ck_assert(!ident_valid("a'b"));
	ck_assert(!ident_valid("a.b"));
	ck_assert(!ident_valid("a-b"));
	ck_assert(!ident_valid("a$b"));
	ck_assert(!ident_valid("caf\xc3\xa9"));
	ck_assert(!ident_valid("a\nb"));
	fill(s, 'a', IDENT_MAX + 1);
	ck_assert(!ident_valid(s));
}
END_TEST

START_TEST(test_parse_qualified_and_bare)
{
	char s[IDENT_MAX + 1], name[2 * IDENT_MAX + 2];

	expect_table("analytics.platform_analytics", "analytics", "platform_analytics");
	expect_table("platform_analytics", "public", "platform_analytics");
	expect_table("public.t", "public", "t");
	expect_table("S_1.T_2", "S_1", "T_2");

	fill(s, 's', IDENT_MAX);
	snprintf(name, sizeof(name), "%s.%s", s, s);
	expect_table(name, s, s);
}
END_TEST

START_TEST(test_parse_refuses_injection_and_junk)
{
	expect_refused("");
	expect_refused("t\"; DROP TABLE x; --");
	expect_refused("\"quoted\"");
	expect_refused("a;b");
	expect_refused("public.a;b");
	expect_refused("my table");
	expect_refused(" t");
	expect_refused("t ");
	expect_refused("../etc");
	expect_refused("public/../t");
	expect_refused("caf\xc3\xa9");
	expect_refused("public.caf\xc3\xa9");
	expect_refused("1t");
	expect_refused("public.1t");
	expect_refused("1s.t");
	expect_refused(".t");
	expect_refused("t.");
	expect_refused(".");
	expect_refused("a.b.c");
	expect_refused("a..b");
}
END_TEST

START_TEST(test_parse_refuses_long_parts)
{
	char part[IDENT_MAX + 2], name[512];

	fill(part, 'a', IDENT_MAX + 1);
	expect_refused(part);
	snprintf(name, sizeof(name), "public.%s", part);
	expect_refused(name);
	snprintf(name, sizeof(name), "%s.t", part);
	expect_refused(name);

	memset(name, 'a', 200);
	name[200] = '\0';
	expect_refused(name);
	name[100] = '.';
	expect_refused(name);
}
END_TEST

START_TEST(test_error_names_the_bad_part)
{
	struct qualified_name q;

	/* The table part is wrong; the message must quote it, not "public". */
	ck_assert(!ident_parse_table("public.a;b", &q, err, sizeof(err)));
	ck_assert_msg(strstr(err, "a;b") != NULL, "error '%s' does not name 'a;b'", err);

	ck_assert(!ident_parse_table("a;b.t", &q, err, sizeof(err)));
	ck_assert_msg(strstr(err, "a;b") != NULL, "error '%s' does not name 'a;b'", err);

	ck_assert(!ident_parse_table("x;y", &q, err, sizeof(err)));
	ck_assert_msg(strstr(err, "x;y") != NULL, "error '%s' does not name 'x;y'", err);
}
END_TEST

START_TEST(test_format)
{
	struct qualified_name q = {.schema = "analytics", .table = "post_analytics"};
	char buf[2 * IDENT_MAX + 2], small[8];

	ident_format(&q, buf, sizeof(buf));
	ck_assert_str_eq(buf, "analytics.post_analytics");
	ident_format(&q, small, sizeof(small));
	ck_assert_str_eq(small, "analyti");
}
END_TEST

START_TEST(test_parse_then_format_round_trip)
{
	struct qualified_name q;
	char buf[2 * IDENT_MAX + 2];

	ck_assert(ident_parse_table("t", &q, err, sizeof(err)));
	ident_format(&q, buf, sizeof(buf));
	ck_assert_str_eq(buf, "public.t");
}
END_TEST

/* Splits list with ident_list_next and joins the names with '|'. */
static void expect_names(const char *list, const char *joined)
{
	strbuf id, all;
	const char *p = list;

	strbuf_init(&id);
	strbuf_init(&all);
	while (ident_list_next(&p, &id))
		strbuf_printf(&all, "%s%s", all.len ? "|" : "", id.data);
	ck_assert_str_eq(all.data ? all.data : "", joined);
	strbuf_free(&id);
	strbuf_free(&all);
}

START_TEST(test_list_keeps_quoted_commas)
{
	expect_names("a, b", "a|b");
	expect_names("\"id,x\", \"Day\"", "\"id,x\"|\"Day\"");
	expect_names("\"we\"\"ird\", \"a,\"\",b\", c", "\"we\"\"ird\"|\"a,\"\",b\"|c");
	expect_names("single", "single");
	expect_names("", "");
	expect_names("  ", "");
}
END_TEST

Suite *ident_suite(void)
{
	Suite *s = suite_create("ident");
	TCase *tc = tcase_create("names");

	tcase_add_test(tc, test_valid_parts);
	tcase_add_test(tc, test_invalid_parts);
	tcase_add_test(tc, test_parse_qualified_and_bare);
	tcase_add_test(tc, test_parse_refuses_injection_and_junk);
	tcase_add_test(tc, test_parse_refuses_long_parts);
	tcase_add_test(tc, test_error_names_the_bad_part);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_parse_then_format_round_trip);
	tcase_add_test(tc, test_list_keeps_quoted_commas);
	suite_add_tcase(s, tc);
	return s;
}
