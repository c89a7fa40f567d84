/*
 * http: the request and response a handler sees. Handlers read the
 * request, call one service function and fill the response; the server
 * renders it (problem bodies get the request_id there).
 */
#ifndef PARTD_HTTP_H
#define PARTD_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "../service/app.h"
#include "../service/svc.h"
#include "auth.h"

#define HTTP_MAX_PARAMS 4
#define HTTP_PARAM_MAX 256
#define HTTP_MAX_HEADERS 8

struct http_request {
	struct app *app;
	const char *method;
	const char *path;
	const char *request_id;
	const char *principal; /* the token's name, or NULL on open routes */
	enum auth_scope scope;
	json_t *body;          /* the parsed JSON object, or NULL when there was none */
	char params[HTTP_MAX_PARAMS][HTTP_PARAM_MAX]; /* path parameters, in order */
	int nparams;
	void *conn;            /* the server's connection; opaque to handlers */
};

struct http_header {
	char name[40];
	char value[256];
};

struct http_response {
	int status;
	json_t *json;            /* rendered as the body when set */
	char *text;              /* else this body */
	size_t textlen;
	bool text_static;        /* text is not ours to free */
	const char *content_type;
	struct http_header headers[HTTP_MAX_HEADERS];
	int nheaders;
};

/* A query parameter's value, or NULL when absent. */
const char *http_query(const struct http_request *req, const char *name);
/* A request header's value, or NULL when absent. */
const char *http_header(const struct http_request *req, const char *name);

/* Takes ownership of body. */
void http_respond_json(struct http_response *resp, int status, json_t *body);
/* Takes ownership of text unless is_static. */
void http_respond_text(struct http_response *resp, int status, const char *content_type,
		       char *text, size_t len, bool is_static);
void http_respond_problem(struct http_response *resp, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void http_respond_svc_error(struct http_response *resp, const struct svc_error *err);
/*
 * A service call's answer: value (taken) with status, or, when value is
 * NULL, the problem err describes; err is cleared either way.
 */
void http_respond_result(struct http_response *resp, int status, json_t *value,
			 struct svc_error *err);
void http_add_header(struct http_response *resp, const char *name, const char *value);

/* The RFC 9457 problem object for status (type, title, status, detail). */
json_t *http_problem_new(int status, const char *detail);
/* The status a service error maps to. */
int http_status_of(const struct svc_error *err);

/*
 * Parses an optional integer query parameter in [min, max]; on a bad
 * value responds 400 naming it and returns false.
 */
bool http_query_long(const struct http_request *req, struct http_response *resp,
		     const char *name, long min, long max, long fallback, long *out);

#endif
