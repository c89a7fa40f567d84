#include "routes.h"

#include <stdio.h>
#include <string.h>

#include "handlers.h"

static const char *const q_jobs[] = {"table", "kind", "state", "limit", "cursor", NULL};
static const char *const q_events[] = {"limit", "cursor", NULL};
static const char *const q_partitions[] = {"exact", NULL};
static const char *const q_pruning[] = {"from", "to", NULL};

static const struct route routes[] = {
	{"GET", "/healthz", AUTH_NONE, BODY_NONE, NULL, h_healthz},
	{"GET", "/readyz", AUTH_NONE, BODY_NONE, NULL, h_readyz},
	{"GET", "/metrics", AUTH_NONE, BODY_NONE, NULL, h_metrics},
	{"GET", "/openapi.yaml", AUTH_NONE, BODY_NONE, NULL, h_openapi},
	{"GET", "/v1/tables", AUTH_READ, BODY_NONE, NULL, h_tables_list},
	{"GET", "/v1/tables/{table}", AUTH_READ, BODY_NONE, NULL, h_tables_get},
	{"PUT", "/v1/tables/{table}", AUTH_ADMIN, BODY_JSON, NULL, h_tables_put},
	{"DELETE", "/v1/tables/{table}", AUTH_ADMIN, BODY_NONE, NULL, h_tables_delete},
	{"GET", "/v1/tables/{table}/partitions", AUTH_READ, BODY_NONE, q_partitions, h_partitions_list},
	{"POST", "/v1/tables/{table}/partitions", AUTH_OPERATE, BODY_JSON, NULL, h_partitions_create},
	{"GET", "/v1/tables/{table}/pruning", AUTH_READ, BODY_NONE, q_pruning, h_tables_pruning},
	{"POST", "/v1/tables/{table}/migration", AUTH_OPERATE, BODY_JSON, NULL, h_migration_start},
	{"GET", "/v1/tables/{table}/migration", AUTH_READ, BODY_NONE, NULL, h_migration_get},
	{"PATCH", "/v1/tables/{table}/migration", AUTH_OPERATE, BODY_JSON, NULL, h_migration_tune},
	{"POST", "/v1/tables/{table}/migration/rollback", AUTH_ADMIN, BODY_JSON, NULL,
	 h_migration_rollback},
	{"POST", "/v1/tables/{table}/migration/finalize", AUTH_ADMIN, BODY_JSON, NULL,
	 h_migration_finalize},
	{"POST", "/v1/tables/{table}/retention", AUTH_OPERATE, BODY_JSON, NULL, h_retention_run},
	{"GET", "/v1/tables/{table}/archives", AUTH_READ, BODY_NONE, NULL, h_archives_list},
	{"POST", "/v1/tables/{table}/archives/{id}/restore", AUTH_ADMIN, BODY_JSON, NULL,
	 h_archive_restore},
	{"GET", "/v1/jobs", AUTH_READ, BODY_NONE, q_jobs, h_jobs_list},
	{"GET", "/v1/jobs/{id}", AUTH_READ, BODY_NONE, NULL, h_jobs_get},
	{"GET", "/v1/jobs/{id}/events", AUTH_READ, BODY_NONE, q_events, h_jobs_events},
	{"POST", "/v1/jobs/{id}/cancel", AUTH_OPERATE, BODY_NONE, NULL, h_jobs_cancel},
	{"POST", "/v1/diagnostics/sleep", AUTH_ADMIN, BODY_JSON, NULL, h_diagnostics_sleep},
};

#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

/* Matches path against pattern segment by segment, capturing {params}. */
static bool pattern_match(const char *pattern, const char *path, char params[][HTTP_PARAM_MAX],
			  int *nparams)
{
	int n = 0;

	while (*pattern && *path) {
		if (*pattern != '/' || *path != '/')
			return false;
		pattern++;
		path++;
		if (*pattern == '{') {
			size_t len = strcspn(path, "/");
			if (len == 0 || len >= HTTP_PARAM_MAX || n == HTTP_MAX_PARAMS)
				return false;
			if (params) {
				memcpy(params[n], path, len);
				params[n][len] = '\0';
			}
			n++;
			path += len;
			pattern = strchr(pattern, '}') + 1;
		} else {
			size_t plen = strcspn(pattern, "/"), len = strcspn(path, "/");
			if (plen != len || strncmp(pattern, path, len) != 0)
				return false;
			pattern += plen;
			path += len;
		}
	}
	if (*pattern || *path)
		return false;
	if (nparams)
		*nparams = n;
	return true;
}

enum route_result route_match(const char *method, const char *path, const struct route **out,
			      char params[][HTTP_PARAM_MAX], int *nparams, char *allow,
			      size_t allowlen)
{
	bool path_known = false;
	size_t i;

	allow[0] = '\0';
	for (i = 0; i < N_ROUTES; i++) {
		if (!pattern_match(routes[i].pattern, path, NULL, NULL))
			continue;
		if (strcmp(routes[i].method, method) == 0) {
			pattern_match(routes[i].pattern, path, params, nparams);
			*out = &routes[i];
			return ROUTE_FOUND;
		}
		path_known = true;
		if (!strstr(allow, routes[i].method)) {
			size_t used = strlen(allow);
			snprintf(allow + used, allowlen - used, "%s%s", used ? ", " : "",
				 routes[i].method);
		}
	}
	return path_known ? ROUTE_NO_METHOD : ROUTE_NO_PATH;
}
