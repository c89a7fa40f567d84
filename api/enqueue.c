#include "enqueue.h"

#include <stdio.h>
#include <string.h>

#include "../service/jobs.h"

/* 1-200 visible ASCII characters. */
static bool idempotency_key_valid(const char *k)
{
	size_t i, n = strlen(k);

	if (n < 1 || n > 200)
		return false;
	for (i = 0; i < n; i++)
		if (k[i] < 0x21 || k[i] > 0x7e)
			return false;
	return true;
}

void enqueue_respond(struct http_request *req, struct http_response *resp, const char *kind,
		     const json_t *params)
{
	struct job_request rq = {0};
	struct svc_error err = {0};
	char location[64];
	bool replayed;
	json_t *job;

	rq.kind = kind;
	rq.params = params;
	rq.created_by = req->principal;
	rq.idempotency_key = http_header(req, "Idempotency-Key");
	if (rq.idempotency_key && !idempotency_key_valid(rq.idempotency_key)) {
		http_respond_problem(resp, 400,
				     "Idempotency-Key must be 1-200 visible ASCII characters");
		return;
	}
	job = jobs_enqueue(req->app->pool, &rq, &replayed, &err);
	if (!job) {
		http_respond_svc_error(resp, &err);
		svc_error_clear(&err);
		return;
	}
	snprintf(location, sizeof(location), "/v1/jobs/%lld",
		 (long long)json_integer_value(json_object_get(job, "id")));
	http_respond_json(resp, 202, job);
	http_add_header(resp, "Location", location);
	if (replayed)
		http_add_header(resp, "Idempotency-Replayed", "true");
}
