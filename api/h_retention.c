/* /v1/tables/{table}/retention and .../archives: tiered retention. */
#include "../service/retention.h"
#include "enqueue.h"
#include "handlers.h"

void h_retention_run(struct http_request *req, struct http_response *resp)
{
	struct svc_error err = {0};
	bool dry = false, replayed = false;
	const char *key;
	json_t *out;

	if (!enqueue_idempotency_key(req, resp, &key))
		return;
	out = retention_start(req->app->pool, req->params[0], req->body, req->principal, key, &dry,
			      &replayed, &err);
	if (dry)
		http_respond_result(resp, 200, out, &err);
	else
		enqueue_answer(resp, out, replayed, &err);
}

void h_archives_list(struct http_request *req, struct http_response *resp)
{
	struct svc_error err = {0};

	http_respond_result(resp, 200, retention_archives(req->app->pool, req->params[0], &err),
			    &err);
}

void h_archive_restore(struct http_request *req, struct http_response *resp)
{
	struct svc_error err = {0};
	bool replayed = false;
	const char *key;
	json_t *job;

	if (!enqueue_idempotency_key(req, resp, &key))
		return;
	job = retention_restore(req->app->pool, req->params[0], req->params[1], req->body,
				req->principal, key, &replayed, &err);
	enqueue_answer(resp, job, replayed, &err);
}
