/* Responses: JSON bodies, problem+json errors, headers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

struct problem_kind {
	int status;
	const char *type;
	const char *title;
};

static const struct problem_kind problem_kinds[] = {
	{400, "/problems/bad-request", "Bad request"},
	{401, "/problems/unauthorized", "Unauthorized"},
	{403, "/problems/forbidden", "Forbidden"},
	{404, "/problems/not-found", "Not found"},
	{405, "/problems/method-not-allowed", "Method not allowed"},
	{409, "/problems/conflict", "Conflict"},
	{413, "/problems/payload-too-large", "Payload too large"},
	{422, "/problems/unprocessable", "Unprocessable request"},
	{500, "/problems/internal", "Internal error"},
	{503, "/problems/unavailable", "Service unavailable"},
};

json_t *http_problem_new(int status, const char *detail)
{
	const struct problem_kind *k = &problem_kinds[8]; /* internal */
	size_t i;

	for (i = 0; i < sizeof(problem_kinds) / sizeof(problem_kinds[0]); i++)
		if (problem_kinds[i].status == status)
			k = &problem_kinds[i];
	return json_pack("{s:s, s:s, s:i, s:s}", "type", k->type, "title", k->title, "status",
			 status, "detail", detail);
}

int http_status_of(const struct svc_error *err)
{
	static const int statuses[] = {
		[SVC_OK] = 200,          [SVC_BAD_REQUEST] = 400, [SVC_NOT_FOUND] = 404,
		[SVC_CONFLICT] = 409,    [SVC_UNPROCESSABLE] = 422, [SVC_UNAVAILABLE] = 503,
		[SVC_INTERNAL] = 500,
	};

	return err->code <= SVC_INTERNAL ? statuses[err->code] : 500;
}

void http_add_header(struct http_response *resp, const char *name, const char *value)
{
	if (resp->nheaders == HTTP_MAX_HEADERS)
		return;
	snprintf(resp->headers[resp->nheaders].name, sizeof(resp->headers[0].name), "%s", name);
	snprintf(resp->headers[resp->nheaders].value, sizeof(resp->headers[0].value), "%s", value);
	resp->nheaders++;
}

void http_respond_json(struct http_response *resp, int status, json_t *body)
{
	json_decref(resp->json);
	resp->status = status;
	resp->json = body;
	resp->content_type = "application/json";
}

void http_respond_text(struct http_response *resp, int status, const char *content_type,
		       char *text, size_t len, bool is_static)
{
	if (!resp->text_static)
		free(resp->text);
	resp->status = status;
	resp->text = text;
	resp->textlen = len;
	resp->text_static = is_static;
	resp->content_type = content_type;
}

void http_respond_problem(struct http_response *resp, int status, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	http_respond_json(resp, status, http_problem_new(status, detail));
	resp->content_type = "application/problem+json";
	if (status == 503)
		http_add_header(resp, "Retry-After", "1");
}

void http_respond_svc_error(struct http_response *resp, const struct svc_error *err)
{
	int status = http_status_of(err);

	http_respond_problem(resp, status, "%s", err->detail[0] ? err->detail : "unknown error");
	if (err->field[0])
		json_object_set_new(resp->json, "errors",
				    json_pack("[{s:s, s:s}]", "field", err->field, "message",
					      err->detail));
	if (err->sqlstate[0] && status >= 500)
		json_object_set_new(resp->json, "sqlstate", json_string(err->sqlstate));
	if (err->extra)
		json_object_update(resp->json, err->extra);
}

void http_respond_result(struct http_response *resp, int status, json_t *value,
			 struct svc_error *err)
{
	if (value)
		http_respond_json(resp, status, value);
	else
		http_respond_svc_error(resp, err);
	svc_error_clear(err);
}
