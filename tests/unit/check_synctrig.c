/* synctrig: the text of the sync trigger's function. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../service/synctrig.h"
#include "suites.h"

/* How often needle occurs in hay. */
static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static const struct synctrig_spec plain = {
    .function = "\"s\".\"t_sync\"",
    .target = "\"s\".\"t_old\"",
    .columns = "id, day, v",
    .key = "id",
};

START_TEST(test_plain_target_one_statement_a_row)
{
	char *sql = synctrig_function_sql(&plain);

	ck_assert_ptr_nonnull(sql);
	/* It writes as its owner, with no search_path of the writer's. */
	ck_assert_ptr_eq(strstr(sql,
				"CREATE OR REPLACE FUNCTION \"s\".\"t_sync\"() RETURNS trigger "
				"LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS "
				"$partd$\nBEGIN\n"),
			 sql);
	ck_assert_int_eq(count(sql, "$partd$"), 2);
	/* An UPDATE that keeps the key changes the row in place; otherwise delete + upsert. */
	ck_assert_ptr_nonnull(strstr(sql, "IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN"));
	ck_assert_ptr_nonnull(
	    strstr(sql, "UPDATE \"s\".\"t_old\" SET id = NEW.id, day = NEW.day, v = NEW.v\n"));
	ck_assert_ptr_nonnull(strstr(sql, "WHERE id = OLD.id;"));
	ck_assert_ptr_nonnull(strstr(sql, "IF FOUND THEN\n      RETURN NULL;"));
	ck_assert_ptr_nonnull(strstr(sql, "DELETE FROM \"s\".\"t_old\" WHERE id = OLD.id;"));
	ck_assert_ptr_nonnull(strstr(sql, "INSERT INTO \"s\".\"t_old\" (id, day, v) VALUES "
					  "(NEW.id, NEW.day, NEW.v)"));
	ck_assert_ptr_nonnull(strstr(sql, "ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id, "
					  "day = EXCLUDED.day, v = EXCLUDED.v;"));
	ck_assert_int_eq(count(sql, "\"s\".\"t_old\""), 3);
	free(sql);
}
END_TEST

static const struct synctrig_route five[] = {
    {"\"s\".\"p1\"", NULL, "'2026-02-01'"},
    {"\"s\".\"p2\"", "'2026-02-01'", "'2026-03-01'"},
    {"\"s\".\"p3\"", "'2026-03-01'", "'2026-04-01'"},
    {"\"s\".\"p4\"", "'2026-05-01'", "'2026-06-01'"}, /* a gap before it: April */
    {"\"s\".\"p5\"", "'2026-06-01'", NULL},
};

static struct synctrig_spec routed_spec(const struct synctrig_route *routes, size_t n)
{
	struct synctrig_spec s = {
	    .function = "\"s\".\"t_sync\"",
	    .target = "\"s\".\"t_new\"",
	    .columns = "id, day, v",
	    .key = "id, day",
	    .column = "day",
	    .routes = routes,
	    .nroutes = n,
	};
	return s;
}

START_TEST(test_routes_each_partition_once_per_statement)
{
	struct synctrig_spec s = routed_spec(five, 5);
	char *sql = synctrig_function_sql(&s);
	char name[32];
	int i;

	ck_assert_ptr_nonnull(sql);
	ck_assert_ptr_nonnull(
	    strstr(sql, "IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.day = OLD.day THEN"));
	for (i = 1; i <= 5; i++) {
		snprintf(name, sizeof(name), "\"s\".\"p%d\"", i);
		ck_assert_int_eq(count(sql, name), 3);
	}
	/* Each leaf falls back to the parent: 5 leaves x 3 statements. */
	ck_assert_int_eq(count(sql, "\"s\".\"t_new\""), 15);
	/* The ends are open; the bounds between are checked both ways. */
	ck_assert_ptr_nonnull(strstr(sql, "IF OLD.day < '2026-02-01' THEN\n"));
	ck_assert_ptr_nonnull(strstr(sql, "IF NEW.day >= '2026-06-01' THEN\n"));
	ck_assert_ptr_nonnull(
	    strstr(sql, "IF NEW.day >= '2026-05-01' AND NEW.day < '2026-06-01' THEN\n"));
	free(sql);
}
END_TEST

