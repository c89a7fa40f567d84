/* config: defaults, environment, flags, bad values, listen parsing, --help. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../service/config.h"
#include "suites.h"

extern char **environ;

/* Every variable config reads, as documented in DESIGN.md and --help. */
static const char *const config_env_names[] = {
	"DATABASE_URL",
	"PARTD_LISTEN",
	"PARTD_TOKENS_FILE",
	"PARTD_POOL_SIZE",
	"PARTD_POOL_TIMEOUT_MS",
	"PARTD_POOL_IDLE_CHECK_S",
	"PARTD_WORKERS",
	"PARTD_LOCK_TIMEOUT_MS",
	"PARTD_REQUEST_TIMEOUT_MS",
	"PARTD_BODY_LIMIT",
	"PARTD_MAX_CONNECTIONS",
	"PARTD_CONNECTION_TIMEOUT_S",
	"PARTD_LEASE_S",
	"PARTD_POLL_MS",
	"PARTD_LOG_LEVEL",
};

#define N_ENV (sizeof(config_env_names) / sizeof(config_env_names[0]))

/* Clears DATABASE_URL and every PARTD_* variable, known or not. */
static void config_clean_env(void)
{
	char names[128][64];
	size_t n = 0, i;
	char **e;

	for (e = environ; *e && n < 128; e++) {
		size_t len = strcspn(*e, "=");
		if (strncmp(*e, "PARTD_", 6) == 0 && len < sizeof(names[0])) {
			memcpy(names[n], *e, len);
			names[n++][len] = '\0';
		}
	}
	for (i = 0; i < n; i++)
		unsetenv(names[i]);
	for (i = 0; i < N_ENV; i++)
		unsetenv(config_env_names[i]);
}

static struct config cfg;
static char err[512];

static void setup(void)
{
	config_clean_env();
	memset(&cfg, 0, sizeof(cfg));
	memset(err, 0, sizeof(err));
}

static void teardown(void)
{
	config_free(&cfg);
}

/* config_load with argv, a NULL-terminated list starting at argv[0]. */
static enum config_result load_argv(char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return config_load(&cfg, argc, argv, err, sizeof(err));
}

#define LOAD(...) load_argv((char *[]){"partd", __VA_ARGS__, NULL})

static enum config_result load_no_args(void)
{
	char *argv[] = {"partd", NULL};

	return config_load(&cfg, 1, argv, err, sizeof(err));
}

/* Loads with one environment variable set and expects an error naming it. */
static void expect_env_error(const char *name, const char *value)
{
	setenv(name, value, 1);
	ck_assert_int_eq(load_no_args(), CONFIG_ERROR);
	ck_assert_msg(strstr(err, name) != NULL, "%s=%s: error '%s' does not name the variable",
		      name, value, err);
	ck_assert_msg(strstr(err, value) != NULL, "%s=%s: error '%s' does not quote the value",
		      name, value, err);
	ck_assert_msg(strchr(err, '\n') == NULL, "error is not one line: '%s'", err);
	/* The contract: on error cfg is left freed. */
	ck_assert_ptr_null(cfg.listen);
	ck_assert_ptr_null(cfg.database_url);
	ck_assert_ptr_null(cfg.log_level);
	unsetenv(name);
}

START_TEST(test_defaults)
{
	ck_assert_int_eq(load_no_args(), CONFIG_OK);
	ck_assert_str_eq(cfg.database_url, "");
	ck_assert_str_eq(cfg.listen, "127.0.0.1:8080");
	ck_assert_str_eq(cfg.tokens_file, "");
	ck_assert_str_eq(cfg.log_level, "info");
	ck_assert_int_eq(cfg.pool_size, 8);
	ck_assert_int_eq(cfg.pool_timeout_ms, 2000);
	ck_assert_int_eq(cfg.pool_idle_check_s, 30);
	ck_assert_int_eq(cfg.workers, 2);
	ck_assert_int_eq(cfg.lock_timeout_ms, 2000);
	ck_assert_int_eq(cfg.request_timeout_ms, 10000);
	ck_assert_int_eq(cfg.body_limit, 1048576);
	ck_assert_int_eq(cfg.max_connections, 256);
	ck_assert_int_eq(cfg.connection_timeout_s, 30);
	ck_assert_int_eq(cfg.lease_s, 30);
	ck_assert_int_eq(cfg.poll_ms, 1000);
}
END_TEST

