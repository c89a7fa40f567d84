/* /v1/tables/{table}/migration: online migration to a partitioned table. */
#include <string.h>

#include "../service/migration.h"
#include "enqueue.h"
#include "handlers.h"

void h_migration_start(struct http_request *req, struct http_response *resp)
{
	struct svc_error err = {0};
	bool dry = false, replayed = false;
	const char *key;
	json_t *out;

	if (!enqueue_idempotency_key(req, resp, &key))
		return;
	out = migration_start(req->app->pool, req->params[0], req->body, req->principal, key, &dry,
			      &replayed, &err);
	if (out && dry) {
		http_respond_json(resp, 200, out);
		return;
	}
	enqueue_answer(resp, out, replayed, &err);
}

void h_migration_get(struct http_request *req, struct http_response *resp)
{
	struct svc_error err = {0};
	json_t *out = migration_get(req->app->pool, req->params[0], &err);

	http_respond_result(resp, 200, out, &err);
}

void h_migration_tune(struct http_request *req, struct http_response *resp)
{
	struct svc_error err = {0};
	json_t *out = migration_tune(req->app->pool, req->params[0], req->body, &err);

	http_respond_result(resp, 200, out, &err);
}

static void after(struct http_request *req, struct http_response *resp, const char *kind)
{
	struct svc_error err = {0};
	bool replayed = false;
	const char *key;
	json_t *job;

	if (!enqueue_idempotency_key(req, resp, &key))
		return;
	job = migration_after(req->app->pool, req->params[0], kind, req->body, req->principal, key,
			      &replayed, &err);
	enqueue_answer(resp, job, replayed, &err);
}

void h_migration_rollback(struct http_request *req, struct http_response *resp)
{
	after(req, resp, migration_rollback_kind.name);
}

void h_migration_finalize(struct http_request *req, struct http_response *resp)
{
	after(req, resp, migration_finalize_kind.name);
}
