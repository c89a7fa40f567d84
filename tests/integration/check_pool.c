/*
 * The request pool against a real PostgreSQL (DATABASE_URL): checkout
 * timeout, waiting, discarding connections returned inside a transaction,
 * reconnecting after the server killed a backend, and session settings.
 */
#include <check.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../service/db.h"
#include "../../service/pool.h"
#include "suites.h"

static char *scalar(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	char *v;

	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	v = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

START_TEST(test_exhausted_pool_times_out)
{
	struct pool *p = pool_create(itest_url(), 2, 200, 30, 5000);
	struct pool_stats st;
	char err[512];
	PGconn *a, *b, *c;
	double t0;

	a = pool_borrow(p, err, sizeof(err));
	b = pool_borrow(p, err, sizeof(err));
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_ne(a, b);
	t0 = itest_now_s();
	c = pool_borrow(p, err, sizeof(err));
	ck_assert_ptr_null(c);
	ck_assert_double_ge(itest_now_s() - t0, 0.19);
	ck_assert_double_lt(itest_now_s() - t0, 2.0);
	ck_assert_ptr_nonnull(strstr(err, "all 2 database connections are busy"));
	pool_get_stats(p, &st);
	ck_assert_int_eq(st.in_use, 2);
	ck_assert_int_eq(st.waiting, 0);
	pool_return(p, a);
	c = pool_borrow(p, err, sizeof(err));
	ck_assert_ptr_eq(c, a); /* the open connection is reused */
	pool_return(p, b);
	pool_return(p, c);
	pool_get_stats(p, &st);
	ck_assert_int_eq(st.in_use, 0);
	ck_assert_int_eq(st.idle, 2);
	pool_destroy(p);
}
END_TEST

struct waiter {
	struct pool *p;
	PGconn *got;
};

static void *borrow_thread(void *arg)
{
	struct waiter *w = arg;
	char err[512];

	w->got = pool_borrow(w->p, err, sizeof(err));
	return NULL;
}

START_TEST(test_waiter_gets_returned_connection)
{
	struct pool *p = pool_create(itest_url(), 1, 5000, 30, 5000);
	struct waiter w = {p, NULL};
	struct pool_stats st = {0};
	pthread_t t;
	char err[512];
	PGconn *a = pool_borrow(p, err, sizeof(err));
	int i;

	ck_assert_ptr_nonnull(a);
	pthread_create(&t, NULL, borrow_thread, &w);
	for (i = 0; i < 200 && st.waiting == 0; i++) {
		usleep(10000);
		pool_get_stats(p, &st);
	}
	ck_assert_int_eq(st.waiting, 1);
	pool_return(p, a);
	pthread_join(t, NULL);
	ck_assert_ptr_eq(w.got, a);
	pool_return(p, w.got);
	pool_destroy(p);
}
END_TEST

START_TEST(test_connection_in_transaction_is_discarded)
{
	struct pool *p = pool_create(itest_url(), 1, 1000, 30, 5000);
	struct pool_stats st;
	char err[512], *pid1, *pid2;
	PGconn *a, *b;

	a = pool_borrow(p, err, sizeof(err));
	ck_assert_ptr_nonnull(a);
	pid1 = scalar(a, "SELECT pg_catalog.pg_backend_pid()");
	PQclear(PQexec(a, "BEGIN"));
	pool_return(p, a);
	pool_get_stats(p, &st);
	ck_assert_int_eq(st.idle, 0); /* closed, not kept */
	b = pool_borrow(p, err, sizeof(err));
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(PQtransactionStatus(b), PQTRANS_IDLE);
	pid2 = scalar(b, "SELECT pg_catalog.pg_backend_pid()");
	ck_assert_str_ne(pid1, pid2);
	pool_return(p, b);
	free(pid1);
	free(pid2);
	pool_destroy(p);
}
END_TEST

START_TEST(test_reconnects_after_backend_killed)
{
	struct pool *p = pool_create(itest_url(), 1, 1000, 0, 5000);
	char err[512], sql[128], *pid1, *pid2, *one;
	PGconn *a, *admin;

	a = pool_borrow(p, err, sizeof(err));
	ck_assert_ptr_nonnull(a);
	pid1 = scalar(a, "SELECT pg_catalog.pg_backend_pid()");
	pool_return(p, a);

	admin = PQconnectdb(itest_url());
	ck_assert_int_eq(PQstatus(admin), CONNECTION_OK);
	snprintf(sql, sizeof(sql), "SELECT pg_catalog.pg_terminate_backend(%s)", pid1);
	PQclear(PQexec(admin, sql));
	PQfinish(admin);
	usleep(200000);

	a = pool_borrow(p, err, sizeof(err)); /* idle check finds it dead */
	ck_assert_msg(a != NULL, "borrow after the backend died: %s", err);
	one = scalar(a, "SELECT 1");
	ck_assert_str_eq(one, "1");
	pid2 = scalar(a, "SELECT pg_catalog.pg_backend_pid()");
	ck_assert_str_ne(pid1, pid2);
	pool_return(p, a);
	free(pid1);
	free(pid2);
	free(one);
	pool_destroy(p);
}
END_TEST

START_TEST(test_session_settings)
{
	struct pool *p = pool_create(itest_url(), 1, 1000, 30, 1234);
	char err[512], *sp, *tz, *st;
	PGconn *a = pool_borrow(p, err, sizeof(err));

	ck_assert_ptr_nonnull(a);
	sp = scalar(a, "SHOW search_path");
	tz = scalar(a, "SHOW TimeZone");
	st = scalar(a, "SHOW statement_timeout");
	ck_assert_str_eq(sp, ""); /* set_config('search_path', '') */
	ck_assert_str_eq(tz, "UTC");
	ck_assert_str_eq(st, "1234ms");
	pool_return(p, a);
	free(sp);
	free(tz);
	free(st);
	pool_destroy(p);
}
END_TEST

START_TEST(test_unreachable_database)
{
	struct pool *p = pool_create("postgresql://127.0.0.1:1/none", 1, 1000, 30, 5000);
	struct pool_stats st;
	char err[512];

	ck_assert_ptr_null(pool_borrow(p, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "127.0.0.1"));
	pool_get_stats(p, &st);
	ck_assert_int_eq(st.in_use, 0); /* the slot was given back */
	pool_destroy(p);
}
END_TEST

Suite *pool_suite(void)
{
	Suite *s = suite_create("pool (real PostgreSQL)");
	TCase *tc = tcase_create("pool");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_exhausted_pool_times_out);
	tcase_add_test(tc, test_waiter_gets_returned_connection);
	tcase_add_test(tc, test_connection_in_transaction_is_discarded);
	tcase_add_test(tc, test_reconnects_after_backend_killed);
	tcase_add_test(tc, test_session_settings);
	tcase_add_test(tc, test_unreachable_database);
	suite_add_tcase(s, tc);
	return s;
}