START_TEST(test_env_overrides)
{
	setenv("DATABASE_URL", "postgresql://u@db/partd", 1);
	setenv("PARTD_LISTEN", "[::1]:9090", 1);
	setenv("PARTD_TOKENS_FILE", "/etc/partd/tokens", 1);
	setenv("PARTD_LOG_LEVEL", "debug", 1);
	setenv("PARTD_POOL_SIZE", "16", 1);
	setenv("PARTD_POOL_TIMEOUT_MS", "1500", 1);
	setenv("PARTD_POOL_IDLE_CHECK_S", "0", 1);
	setenv("PARTD_WORKERS", "5", 1);
	setenv("PARTD_LOCK_TIMEOUT_MS", "250", 1);
	setenv("PARTD_REQUEST_TIMEOUT_MS", "3000", 1);
	setenv("PARTD_BODY_LIMIT", "4096", 1);
	setenv("PARTD_MAX_CONNECTIONS", "10", 1);
	setenv("PARTD_CONNECTION_TIMEOUT_S", "7", 1);
	setenv("PARTD_LEASE_S", "12", 1);
	setenv("PARTD_POLL_MS", "100", 1);

	ck_assert_int_eq(load_no_args(), CONFIG_OK);
	ck_assert_str_eq(cfg.database_url, "postgresql://u@db/partd");
	ck_assert_str_eq(cfg.listen, "[::1]:9090");
	ck_assert_str_eq(cfg.tokens_file, "/etc/partd/tokens");
	ck_assert_str_eq(cfg.log_level, "debug");
	ck_assert_int_eq(cfg.pool_size, 16);
	ck_assert_int_eq(cfg.pool_timeout_ms, 1500);
	ck_assert_int_eq(cfg.pool_idle_check_s, 0);
	ck_assert_int_eq(cfg.workers, 5);
	ck_assert_int_eq(cfg.lock_timeout_ms, 250);
	ck_assert_int_eq(cfg.request_timeout_ms, 3000);
	ck_assert_int_eq(cfg.body_limit, 4096);
	ck_assert_int_eq(cfg.max_connections, 10);
	ck_assert_int_eq(cfg.connection_timeout_s, 7);
	ck_assert_int_eq(cfg.lease_s, 12);
	ck_assert_int_eq(cfg.poll_ms, 100);
}
END_TEST

START_TEST(test_range_limits_accepted)
{
	setenv("PARTD_POOL_SIZE", "1", 1);
	setenv("PARTD_WORKERS", "64", 1);
	ck_assert_int_eq(load_no_args(), CONFIG_OK);
	ck_assert_int_eq(cfg.pool_size, 1);
	ck_assert_int_eq(cfg.workers, 64);
	config_free(&cfg);

	setenv("PARTD_POOL_SIZE", "500", 1);
	setenv("PARTD_WORKERS", "0", 1);
	ck_assert_int_eq(load_no_args(), CONFIG_OK);
	ck_assert_int_eq(cfg.pool_size, 500);
	ck_assert_int_eq(cfg.workers, 0);
}
END_TEST

START_TEST(test_flag_with_equals_overrides_env)
{
	setenv("PARTD_WORKERS", "5", 1);
	ck_assert_int_eq(LOAD("--workers=3"), CONFIG_OK);
	ck_assert_int_eq(cfg.workers, 3);
}
END_TEST

START_TEST(test_flag_with_separate_value_overrides_env)
{
	setenv("PARTD_WORKERS", "5", 1);
	ck_assert_int_eq(LOAD("--workers", "3"), CONFIG_OK);
	ck_assert_int_eq(cfg.workers, 3);
}
END_TEST

START_TEST(test_several_flags)
{
	setenv("PARTD_LISTEN", "127.0.0.1:1111", 1);
	ck_assert_int_eq(LOAD("--listen", "0.0.0.0:2222", "--database-url=dbname=x",
			      "--log-level", "warn", "--pool-size=3"),
			 CONFIG_OK);
	ck_assert_str_eq(cfg.listen, "0.0.0.0:2222");
	ck_assert_str_eq(cfg.database_url, "dbname=x");
	ck_assert_str_eq(cfg.log_level, "warn");
	ck_assert_int_eq(cfg.pool_size, 3);
	/* Untouched settings keep their defaults. */
	ck_assert_int_eq(cfg.workers, 2);
}
END_TEST

