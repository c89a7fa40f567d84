/* Open routes: liveness, readiness, metrics, the contract. */
#include <string.h>

#include "embed.h"
#include "../service/metrics.h"
#include "../service/strbuf.h"
#include "handlers.h"

void h_healthz(struct http_request *req, struct http_response *resp)
{
	(void)req;
	http_respond_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

void h_readyz(struct http_request *req, struct http_response *resp)
{
	json_t *checks;
	const char *key;
	json_t *value;
	strbuf why;

	if (app_readiness(req->app, &checks)) {
		http_respond_json(resp, 200,
				  json_pack("{s:s, s:o}", "status", "ready", "checks", checks));
		return;
	}
	strbuf_init(&why);
	json_object_foreach(checks, key, value) {
		if (strcmp(json_string_value(value), "ok") != 0)
			strbuf_printf(&why, "%s%s: %s", why.len ? "; " : "", key,
				      json_string_value(value));
	}
	http_respond_problem(resp, 503, "not ready: %s", why.data ? why.data : "unknown");
	json_object_set_new(resp->json, "checks", checks);
	strbuf_free(&why);
}

void h_metrics(struct http_request *req, struct http_response *resp)
{
	strbuf out;
	size_t len;
	char *text;

	strbuf_init(&out);
	if (!metrics_render(&out, req->app->pool, atomic_load(&req->app->workers))) {
		strbuf_free(&out);
		http_respond_problem(resp, 500, "out of memory rendering metrics");
		return;
	}
	text = strbuf_steal(&out, &len);
	http_respond_text(resp, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, false);
}

void h_openapi(struct http_request *req, struct http_response *resp)
{
	(void)req;
	http_respond_text(resp, 200, "application/yaml", (char *)openapi_openapi,
			  openapi_openapi_len, true);
}
