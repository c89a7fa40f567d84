/* bound: decoding relpartbound as PostgreSQL 15 stores it. */
#include "../../service/bound.h"
#include "suites.h"

static const char *const date_node =
	"{PARTITIONBOUNDSPEC :strategy r :is_default false :modulus 0 :remainder 0 :listdatums <> "
	":lowerdatums ({PARTITIONRANGEDATUM :kind 0 :value {CONST :consttype 1082 :consttypmod -1 "
	":constcollid 0 :constlen 4 :constbyval true :constisnull false :location 96 :constvalue 4 "
	"[ 25 37 0 0 0 0 0 0 ]} :location 96}) :upperdatums ({PARTITIONRANGEDATUM :kind 0 :value "
	"{CONST :consttype 1082 :consttypmod -1 :constcollid 0 :constlen 4 :constbyval true "
	":constisnull false :location 114 :constvalue 4 [ 56 37 0 0 0 0 0 0 ]} :location 114}) "
	":location 90}";

static const char *const minvalue_node =
	"{PARTITIONBOUNDSPEC :strategy r :is_default false :modulus 0 :remainder 0 :listdatums <> "
	":lowerdatums ({PARTITIONRANGEDATUM :kind -1 :value <> :location 177}) :upperdatums "
	"({PARTITIONRANGEDATUM :kind 0 :value {CONST :consttype 1082 :consttypmod -1 :constcollid 0 "
	":constlen 4 :constbyval true :constisnull false :location 191 :constvalue 4 "
	"[ -84 35 0 0 0 0 0 0 ]} :location 191}) :location 171}";

static const char *const tstz_node =
	"{PARTITIONBOUNDSPEC :strategy r :is_default false :modulus 0 :remainder 0 :listdatums <> "
	":lowerdatums ({PARTITIONRANGEDATUM :kind 0 :value {CONST :consttype 1184 :consttypmod -1 "
	":constcollid 0 :constlen 8 :constbyval true :constisnull false :location 309 :constvalue 8 "
	"[ 0 96 -24 10 71 -22 2 0 ]} :location 309}) :upperdatums ({PARTITIONRANGEDATUM :kind 0 "
	":value {CONST :consttype 1184 :consttypmod -1 :constcollid 0 :constlen 8 :constbyval true "
	":constisnull false :location 327 :constvalue 8 [ 0 0 -3 -89 -74 -20 2 0 ]} :location 327}) "
	":location 303}";

/* FROM (MINVALUE) TO ('1990-01-01 00:00:00+00'): a timestamptz before 2000 is a negative Datum. */
static const char *const tstz_1990_node =
	"{PARTITIONBOUNDSPEC :strategy r :is_default false :modulus 0 :remainder 0 :listdatums <> "
	":lowerdatums ({PARTITIONRANGEDATUM :kind -1 :value <> :location 177}) :upperdatums "
	"({PARTITIONRANGEDATUM :kind 0 :value {CONST :consttype 1184 :consttypmod -1 :constcollid 0 "
	":constlen 8 :constbyval true :constisnull false :location 191 :constvalue 8 "
	"[ 0 -128 -118 75 6 -31 -2 -1 ]} :location 191}) :location 171}";

START_TEST(test_bounds_before_2000)
{
	struct bound b;

	ck_assert(bound_decode(tstz_1990_node, &b));
	ck_assert(!b.has_from && b.has_to);
	ck_assert_str_eq(b.to, "1990-01-01 00:00:00+00");
}
END_TEST

START_TEST(test_date_bounds)
{
	struct bound b;

	ck_assert(bound_decode(date_node, &b));
	ck_assert(!b.is_default);
	ck_assert(b.has_from && b.has_to);
	ck_assert_str_eq(b.from, "2026-01-01");
	ck_assert_str_eq(b.to, "2026-02-01");
}
END_TEST

START_TEST(test_minvalue)
{
	struct bound b;

	ck_assert(bound_decode(minvalue_node, &b));
	ck_assert(!b.has_from);
	ck_assert(b.has_to);
	ck_assert_str_eq(b.to, "2025-01-01");
}
END_TEST

START_TEST(test_timestamptz_bounds)
{
	struct bound b;

	ck_assert(bound_decode(tstz_node, &b));
	ck_assert_str_eq(b.from, "2026-01-01 00:00:00+00");
	ck_assert_str_eq(b.to, "2026-02-01 00:00:00+00");
}
END_TEST

START_TEST(test_default_and_unknown)
{
	struct bound b;

	ck_assert(bound_decode("{PARTITIONBOUNDSPEC :strategy r :is_default true :modulus 0 "
			       ":remainder 0 :listdatums <> :lowerdatums <> :upperdatums <> "
			       ":location 373}",
			       &b));
	ck_assert(b.is_default);
	ck_assert(!bound_decode("{PARTITIONBOUNDSPEC :strategy l :is_default false :modulus 0}", &b));
	ck_assert(!bound_decode("FOR VALUES FROM ('2026-01-01') TO ('2026-02-01')", &b));
	ck_assert(!bound_decode(NULL, &b));
}
END_TEST

Suite *bound_suite(void)
{
	Suite *s = suite_create("bound");
	TCase *tc = tcase_create("bound");

	tcase_add_test(tc, test_date_bounds);
	tcase_add_test(tc, test_bounds_before_2000);
	tcase_add_test(tc, test_minvalue);
	tcase_add_test(tc, test_timestamptz_bounds);
	tcase_add_test(tc, test_default_and_unknown);
	suite_add_tcase(s, tc);
	return s;
}