START_TEST(test_flag_value_may_contain_equals)
{
	ck_assert_int_eq(LOAD("--database-url=host=db dbname=partd"), CONFIG_OK);
	ck_assert_str_eq(cfg.database_url, "host=db dbname=partd");
}
END_TEST

START_TEST(test_bad_pool_size)
{
	expect_env_error("PARTD_POOL_SIZE", "0");
	expect_env_error("PARTD_POOL_SIZE", "abc");
	expect_env_error("PARTD_POOL_SIZE", "99999999999");
	expect_env_error("PARTD_POOL_SIZE", "501");
	expect_env_error("PARTD_POOL_SIZE", "-1");
	expect_env_error("PARTD_POOL_SIZE", "8x");
	expect_env_error("PARTD_POOL_SIZE", "99999999999999999999999");
}
END_TEST

START_TEST(test_empty_number_is_an_error)
{
	setenv("PARTD_WORKERS", "", 1);
	ck_assert_int_eq(load_no_args(), CONFIG_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "PARTD_WORKERS"));
}
END_TEST

START_TEST(test_bad_listen)
{
	expect_env_error("PARTD_LISTEN", "nonsense");
	expect_env_error("PARTD_LISTEN", ":80");
	expect_env_error("PARTD_LISTEN", "127.0.0.1:0");
	expect_env_error("PARTD_LISTEN", "127.0.0.1:70000");
	expect_env_error("PARTD_LISTEN", "127.0.0.1:");
	expect_env_error("PARTD_LISTEN", "db.example.com:80");
}
END_TEST

START_TEST(test_bad_log_level)
{
	expect_env_error("PARTD_LOG_LEVEL", "loud");
	expect_env_error("PARTD_LOG_LEVEL", "");
}
END_TEST

START_TEST(test_bad_flag_value_names_the_flag)
{
	ck_assert_int_eq(LOAD("--workers=65"), CONFIG_ERROR);
	ck_assert_msg(strstr(err, "--workers") != NULL, "error '%s' does not name the flag", err);
	ck_assert_ptr_nonnull(strstr(err, "65"));
	ck_assert_ptr_null(cfg.listen);
}
END_TEST

START_TEST(test_bad_flag_beats_good_env)
{
	setenv("PARTD_LISTEN", "127.0.0.1:9000", 1);
	ck_assert_int_eq(LOAD("--listen", "127.0.0.1:0"), CONFIG_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "--listen"));
}
END_TEST

START_TEST(test_unknown_flag)
{
	ck_assert_int_eq(LOAD("--wrokers=3"), CONFIG_ERROR);
	ck_assert_msg(strstr(err, "--wrokers") != NULL, "error '%s' does not name the flag", err);
	ck_assert_ptr_nonnull(strstr(err, "unknown"));
	ck_assert_ptr_null(cfg.listen);
}
END_TEST

START_TEST(test_flag_prefix_is_unknown)
{
	ck_assert_int_eq(LOAD("--work=3"), CONFIG_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "--work"));
	ck_assert_int_eq(LOAD("--workersx=3"), CONFIG_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "--workersx"));
}
END_TEST

START_TEST(test_flag_without_value)
{
	ck_assert_int_eq(LOAD("--workers"), CONFIG_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "--workers"));
	ck_assert_ptr_nonnull(strstr(err, "value"));
	ck_assert_ptr_null(cfg.listen);
}
END_TEST

START_TEST(test_help)
{
	ck_assert_int_eq(LOAD("--help"), CONFIG_HELP);
	config_free(&cfg);
	ck_assert_int_eq(LOAD("-h"), CONFIG_HELP);
	config_free(&cfg);
	/* --help wins over flags that come after it. */
	ck_assert_int_eq(LOAD("--help", "--nonsense"), CONFIG_HELP);
}
END_TEST

START_TEST(test_free_twice_is_safe)
{
	ck_assert_int_eq(load_no_args(), CONFIG_OK);
	config_free(&cfg);
	ck_assert_ptr_null(cfg.listen);
	config_free(&cfg);
}
END_TEST

