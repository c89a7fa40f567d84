/* /v1/jobs: read, page and cancel jobs. */
#include <inttypes.h>
#include <stdio.h>

#include "../service/jobs.h"
#include "handlers.h"
#include "text.h"

/* Parses the {id} path parameter; answers 400 when it is not one. */
static bool job_id_param(struct http_request *req, struct http_response *resp, int64_t *id)
{
	if (jobs_parse_id(req->params[0], id))
		return true;
	http_respond_problem(resp, 400, "job id must be a positive whole number, not '%.40s'",
			     req->params[0]);
	return false;
}

static const struct text_col job_cols[] = {
	{"ID", "id", TEXT_INT},
	{"KIND", "kind", TEXT_STRING},
	{"TABLE", "table", TEXT_STRING},
	{"STATE", "state", TEXT_STRING},
	{"PHASE", "phase", TEXT_STRING},
	{"DONE", "progress.done", TEXT_INT},
	{"TOTAL", "progress.total", TEXT_INT},
	{"%", "progress.percent", TEXT_INT},
	{"ETA_S", "progress.eta_s", TEXT_INT},
	{"ATTEMPT", "attempt", TEXT_INT},
	{"BY", "created_by", TEXT_STRING},
	{"CREATED", "created_at", TEXT_TIME},
};

void h_jobs_list(struct http_request *req, struct http_response *resp)
{
	struct jobs_filter f = {0};
	struct svc_error err = {0};
	json_t *out;

	if (!http_query_long(req, resp, "limit", 1, 500, 50, &f.limit))
		return;
	f.table = http_query(req, "table");
	f.kind = http_query(req, "kind");
	f.state = http_query(req, "state");
	f.cursor = http_query(req, "cursor");
	out = jobs_list(req->app->pool, &f, &err);
	if (out && text_wanted(req)) {
		text_respond_table(resp, json_object_get(out, "jobs"), job_cols,
				   sizeof(job_cols) / sizeof(job_cols[0]));
		json_decref(out);
		return;
	}
	http_respond_result(resp, 200, out, &err);
}

void h_jobs_get(struct http_request *req, struct http_response *resp)
{
	struct svc_error err = {0};
	int64_t id;

	if (job_id_param(req, resp, &id))
		http_respond_result(resp, 200, jobs_get(req->app->pool, id, &err), &err);
}

void h_jobs_events(struct http_request *req, struct http_response *resp)
{
	struct svc_error err = {0};
	int64_t id;
	long limit;

	if (!job_id_param(req, resp, &id) ||
	    !http_query_long(req, resp, "limit", 1, 1000, 100, &limit))
		return;
	http_respond_result(resp, 200,
			    jobs_events(req->app->pool, id, http_query(req, "cursor"), limit, &err),
			    &err);
}

void h_jobs_cancel(struct http_request *req, struct http_response *resp)
{
	struct svc_error err = {0};
	char location[64];
	int64_t id;

	if (!job_id_param(req, resp, &id))
		return;
	http_respond_result(resp, 202, jobs_cancel(req->app->pool, id, req->principal, &err), &err);
	if (resp->status == 202) {
		snprintf(location, sizeof(location), "/v1/jobs/%" PRId64, id);
		http_add_header(resp, "Location", location);
	}
}
