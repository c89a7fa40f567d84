/*
 * routes: the route table (every route partd serves, with its scope) and
 * the matcher that picks a route for a method and path.
 */
#ifndef PARTD_ROUTES_H
#define PARTD_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#include "auth.h"
#include "http.h"

typedef void (*route_handler)(struct http_request *req, struct http_response *resp);

enum route_body { BODY_NONE, BODY_JSON };

struct route {
	const char *method;
	const char *pattern;         /* "/v1/jobs/{id}"; also the metrics label */
	enum auth_scope scope;       /* AUTH_NONE: open */
	enum route_body body;
	const char *const *query;    /* accepted query parameters, NULL-terminated, or NULL */
	route_handler handler;
};

enum route_result { ROUTE_FOUND, ROUTE_NO_PATH, ROUTE_NO_METHOD };

/*
 * Finds the route for method and path. On ROUTE_FOUND sets *out and copies
 * the path parameters into params. On ROUTE_NO_METHOD, allow lists the
 * methods the path has ("GET, POST").
 */
enum route_result route_match(const char *method, const char *path, const struct route **out,
			      char params[][HTTP_PARAM_MAX], int *nparams, char *allow,
			      size_t allowlen);

#endif