START_TEST(test_usage_lists_every_variable)
{
	char *text = NULL;
	size_t len = 0, i;
	FILE *out = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(out);
	config_usage(out);
	fclose(out);
	ck_assert_ptr_nonnull(text);
	for (i = 0; i < N_ENV; i++)
		ck_assert_msg(strstr(text, config_env_names[i]) != NULL, "--help lacks %s",
			      config_env_names[i]);
	ck_assert_ptr_nonnull(strstr(text, "--workers"));
	ck_assert_ptr_nonnull(strstr(text, "--listen"));
	ck_assert_ptr_nonnull(strstr(text, "--help"));
	ck_assert_ptr_nonnull(strstr(text, "127.0.0.1:8080"));
	free(text);
}
END_TEST

/* config_parse_listen */

static void expect_listen(const char *s, const char *host, int port)
{
	char h[64] = "unset";
	int p = -1;

	ck_assert_msg(config_parse_listen(s, h, sizeof(h), &p), "'%s' was refused", s);
	ck_assert_str_eq(h, host);
	ck_assert_int_eq(p, port);
}

static void expect_listen_refused(const char *s)
{
	char h[64];
	int p = -1;

	ck_assert_msg(!config_parse_listen(s, h, sizeof(h), &p), "'%s' was accepted", s);
}

START_TEST(test_listen_good)
{
	expect_listen("127.0.0.1:8080", "127.0.0.1", 8080);
	expect_listen("0.0.0.0:1", "0.0.0.0", 1);
	expect_listen("10.1.2.3:65535", "10.1.2.3", 65535);
	expect_listen("[::1]:8080", "::1", 8080);
	expect_listen("[::]:443", "::", 443);
	expect_listen("[fe80::1]:80", "fe80::1", 80);
	expect_listen("localhost:8080", "127.0.0.1", 8080);
}
END_TEST

START_TEST(test_listen_bad)
{
	expect_listen_refused("nonsense");
	expect_listen_refused("");
	expect_listen_refused(":80");
	expect_listen_refused("127.0.0.1");
	expect_listen_refused("127.0.0.1:");
	expect_listen_refused("127.0.0.1:0");
	expect_listen_refused("127.0.0.1:65536");
	expect_listen_refused("127.0.0.1:70000");
	expect_listen_refused("127.0.0.1:-1");
	expect_listen_refused("127.0.0.1:+80");
	expect_listen_refused("127.0.0.1: 80");
	expect_listen_refused("127.0.0.1:80x");
	expect_listen_refused("127.0.0.1:99999999999999999999");
	expect_listen_refused("256.0.0.1:80");
	expect_listen_refused("example.com:80");
	expect_listen_refused("[::1]");
	expect_listen_refused("[::1]8080");
	expect_listen_refused("[::1:8080");
	expect_listen_refused("[]:8080");
	expect_listen_refused("[nonsense]:8080");
}
END_TEST

START_TEST(test_listen_host_buffer_too_small)
{
	char h[9];
	int p = -1;

	/* "127.0.0.1" needs 10 bytes with its NUL. */
	ck_assert(!config_parse_listen("127.0.0.1:80", h, sizeof(h), &p));
	ck_assert_int_eq(p, -1);
}
END_TEST

Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *load = tcase_create("load");
	TCase *listen = tcase_create("listen");

	tcase_add_checked_fixture(load, setup, teardown);
	tcase_add_test(load, test_defaults);
	tcase_add_test(load, test_env_overrides);
	tcase_add_test(load, test_range_limits_accepted);
	tcase_add_test(load, test_flag_with_equals_overrides_env);
	tcase_add_test(load, test_flag_with_separate_value_overrides_env);
	tcase_add_test(load, test_several_flags);
	tcase_add_test(load, test_flag_value_may_contain_equals);
	tcase_add_test(load, test_bad_pool_size);
	tcase_add_test(load, test_empty_number_is_an_error);
	tcase_add_test(load, test_bad_listen);
	tcase_add_test(load, test_bad_log_level);
	tcase_add_test(load, test_bad_flag_value_names_the_flag);
	tcase_add_test(load, test_bad_flag_beats_good_env);
	tcase_add_test(load, test_unknown_flag);
	tcase_add_test(load, test_flag_prefix_is_unknown);
	tcase_add_test(load, test_flag_without_value);
	tcase_add_test(load, test_help);
	tcase_add_test(load, test_free_twice_is_safe);
	tcase_add_test(load, test_usage_lists_every_variable);
	suite_add_tcase(s, load);

	tcase_add_test(listen, test_listen_good);
	tcase_add_test(listen, test_listen_bad);
	tcase_add_test(listen, test_listen_host_buffer_too_small);
	suite_add_tcase(s, listen);
	return s;
}
