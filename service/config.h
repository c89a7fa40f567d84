/*
 * config: partd's settings, from the environment with command-line flags
 * overriding. Every setting is one row of the table in config.c, which
 * also produces --help.
 */
#ifndef PARTD_CONFIG_H
#define PARTD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct config {
	char *database_url;  /* "" means libpq's own PG* environment */
	char *listen;        /* host:port */
	char *tokens_file;   /* "" means no tokens: every /v1 route answers 401 */
	char *log_level;
	long pool_size;
	long pool_timeout_ms;
	long pool_idle_check_s;
	long workers;
	long lock_timeout_ms;
	long request_timeout_ms;
	long body_limit;
	long max_connections;
	long connection_timeout_s;
	long lease_s;
	long poll_ms;
	long scheduler_interval_s;
	long partitions_cache_ms;
	long plan_scan_budget_ms;
	long retention_hour;
	long retention_step_delay_ms;
};

enum config_result { CONFIG_OK, CONFIG_HELP, CONFIG_ERROR };

/*
 * Fills cfg from environ and argv. On CONFIG_ERROR, err holds one line
 * naming the variable or flag and what is wrong. On anything but CONFIG_OK
 * cfg holds nothing to free.
 */
enum config_result config_load(struct config *cfg, int argc, char **argv, char *err, size_t errlen);
void config_usage(FILE *out);
void config_free(struct config *cfg);

/* Splits "host:port" (IPv4 literal, "localhost", or "[v6]:port"). */
bool config_parse_listen(const char *s, char *host, size_t hostlen, int *port);

#endif
