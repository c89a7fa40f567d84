/*
 * partd: wires config, log, pool, control schema, workers and the HTTP
 * server, then waits for SIGINT or SIGTERM.
 *
 * Start-up order matters: the HTTP server comes up first so /healthz
 * answers and /readyz can say what is missing; the control schema is then
 * applied (retrying while the database is unreachable); only then do the
 * workers start, since they need partd.jobs.
 */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../api/auth.h"
#include "../api/server.h"
#include "app.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "migration.h"
#include "pool.h"
#include "schema.h"
#include "retention.h"
#include "scheduler.h"
#include "tables.h"
#include "worker.h"

/* Waits up to ms for a stop signal; returns it, or 0 on time-out. */
static int wait_signal(const sigset_t *set, long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	int sig;

	do {
		sig = ms < 0 ? sigwaitinfo(set, NULL) : sigtimedwait(set, NULL, &ts);
	} while (sig == SIGHUP);
	return sig < 0 ? 0 : sig;
}

/* Applies the control schema, retrying while the database is down. */
static bool apply_schema(const struct config *cfg, const sigset_t *stop, int *sig)
{
	struct svc_error err = {0};
	long backoff = 500;
	char why[512];
	int applied;

	for (;;) {
		PGconn *conn = db_connect(cfg->database_url, "partd-schema", 0, why, sizeof(why));
		if (conn) {
			bool ok = schema_apply(conn, &applied, &err);
			PQfinish(conn);
			if (ok) {
				LOG_INFO(json_pack("{s:i, s:i}", "version", schema_expected_version(),
						   "applied", applied),
					 "control schema ready");
				return true;
			}
			if (err.code != SVC_UNAVAILABLE) {
				fprintf(stderr, "partd: control schema: %s\n", err.detail);
				return false;
			}
			snprintf(why, sizeof(why), "%s", err.detail);
			svc_error_clear(&err);
		}
		LOG_WARN(NULL, "waiting for the database: %s", why);
		if ((*sig = wait_signal(stop, backoff)) != 0)
			return false;
		backoff = backoff < 5000 ? backoff * 2 : 5000;
	}
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct auth_tokens *tokens = NULL;
	struct server *srv = NULL;
	struct scheduler *sched = NULL;
	struct app app = {0};
	sigset_t stop;
	char err[512];
	int rc = 1, sig = 0;
	enum log_level level;

	switch (config_load(&cfg, argc, argv, err, sizeof(err))) {
	case CONFIG_HELP:
		config_usage(stdout);
		return 0;
	case CONFIG_ERROR:
		fprintf(stderr, "partd: %s\n", err);
		return 2;
	case CONFIG_OK:
		break;
	}
	log_level_parse(cfg.log_level, &level);
	log_set_level(level);
	/*
	 * Large answers (10,000 partitions: a 10 MB result, 3 MB of JSON) were
	 * mostly page faults: glibc handed freed heap back to the kernel after
	 * every request and mmap'd big blocks afresh. Keep it instead.
	 */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
	mallopt(M_TOP_PAD, 16 * 1024 * 1024);
	tables_set_cache_ms(cfg.partitions_cache_ms);
	migration_set_plan_scan_budget_ms(cfg.plan_scan_budget_ms);
	tokens = auth_load(cfg.tokens_file, err, sizeof(err));
	if (!tokens) {
		fprintf(stderr, "partd: %s\n", err);
		config_free(&cfg);
		return 2;
	}
	if (auth_count(tokens) == 0)
		LOG_WARN(NULL, "no tokens loaded (PARTD_TOKENS_FILE): every /v1 route will answer 401");

	/* Every thread inherits this mask; only main takes the signals. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	app.cfg = &cfg;
	app.pool = pool_create(cfg.database_url, (int)cfg.pool_size, cfg.pool_timeout_ms,
			       cfg.pool_idle_check_s, cfg.request_timeout_ms);
	if (!app.pool) {
		fprintf(stderr, "partd: out of memory\n");
		goto done;
	}
	srv = server_start(&app, tokens, err, sizeof(err));
	if (!srv) {
		fprintf(stderr, "partd: %s\n", err);
		goto done;
	}
	LOG_INFO(json_pack("{s:s, s:i, s:i}", "listen", cfg.listen, "workers", (int)cfg.workers,
			   "pool_size", (int)cfg.pool_size),
		 "partd listening on http://%s", cfg.listen);

	if (!apply_schema(&cfg, &stop, &sig)) {
		rc = sig ? 0 : 1;
		goto done;
	}
	atomic_store(&app.workers, workers_start(&cfg));
	if (!atomic_load(&app.workers)) {
		fprintf(stderr, "partd: could not start the worker threads\n");
		goto done;
	}
	retention_configure(cfg.retention_hour, cfg.retention_step_delay_ms);
	sched = scheduler_start(&cfg);
	if (!sched) {
		fprintf(stderr, "partd: could not start the scheduler thread\n");
		goto done;
	}
	sig = wait_signal(&stop, -1);
	rc = 0;
done:
	if (sig)
		LOG_INFO(NULL, "received %s; shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
	server_stop(srv);
	scheduler_stop(sched);
	workers_stop(atomic_load(&app.workers));
	pool_destroy(app.pool);
	auth_free(tokens);
	config_free(&cfg);
	return rc;
}
