/*
 * app: what one partd process holds, wired together by main.c and handed
 * to the HTTP face. Readiness lives here because it asks every part.
 */
#ifndef PARTD_APP_H
#define PARTD_APP_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "config.h"
#include "pool.h"
#include "worker.h"

struct app {
	const struct config *cfg;
	struct pool *pool;
	_Atomic(struct workers *) workers; /* NULL until the control schema is in place */
};

/*
 * Checks the database, the control schema and the workers. Returns true
 * when all are fine; *checks (caller decrefs) maps each check to "ok" or
 * what is wrong.
 */
bool app_readiness(struct app *app, json_t **checks);

#endif