/* The upsert's comparisons, in order: each split on the lower bound of the right half. */
START_TEST(test_routes_split_on_the_right_halfs_lower_bound)
{
	static const char *const want[] = {
	    "IF NEW.day < '2026-05-01' THEN",                             /* 0-2 | 3-4 */
	    "IF NEW.day < '2026-03-01' THEN",                             /* 0-1 | 2 */
	    "IF NEW.day < '2026-02-01' THEN",                             /* 0 | 1 */
	    "IF NEW.day < '2026-02-01' THEN",                             /* leaf 0: open below */
	    "IF NEW.day >= '2026-02-01' AND NEW.day < '2026-03-01' THEN", /* leaf 1 */
	    "IF NEW.day >= '2026-03-01' AND NEW.day < '2026-04-01' THEN", /* leaf 2 */
	    "IF NEW.day < '2026-06-01' THEN",                             /* 3 | 4 */
	    "IF NEW.day >= '2026-05-01' AND NEW.day < '2026-06-01' THEN", /* leaf 3 */
	    "IF NEW.day >= '2026-06-01' THEN",                            /* leaf 4: open above */
	};
	struct synctrig_spec s = routed_spec(five, 5);
	char *sql = synctrig_function_sql(&s), *line, *save = NULL;
	size_t k = 0;

	ck_assert_ptr_nonnull(sql);
	for (line = strtok_r(sql, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		line += strspn(line, " ");
		if (strncmp(line, "IF NEW.", 7) != 0)
			continue;
		ck_assert_uint_lt(k, sizeof(want) / sizeof(want[0]));
		ck_assert_str_eq(line, want[k]);
		k++;
	}
	ck_assert_uint_eq(k, sizeof(want) / sizeof(want[0]));
	free(sql);
}
END_TEST

/*
 * The tree halves: with 36 routes, a row passes at most 6 comparisons before
 * its leaf. Checked by the deepest indentation of any statement.
 */
START_TEST(test_routes_are_a_binary_tree)
{
	static char names[SYNCTRIG_MAX_ROUTES][24], lits[SYNCTRIG_MAX_ROUTES + 1][24];
	struct synctrig_route r[SYNCTRIG_MAX_ROUTES];
	struct synctrig_spec s;
	char *sql;
	const char *p;
	int i, deepest = 0;

	for (i = 0; i <= SYNCTRIG_MAX_ROUTES; i++)
		snprintf(lits[i], sizeof(lits[i]), "'%04d-01-01'", 2000 + i);
	for (i = 0; i < SYNCTRIG_MAX_ROUTES; i++) {
		snprintf(names[i], sizeof(names[i]), "\"s\".\"p%02d\"", i);
		r[i] = (struct synctrig_route){names[i], lits[i], lits[i + 1]};
	}
	s = routed_spec(r, SYNCTRIG_MAX_ROUTES);
	sql = synctrig_function_sql(&s);
	ck_assert_ptr_nonnull(sql);
	for (p = sql; (p = strstr(p, "\n")); p++) {
		int d = 0;
		while (p[1 + d] == ' ')
			d++;
		if (strncmp(p + 1 + d, "DELETE", 6) == 0 && d / 2 > deepest)
			deepest = d / 2;
	}
	/* BEGIN, the TG_OP test, 6 halvings, the leaf's check: depth 2 + 6 + 1. */
	ck_assert_int_eq(deepest, 9);
	for (i = 0; i < SYNCTRIG_MAX_ROUTES; i++)
		ck_assert_int_eq(count(sql, names[i]), 3);
	free(sql);
}
END_TEST

START_TEST(test_bad_specs_give_null)
{
	struct synctrig_route gap[] = {
	    {"\"s\".\"p1\"", "'2026-01-01'", NULL},
	    {"\"s\".\"p2\"", "'2026-02-01'", "'2026-03-01'"},
	};
	struct synctrig_route nofrom[] = {
	    {"\"s\".\"p1\"", "'2026-01-01'", "'2026-02-01'"},
	    {"\"s\".\"p2\"", NULL, "'2026-03-01'"},
	};
	struct synctrig_route many[SYNCTRIG_MAX_ROUTES + 1];
	struct synctrig_spec s = routed_spec(gap, 2);
	int i;

	ck_assert_ptr_null(synctrig_function_sql(&s));
	s = routed_spec(nofrom, 2);
	ck_assert_ptr_null(synctrig_function_sql(&s));
	for (i = 0; i <= SYNCTRIG_MAX_ROUTES; i++)
		many[i] = (struct synctrig_route){"\"s\".\"p\"", "'2026-01-01'", "'2026-02-01'"};
	s = routed_spec(many, SYNCTRIG_MAX_ROUTES + 1);
	ck_assert_ptr_null(synctrig_function_sql(&s));
	s = routed_spec(five, 5);
	s.column = NULL;
	ck_assert_ptr_null(synctrig_function_sql(&s));
	s = plain;
	s.columns = "";
	ck_assert_ptr_null(synctrig_function_sql(&s));
	s = plain;
	s.key = "";
	ck_assert_ptr_null(synctrig_function_sql(&s));
}
END_TEST

/* A key column's own equality operator compares it everywhere the key is matched. */
START_TEST(test_key_equality_operators)
{
	const char *eq[] = {"OPERATOR(\"ext\".=)", NULL};
	struct synctrig_spec s = routed_spec(five, 5);
	char *sql;

	s.key_eq = eq;
	s.nkey_eq = 2;
	sql = synctrig_function_sql(&s);
	ck_assert_ptr_nonnull(sql);
	/* The UPDATE's test, and a NULL entry: plain "=". */
	ck_assert_ptr_nonnull(strstr(sql,
				     "IF TG_OP = 'UPDATE' AND NEW.id OPERATOR(\"ext\".=) OLD.id "
				     "AND NEW.day = OLD.day THEN"));
	/* UPDATE and DELETE, each at 5 leaves: the route, else the parent. */
	ck_assert_int_eq(count(sql, "WHERE id OPERATOR(\"ext\".=) OLD.id AND day = OLD.day;"), 20);
	ck_assert_int_eq(count(sql, "id = OLD.id"), 0);
	free(sql);

	/* Not one operator a key column: refused. */
	s.nkey_eq = 1;
	ck_assert_ptr_null(synctrig_function_sql(&s));
	s.nkey_eq = 3;
	ck_assert_ptr_null(synctrig_function_sql(&s));
}
END_TEST

/* A quoted name may hold the dollar quote: another tag is chosen. */
START_TEST(test_dollar_quote_not_in_body)
{
	struct synctrig_spec s = plain;
	char *sql;

	s.columns = "id, \"$partd$\", \"x$partd1$\"";
	sql = synctrig_function_sql(&s);
	ck_assert_ptr_nonnull(sql);
	ck_assert_ptr_nonnull(strstr(sql, " AS $partd2$\nBEGIN\n"));
	ck_assert_int_eq(count(sql, "$partd2$"), 2);
	ck_assert(strcmp(sql + strlen(sql) - strlen("END\n$partd2$"), "END\n$partd2$") == 0);
	free(sql);
}
END_TEST

Suite *synctrig_suite(void)
{
	Suite *s = suite_create("synctrig");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_plain_target_one_statement_a_row);
	tcase_add_test(tc, test_routes_each_partition_once_per_statement);
	tcase_add_test(tc, test_routes_split_on_the_right_halfs_lower_bound);
	tcase_add_test(tc, test_routes_are_a_binary_tree);
	tcase_add_test(tc, test_bad_specs_give_null);
	tcase_add_test(tc, test_key_equality_operators);
	tcase_add_test(tc, test_dollar_quote_not_in_body);
	suite_add_tcase(s, tc);
	return s;
}
