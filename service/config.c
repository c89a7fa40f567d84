#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

enum config_type { CFG_STRING, CFG_LONG, CFG_LISTEN, CFG_LEVEL };

struct config_setting {
	const char *env;
	const char *flag;
	enum config_type type;
	size_t offset;
	const char *fallback;
	long min, max;
	const char *help;
};

#define STR(field) CFG_STRING, offsetof(struct config, field)
#define NUM(field) CFG_LONG, offsetof(struct config, field)

static const struct config_setting config_settings[] = {
	{"DATABASE_URL", "--database-url", STR(database_url), "", 0, 0,
	 "PostgreSQL connection URI or key=value string (empty: libpq's PG* variables)"},
	{"PARTD_LISTEN", "--listen", CFG_LISTEN, offsetof(struct config, listen),
	 "127.0.0.1:8080", 0, 0, "address and port to serve HTTP on"},
	{"PARTD_TOKENS_FILE", "--tokens-file", STR(tokens_file), "", 0, 0,
	 "file of '<scope> <name> <sha256-hex>' lines (empty: no token is accepted)"},
	{"PARTD_POOL_SIZE", "--pool-size", NUM(pool_size), "8", 1, 500,
	 "database connections for HTTP requests"},
	{"PARTD_POOL_TIMEOUT_MS", "--pool-timeout-ms", NUM(pool_timeout_ms), "2000", 1, 600000,
	 "how long a request waits for a free connection before 503"},
	{"PARTD_POOL_IDLE_CHECK_S", "--pool-idle-check-s", NUM(pool_idle_check_s), "30", 0, 86400,
	 "a connection idle this long is checked before it is lent"},
	{"PARTD_WORKERS", "--workers", NUM(workers), "2", 0, 64,
	 "job worker threads, each with its own connection"},
	{"PARTD_LOCK_TIMEOUT_MS", "--lock-timeout-ms", NUM(lock_timeout_ms), "2000", 1, 600000,
	 "lock_timeout for every DDL statement partd runs"},
	{"PARTD_REQUEST_TIMEOUT_MS", "--request-timeout-ms", NUM(request_timeout_ms), "10000", 1,
	 3600000, "statement_timeout of request queries"},
	{"PARTD_BODY_LIMIT", "--body-limit", NUM(body_limit), "1048576", 1, 1073741824,
	 "largest request body in bytes (larger: 413)"},
	{"PARTD_MAX_CONNECTIONS", "--max-connections", NUM(max_connections), "256", 1, 65536,
	 "concurrent HTTP connections"},
	{"PARTD_CONNECTION_TIMEOUT_S", "--connection-timeout-s", NUM(connection_timeout_s), "30", 1,
	 86400, "an idle HTTP connection is closed after this long"},
	{"PARTD_LEASE_S", "--lease-s", NUM(lease_s), "30", 2, 3600,
	 "job lease; a job whose worker stops renewing it is taken over after this long"},
	{"PARTD_POLL_MS", "--poll-ms", NUM(poll_ms), "1000", 10, 60000,
	 "how often an idle worker looks for work (NOTIFY wakes it sooner)"},
	{"PARTD_SCHEDULER_INTERVAL_S", "--scheduler-interval-s", NUM(scheduler_interval_s), "3600",
	 1, 604800, "how often the scheduler makes sure every managed table has its coming partitions"},
	{"PARTD_PARTITIONS_CACHE_MS", "--partitions-cache-ms", NUM(partitions_cache_ms), "1000", 0,
	 60000, "a partition list may be served again for this long (0: always read the catalog)"},
	{"PARTD_PLAN_SCAN_BUDGET_MS", "--plan-scan-budget-ms", NUM(plan_scan_budget_ms), "1000", 1,
	 600000, "how long a migration plan made for a request (a dry run, the POST) may scan the "
		 "table for its first and last day before it takes them from the statistics"},
	{"PARTD_RETENTION_HOUR", "--retention-hour", NUM(retention_hour), "3", 0, 23,
	 "UTC hour of the day at which the scheduler runs retention for every table with a "
	 "retention policy"},
	{"PARTD_RETENTION_STEP_DELAY_MS", "--retention-step-delay-ms", NUM(retention_step_delay_ms),
	 "0", 0, 600000, "pause before each step of a retention job (for tests and demos; 0: none)"},
	{"PARTD_LOG_LEVEL", "--log-level", CFG_LEVEL, offsetof(struct config, log_level), "info", 0,
	 0, "debug, info, warn or error"},
};

#define N_SETTINGS (sizeof(config_settings) / sizeof(config_settings[0]))

