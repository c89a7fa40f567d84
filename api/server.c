/*
 * DESIGN: libmicrohttpd in thread-per-connection mode with an internal
 * polling thread: each HTTP connection gets a thread, because handlers
 * block on libpq. A request's state (struct request_ctx) belongs to its
 * connection's thread from the first callback to the completion callback,
 * which logs the request, counts it in the metrics and frees it. Shared
 * between threads: the app (pool and workers lock themselves) and the
 * tokens, which are read-only after start-up.
 */
#include "server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "../service/log.h"
#include "../service/metrics.h"
#include "../service/strbuf.h"
#include "routes.h"

struct server {
	struct MHD_Daemon *daemon;
	struct app *app;
	const struct auth_tokens *tokens;
};

struct request_ctx {
	struct timespec start;
	char request_id[130];
	char method[16];
	char path[512];
	char principal[65];
	const char *route;  /* pattern, for the metrics label */
	strbuf body;
	bool too_large;
	int status;
	size_t bytes_in;
	size_t bytes_out;
};

const char *http_query(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_header(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

bool http_query_long(const struct http_request *req, struct http_response *resp,
		     const char *name, long min, long max, long fallback, long *out)
{
	const char *v = http_query(req, name);
	char *end;
	long n;

	if (!v) {
		*out = fallback;
		return true;
	}
	n = strtol(v, &end, 10);
	if (!*v || *end || n < min || n > max) {
		http_respond_problem(resp, 400, "%s must be a whole number from %ld to %ld, not '%.40s'",
				     name, min, max, v);
		return false;
	}
	*out = n;
	return true;
}

/* Accepts a caller's X-Request-Id only when it is short and plain. */
static bool request_id_valid(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	return n >= 1 && n <= 128 &&
	       strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static void request_id_generate(char *out, size_t outlen)
{
	unsigned char r[16];
	size_t i;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		memcpy(r, &ts, sizeof(r) < sizeof(ts) ? sizeof(r) : sizeof(ts));
	}
	for (i = 0; i < sizeof(r) && 2 * i + 2 < outlen; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
}

struct query_check {
	const char *const *allowed;
	char unknown[64];
};

static enum MHD_Result query_check_one(void *cls, enum MHD_ValueKind kind, const char *key,
				       const char *value)
{
	struct query_check *qc = cls;
	size_t i;

	(void)kind;
	(void)value;
	for (i = 0; qc->allowed && qc->allowed[i]; i++)
		if (strcmp(qc->allowed[i], key) == 0)
			return MHD_YES;
	snprintf(qc->unknown, sizeof(qc->unknown), "%s", key);
	return MHD_NO;
}

/* Answers 401/403 unless the request's bearer token has the route's scope. */
static bool authorize(struct server *srv, const struct route *route, struct http_request *req,
		      struct http_response *resp, struct request_ctx *rc)
{
	const char *h = http_header(req, MHD_HTTP_HEADER_AUTHORIZATION), *name;
	enum auth_scope scope;

	if (route->scope == AUTH_NONE)
		return true;
	if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
		http_respond_problem(resp, 401,
				     "this route needs a bearer token: send 'Authorization: Bearer "
				     "<token>' (a token with the '%s' scope or higher)",
				     auth_scope_name(route->scope));
		http_add_header(resp, "WWW-Authenticate", "Bearer realm=\"partd\"");
		return false;
	}
	if (!auth_lookup(srv->tokens, h + 7, &name, &scope)) {
		http_respond_problem(resp, 401,
				     "the bearer token is not in this partd's tokens file "
				     "(PARTD_TOKENS_FILE)");
		http_add_header(resp, "WWW-Authenticate", "Bearer realm=\"partd\", error=\"invalid_token\"");
		return false;
	}
	snprintf(rc->principal, sizeof(rc->principal), "%s", name);
	req->principal = rc->principal;
	req->scope = scope;
	if (scope < route->scope) {
		http_respond_problem(resp, 403,
				     "%s %s needs the '%s' scope; token '%s' has '%s'",
				     route->method, route->pattern, auth_scope_name(route->scope), name,
				     auth_scope_name(scope));
		return false;
	}
	return true;
}

/* Parses the body per the route; answers 400 when it does not fit. */
static bool parse_body(const struct route *route, struct request_ctx *rc,
		       struct http_request *req, struct http_response *resp)
{
	json_error_t jerr;

	if (route->body == BODY_NONE) {
		if (rc->body.len > 0) {
			http_respond_problem(resp, 400, "%s %s takes no request body", route->method,
					     route->pattern);
			return false;
		}
		return true;
	}
	if (rc->body.len == 0) {
		req->body = json_object();
		return true;
	}
	req->body = json_loadb(rc->body.data, rc->body.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req->body) {
		http_respond_problem(resp, 400, "malformed JSON at line %d, column %d: %s", jerr.line,
				     jerr.column, jerr.text);
		return false;
	}
	if (!json_is_object(req->body)) {
		http_respond_problem(resp, 400, "the request body must be a JSON object");
		return false;
	}
	return true;
}

static void dispatch(struct server *srv, struct MHD_Connection *conn, struct request_ctx *rc,
		     struct http_response *resp)
{
	struct http_request req = {0};
	const struct route *route = NULL;
	struct query_check qc = {0};
	char allow[64];

	req.app = srv->app;
	req.method = rc->method;
	req.path = rc->path;
	req.request_id = rc->request_id;
	req.conn = conn;
	rc->route = "unmatched";

	switch (route_match(rc->method, rc->path, &route, req.params, &req.nparams, allow,
			    sizeof(allow))) {
	case ROUTE_NO_PATH:
		http_respond_problem(resp, 404,
				     "no route %s; see /openapi.yaml for the routes partd serves",
				     rc->path);
		return;
	case ROUTE_NO_METHOD:
		http_respond_problem(resp, 405, "%s does not accept %s; it accepts %s", rc->path,
				     rc->method, allow);
		http_add_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
		return;
	case ROUTE_FOUND:
		break;
	}
	rc->route = route->pattern;
	if (!authorize(srv, route, &req, resp, rc))
		return;
	qc.allowed = route->query;
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, query_check_one, &qc);
	if (qc.unknown[0]) {
		http_respond_problem(resp, 400, "unknown query parameter '%s' for %s %s", qc.unknown,
				     route->method, route->pattern);
		return;
	}
	if (!parse_body(route, rc, &req, resp))
		goto done;
	route->handler(&req, resp);
done:
	json_decref(req.body);
}

/* Renders resp into an MHD response and queues it. */
static enum MHD_Result send_response(struct MHD_Connection *conn, struct request_ctx *rc,
				     struct http_response *resp)
{
	struct MHD_Response *r;
	enum MHD_Result ok;
	char *body;
	size_t len;
	int i;

	if (resp->json) {
		if (json_object_get(resp->json, "type") && json_object_get(resp->json, "status"))
			json_object_set_new(resp->json, "request_id", json_string(rc->request_id));
		body = json_dumps(resp->json,
				  JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
		if (!body) {
			resp->status = 500;
			body = strdup("{\"type\":\"/problems/internal\",\"title\":\"Internal error\","
				      "\"status\":500,\"detail\":\"out of memory\"}");
		}
		len = body ? strlen(body) : 0;
		if (body && (body = realloc(body, len + 2)) != NULL) {
			body[len++] = '\n';
			body[len] = '\0';
		}
		r = MHD_create_response_from_buffer(body ? len : 0, body, MHD_RESPMEM_MUST_FREE);
	} else if (resp->text_static) {
		len = resp->textlen;
		r = MHD_create_response_from_buffer(len, resp->text, MHD_RESPMEM_PERSISTENT);
	} else {
		len = resp->textlen;
		r = MHD_create_response_from_buffer(len, resp->text, MHD_RESPMEM_MUST_FREE);
		resp->text = NULL;
	}
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				resp->content_type ? resp->content_type : "application/json");
	MHD_add_response_header(r, "X-Request-Id", rc->request_id);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	for (i = 0; i < resp->nheaders; i++)
		MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
	rc->status = resp->status;
	rc->bytes_out = len;
	ok = MHD_queue_response(conn, (unsigned)resp->status, r);
	MHD_destroy_response(r);
	return ok;
}

static void response_free(struct http_response *resp)
{
	json_decref(resp->json);
	if (!resp->text_static)
		free(resp->text);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct server *srv = cls;
	struct request_ctx *rc = *con_cls;
	struct http_response resp = {0};
	enum MHD_Result ok;
	long limit = srv->app->cfg->body_limit;

	(void)version;
	if (!rc) {
		const char *id = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		rc = calloc(1, sizeof(*rc));
		if (!rc)
			return MHD_NO;
		clock_gettime(CLOCK_MONOTONIC, &rc->start);
		if (request_id_valid(id))
			snprintf(rc->request_id, sizeof(rc->request_id), "%s", id);
		else
			request_id_generate(rc->request_id, sizeof(rc->request_id));
		snprintf(rc->method, sizeof(rc->method), "%s", method);
		snprintf(rc->path, sizeof(rc->path), "%s", url);
		rc->route = "unmatched";
		strbuf_init(&rc->body);
		*con_cls = rc;
		/* Refuse a declared oversized body before reading any of it. */
		if (cl && strtoll(cl, NULL, 10) > limit)
			rc->too_large = true;
		return MHD_YES;
	}
	if (*upload_data_size) {
		rc->bytes_in += *upload_data_size;
		if (!rc->too_large) {
			if (rc->body.len + *upload_data_size > (size_t)limit) {
				rc->too_large = true;
				strbuf_free(&rc->body);
			} else if (!strbuf_append(&rc->body, upload_data, *upload_data_size)) {
				rc->too_large = true;
			}
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (rc->too_large)
		http_respond_problem(&resp, 413,
				     "the request body is larger than %ld bytes (PARTD_BODY_LIMIT)",
				     limit);
	else
		dispatch(srv, conn, rc, &resp);
	if (!resp.status)
		http_respond_problem(&resp, 500, "the handler produced no response");
	ok = send_response(conn, rc, &resp);
	response_free(&resp);
	return ok;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request_ctx *rc = *con_cls;
	struct timespec end;
	double seconds;

	(void)cls;
	(void)conn;
	if (!rc)
		return;
	clock_gettime(CLOCK_MONOTONIC, &end);
	seconds = (double)(end.tv_sec - rc->start.tv_sec) +
		  (double)(end.tv_nsec - rc->start.tv_nsec) / 1e9;
	if (rc->status) {
		metrics_http_observe(rc->route, rc->method, rc->status, seconds);
		LOG_INFO(json_pack("{s:s, s:s, s:s, s:s, s:i, s:f, s:I, s:I, s:s?, s:b}", "request_id",
				   rc->request_id, "method", rc->method, "path", rc->path, "route",
				   rc->route, "status", rc->status, "duration_ms", seconds * 1000,
				   "bytes_in", (json_int_t)rc->bytes_in, "bytes_out",
				   (json_int_t)rc->bytes_out, "principal",
				   rc->principal[0] ? rc->principal : NULL, "completed",
				   toe == MHD_REQUEST_TERMINATED_COMPLETED_OK),
			 "request");
	}
	strbuf_free(&rc->body);
	free(rc);
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	LOG_WARN(NULL, "http: %s", msg);
}

struct server *server_start(struct app *app, const struct auth_tokens *tokens, char *err,
			    size_t errlen)
{
	struct server *srv = calloc(1, sizeof(*srv));
	struct sockaddr_in6 a6 = {0};
	struct sockaddr_in a4 = {0};
	struct sockaddr *addr;
	unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			     MHD_USE_POLL | MHD_USE_ERROR_LOG;
	char host[64];
	int port;

	if (!srv) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srv->app = app;
	srv->tokens = tokens;
	config_parse_listen(app->cfg->listen, host, sizeof(host), &port);
	if (inet_pton(AF_INET, host, &a4.sin_addr) == 1) {
		a4.sin_family = AF_INET;
		a4.sin_port = htons((uint16_t)port);
		addr = (struct sockaddr *)&a4;
	} else {
		inet_pton(AF_INET6, host, &a6.sin6_addr);
		a6.sin6_family = AF_INET6;
		a6.sin6_port = htons((uint16_t)port);
		addr = (struct sockaddr *)&a6;
		flags |= MHD_USE_IPv6;
	}
	srv->daemon = MHD_start_daemon(
		flags, (uint16_t)port, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER,
		on_mhd_log, NULL, MHD_OPTION_SOCK_ADDR, addr,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)app->cfg->max_connections,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)app->cfg->connection_timeout_s,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
		MHD_OPTION_LISTENING_ADDRESS_REUSE, 1U, MHD_OPTION_END);
	if (!srv->daemon) {
		snprintf(err, errlen, "PARTD_LISTEN: cannot serve on %s (address in use?)",
			 app->cfg->listen);
		free(srv);
		return NULL;
	}
	return srv;
}

void server_stop(struct server *srv)
{
	if (!srv)
		return;
	MHD_stop_daemon(srv->daemon);
	free(srv);
}
