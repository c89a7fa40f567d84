/* strbuf: the growable string buffer. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../service/strbuf.h"
#include "suites.h"

START_TEST(test_init_is_empty)
{
	strbuf sb;

	memset(&sb, 0x7f, sizeof(sb));
	strbuf_init(&sb);
	ck_assert_ptr_null(sb.data);
	ck_assert_uint_eq(sb.len, 0);
	ck_assert_uint_eq(sb.cap, 0);
	ck_assert(!sb.failed);
}
END_TEST

START_TEST(test_append_grows_past_256)
{
	char expect[1001];
	strbuf sb;
	int i;

	strbuf_init(&sb);
	for (i = 0; i < 100; i++) {
		char chunk[12];
		snprintf(chunk, sizeof(chunk), "%010d", i);
		ck_assert(strbuf_append(&sb, chunk, 10));
		memcpy(expect + 10 * i, chunk, 10);
	}
	expect[1000] = '\0';
	ck_assert_uint_eq(sb.len, 1000);
	ck_assert_uint_gt(sb.cap, sb.len);
	ck_assert_uint_eq(strlen(sb.data), 1000);
	ck_assert_str_eq(sb.data, expect);
	ck_assert(!sb.failed);
	strbuf_free(&sb);
}
END_TEST

START_TEST(test_append_exactly_at_boundary)
{
	char block[256];
	strbuf sb;

	memset(block, 'b', sizeof(block));
	strbuf_init(&sb);
	/* 255 bytes and the NUL fill the first 256-byte allocation. */
	ck_assert(strbuf_append(&sb, block, 255));
	ck_assert_uint_eq(sb.len, 255);
	ck_assert(strbuf_append(&sb, "c", 1));
	ck_assert_uint_eq(sb.len, 256);
	ck_assert_uint_gt(sb.cap, 256);
	ck_assert_int_eq(sb.data[255], 'c');
	ck_assert_int_eq(sb.data[256], '\0');
	strbuf_free(&sb);
}
END_TEST

START_TEST(test_append_binary_and_empty)
{
	strbuf sb;

	strbuf_init(&sb);
	ck_assert(strbuf_append(&sb, "a\0b", 3));
	ck_assert_uint_eq(sb.len, 3);
	ck_assert_mem_eq(sb.data, "a\0b", 4);
	ck_assert(strbuf_append(&sb, "zzz", 0));
	ck_assert_uint_eq(sb.len, 3);
	ck_assert_int_eq(sb.data[3], '\0');
	strbuf_free(&sb);
}
END_TEST

START_TEST(test_printf_and_puts)
{
	char big[600];
	strbuf sb;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	strbuf_init(&sb);
	ck_assert(strbuf_puts(&sb, "head:"));
	ck_assert(strbuf_printf(&sb, "%d-%s-%.2f", 42, "mid", 1.5));
	ck_assert_str_eq(sb.data, "head:42-mid-1.50");
	ck_assert(strbuf_printf(&sb, "[%s]", big));
	ck_assert_uint_eq(sb.len, strlen("head:42-mid-1.50") + 2 + 599);
	ck_assert_uint_eq(strlen(sb.data), sb.len);
	ck_assert_int_eq(sb.data[sb.len - 1], ']');
	ck_assert_int_eq(strncmp(sb.data, "head:42-mid-1.50[x", 18), 0);
	strbuf_free(&sb);
}
END_TEST

START_TEST(test_printf_empty_on_new_buffer)
{
	strbuf sb;

	strbuf_init(&sb);
	ck_assert(strbuf_printf(&sb, "%s", ""));
	ck_assert_ptr_nonnull(sb.data);
	ck_assert_str_eq(sb.data, "");
	strbuf_free(&sb);
}
END_TEST

START_TEST(test_steal)
{
	strbuf sb;
	size_t len = 0;
	char *p;

	strbuf_init(&sb);
	strbuf_puts(&sb, "hello");
	p = strbuf_steal(&sb, &len);
	ck_assert_str_eq(p, "hello");
	ck_assert_uint_eq(len, 5);
	ck_assert_ptr_null(sb.data);
	ck_assert_uint_eq(sb.len, 0);
	ck_assert_uint_eq(sb.cap, 0);
	/* The buffer is usable again and independent of what was stolen. */
	strbuf_puts(&sb, "again");
	ck_assert_str_eq(sb.data, "again");
	ck_assert_str_eq(p, "hello");
	free(p);
	strbuf_free(&sb);
}
END_TEST

START_TEST(test_steal_empty_gives_empty_string)
{
	strbuf sb;
	size_t len = 99;
	char *p;

	strbuf_init(&sb);
	p = strbuf_steal(&sb, &len);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p, "");
	ck_assert_uint_eq(len, 0);
	free(p);
	p = strbuf_steal(&sb, NULL);
	ck_assert_ptr_nonnull(p);
	free(p);
}
END_TEST