bool config_parse_listen(const char *s, char *host, size_t hostlen, int *port)
{
	const char *colon, *h;
	size_t hlen;
	unsigned char addr[16];
	char *end;
	long p;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return false;
		h = s + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strchr(s, ':');
		/* An IPv6 host needs brackets: "::1:8080" is ambiguous. */
		if (!colon || strchr(colon + 1, ':'))
			return false;
		h = s;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= hostlen)
		return false;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (strcmp(host, "localhost") == 0)
		snprintf(host, hostlen, "127.0.0.1");
	if (inet_pton(AF_INET, host, addr) != 1 && inet_pton(AF_INET6, host, addr) != 1)
		return false;
	if (!isdigit((unsigned char)colon[1]))
		return false;
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno || *end || p < 1 || p > 65535)
		return false;
	*port = (int)p;
	return true;
}

/* Sets one setting from text; on failure writes why into err. */
static bool config_set(struct config *cfg, const struct config_setting *s, const char *value,
		       const char *source, char *err, size_t errlen)
{
	char **strp = (char **)((char *)cfg + s->offset);
	long *nump = (long *)((char *)cfg + s->offset);
	char host[64];
	enum log_level level;
	char *end;
	long v;
	int port;

	switch (s->type) {
	case CFG_LONG:
		errno = 0;
		v = strtol(value, &end, 10);
		if (!*value || *end || errno || v < s->min || v > s->max) {
			snprintf(err, errlen, "%s: '%s' is not a whole number from %ld to %ld", source,
				 value, s->min, s->max);
			return false;
		}
		*nump = v;
		return true;
	case CFG_LISTEN:
		if (!config_parse_listen(value, host, sizeof(host), &port)) {
			snprintf(err, errlen,
				 "%s: '%s' is not host:port (e.g. 127.0.0.1:8080 or [::1]:8080)", source,
				 value);
			return false;
		}
		break;
	case CFG_LEVEL:
		if (!log_level_parse(value, &level)) {
			snprintf(err, errlen, "%s: '%s' is not one of debug, info, warn, error", source,
				 value);
			return false;
		}
		break;
	case CFG_STRING:
		break;
	}
	free(*strp);
	*strp = strdup(value);
	if (!*strp) {
		snprintf(err, errlen, "%s: out of memory", source);
		return false;
	}
	return true;
}

void config_usage(FILE *out)
{
	size_t i;

	fputs("usage: partd [FLAG=VALUE]...\n\n"
	      "partd manages monthly range partitions of PostgreSQL analytics tables.\n"
	      "Each setting comes from its environment variable; a flag overrides it.\n\n",
	      out);
	for (i = 0; i < N_SETTINGS; i++) {
		const struct config_setting *s = &config_settings[i];
		fprintf(out, "  %-28s %-26s %s (default: %s)\n", s->flag, s->env, s->help,
			*s->fallback ? s->fallback : "empty");
	}
	fputs("\n  --help                       print this and exit\n", out);
}

void config_free(struct config *cfg)
{
	size_t i;

	for (i = 0; i < N_SETTINGS; i++) {
		const struct config_setting *s = &config_settings[i];
		if (s->type != CFG_LONG) {
			char **strp = (char **)((char *)cfg + s->offset);
			free(*strp);
			*strp = NULL;
		}
	}
}

enum config_result config_load(struct config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	size_t i;
	int a;

	memset(cfg, 0, sizeof(*cfg));
	/* --help wins over anything wrong elsewhere. */
	for (a = 1; a < argc; a++)
		if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0)
			return CONFIG_HELP;
	for (i = 0; i < N_SETTINGS; i++) {
		const struct config_setting *s = &config_settings[i];
		const char *env = getenv(s->env);
		if (!config_set(cfg, s, s->fallback, s->env, err, errlen))
			goto fail;
		if (env && !config_set(cfg, s, env, s->env, err, errlen))
			goto fail;
	}
	for (a = 1; a < argc; a++) {
		const char *arg = argv[a], *eq, *value;
		size_t namelen;

		eq = strchr(arg, '=');
		namelen = eq ? (size_t)(eq - arg) : strlen(arg);
		for (i = 0; i < N_SETTINGS; i++)
			if (strlen(config_settings[i].flag) == namelen &&
			    strncmp(config_settings[i].flag, arg, namelen) == 0)
				break;
		if (i == N_SETTINGS) {
			snprintf(err, errlen, "%s: unknown flag (see --help)", arg);
			goto fail;
		}
		if (eq) {
			value = eq + 1;
		} else if (a + 1 < argc) {
			value = argv[++a];
		} else {
			snprintf(err, errlen, "%s: needs a value", arg);
			goto fail;
		}
		if (!config_set(cfg, &config_settings[i], value, config_settings[i].flag, err, errlen))
			goto fail;
	}
	return CONFIG_OK;
fail:
	config_free(cfg);
	return CONFIG_ERROR;
}
