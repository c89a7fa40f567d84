#include "enqueue.h"

#include <stdio.h>
#include <string.h>

#include "../service/jobs.h"

bool enqueue_idempotency_key(const struct http_request *req, struct http_response *resp,
			     const char **key)
{
	const char *k = http_header(req, "Idempotency-Key");
	size_t i, n = k ? strlen(k) : 0;
	bool ok = !k || (n >= 1 && n <= 200);

	for (i = 0; ok && i < n; i++)
		ok = k[i] >= 0x21 && k[i] <= 0x7e;
	if (!ok) {
		http_respond_problem(resp, 400, "Idempotency-Key must be 1-200 visible ASCII characters");
		return false;
	}
	*key = k;
	return true;
}

void enqueue_accepted(struct http_response *resp, json_t *job, bool replayed)
{
	char location[64];

	snprintf(location, sizeof(location), "/v1/jobs/%lld",
		 (long long)json_integer_value(json_object_get(job, "id")));
	http_respond_json(resp, 202, job);
	http_add_header(resp, "Location", location);
	if (replayed)
		http_add_header(resp, "Idempotency-Replayed", "true");
}

void enqueue_answer(struct http_response *resp, json_t *job, bool replayed, struct svc_error *err)
{
	if (job)
		enqueue_accepted(resp, job, replayed);
	else
		http_respond_svc_error(resp, err);
	svc_error_clear(err);
}

void enqueue_respond(struct http_request *req, struct http_response *resp, const char *kind,
		     const json_t *params)
{
	struct job_request rq = {0};
	struct svc_error err = {0};
	bool replayed;
	json_t *job;

	if (!enqueue_idempotency_key(req, resp, &rq.idempotency_key))
		return;
	rq.kind = kind;
	rq.params = params;
	rq.created_by = req->principal;
	job = jobs_enqueue(req->app->pool, &rq, &replayed, &err);
	enqueue_answer(resp, job, replayed, &err);
}