START_TEST(test_free)
{
	strbuf sb;

	strbuf_free(NULL);
	strbuf_init(&sb);
	strbuf_free(&sb);
	strbuf_puts(&sb, "data");
	strbuf_free(&sb);
	ck_assert_ptr_null(sb.data);
	ck_assert_uint_eq(sb.len, 0);
	strbuf_free(&sb);
}
END_TEST

/* What strbuf_json_string writes for s, as a new string. */
static char *json_of(const char *s)
{
	strbuf sb;

	strbuf_init(&sb);
	ck_assert(strbuf_json_string(&sb, s));
	return strbuf_steal(&sb, NULL);
}

/* Each cases[i][0] must be written as cases[i][1], and read back by jansson. */
static void check_json_cases(const char *const (*cases)[2], size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char *got = json_of(cases[i][0]);
		json_t *v = json_loads(got, JSON_DECODE_ANY, NULL);
		ck_assert_str_eq(got, cases[i][1]);
		ck_assert_msg(v != NULL, "%s does not read back as JSON", got);
		json_decref(v);
		free(got);
	}
}

START_TEST(test_json_string_escapes)
{
	static const char *const cases[][2] = {
		{"", "\"\""},
		{"plain", "\"plain\""},
		{"a\"b\\c", "\"a\\\"b\\\\c\""},
		{"line\nfeed\ttab\rcr", "\"line\\nfeed\\ttab\\rcr\""},
		{"\x01\x1f", "\"\\u0001\\u001f\""},
		{"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
		{"public.\"we\"\"ird\"", "\"public.\\\"we\\\"\\\"ird\\\"\""},
	};

	check_json_cases(cases, sizeof(cases) / sizeof(cases[0]));
}
END_TEST

START_TEST(test_json_string_matches_jansson)
{
	/* every valid input reads back as itself, byte for byte */
	static const char *const inputs[] = {"x", "\"\\/\b\f\n\r\t", "\x7f", "\xc2\x80\xdf\xbf",
					     "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf", "../; DROP"};
	size_t i;

	for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		char *got = json_of(inputs[i]);
		json_error_t e;
		json_t *v = json_loads(got, JSON_DECODE_ANY, &e);
		ck_assert_msg(v != NULL, "%s: %s", got, e.text);
		ck_assert_str_eq(json_string_value(v), inputs[i]);
		json_decref(v);
		free(got);
	}
}
END_TEST

START_TEST(test_json_string_replaces_invalid_utf8)
{
	/* stray continuation, truncated sequence, overlong, surrogate, past U+10FFFF */
	static const char *const cases[][2] = {
		{"a\x80z", "\"a\xef\xbf\xbdz\""},
		{"a\xc3", "\"a\xef\xbf\xbd\""},
		{"\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\""},
		{"\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},
		{"\xf4\x90\x80\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},
	};

	check_json_cases(cases, sizeof(cases) / sizeof(cases[0]));
}
END_TEST

START_TEST(test_int)
{
	static const long long values[] = {0, 7, -1, 10, 1234567890123LL, LLONG_MAX, LLONG_MIN};
	char expect[32];
	size_t i;

	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		strbuf sb;
		strbuf_init(&sb);
		ck_assert(strbuf_puts(&sb, "n="));
		ck_assert(strbuf_int(&sb, values[i]));
		snprintf(expect, sizeof(expect), "n=%lld", values[i]);
		ck_assert_str_eq(sb.data, expect);
		strbuf_free(&sb);
	}
}
END_TEST

Suite *strbuf_suite(void)
{
	Suite *s = suite_create("strbuf");
	TCase *tc = tcase_create("buffer");

	tcase_add_test(tc, test_init_is_empty);
	tcase_add_test(tc, test_append_grows_past_256);
	tcase_add_test(tc, test_append_exactly_at_boundary);
	tcase_add_test(tc, test_append_binary_and_empty);
	tcase_add_test(tc, test_printf_and_puts);
	tcase_add_test(tc, test_printf_empty_on_new_buffer);
	tcase_add_test(tc, test_steal);
	tcase_add_test(tc, test_steal_empty_gives_empty_string);
	tcase_add_test(tc, test_free);
	suite_add_tcase(s, tc);
	tc = tcase_create("json");
	tcase_add_test(tc, test_json_string_escapes);
	tcase_add_test(tc, test_json_string_matches_jansson);
	tcase_add_test(tc, test_json_string_replaces_invalid_utf8);
	tcase_add_test(tc, test_int);
	suite_add_tcase(s, tc);
	return s;
}
