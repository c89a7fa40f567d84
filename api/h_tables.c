/* /v1/tables: managed tables, their partitions, making partitions, pruning. */
#include <stdio.h>
#include <string.h>

#include "../service/partitions.h"
#include "../service/tables.h"
#include "enqueue.h"
#include "handlers.h"
#include "text.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct text_col table_cols[] = {
	{"TABLE", "table", TEXT_STRING},
	{"PARTITIONED", "partitioned", TEXT_BOOL},
	{"PARTITIONS", "summary.partitions", TEXT_INT},
	{"SIZE", "summary.total_bytes", TEXT_BYTES},
	{"ROWS~", "summary.rows_estimate", TEXT_INT},
	{"OLDEST", "summary.oldest_bound", TEXT_STRING},
	{"NEWEST", "summary.newest_bound", TEXT_STRING},
	{"RUNWAY", "summary.runway", TEXT_INT},
	{"DEFAULT_ROWS", "summary.default_rows", TEXT_INT},
	{"ALERTS", "alert_codes", TEXT_STRING},
};

static const struct text_col partition_cols[] = {
	{"NAME", "name", TEXT_STRING},
	{"FROM", "from", TEXT_STRING},
	{"TO", "to", TEXT_STRING},
	{"ROWS", "rows", TEXT_INT},
	{"TABLE", "table_bytes", TEXT_BYTES},
	{"INDEXES", "index_bytes", TEXT_BYTES},
	{"DEAD", "dead_tuples", TEXT_INT},
	{"LAST_AUTOVACUUM", "last_autovacuum", TEXT_TIME},
	{"LAST_AUTOANALYZE", "last_autoanalyze", TEXT_TIME},
	{"TIER", "tier", TEXT_STRING},
};

/* Adds "alert_codes": "a,b" (for the text view) to a status object. */
static void add_alert_codes(json_t *status)
{
	const json_t *alerts = json_object_get(status, "alerts"), *a;
	char codes[256] = "";
	size_t i;

	json_array_foreach(alerts, i, a)
		snprintf(codes + strlen(codes), sizeof(codes) - strlen(codes), "%s%s", i ? "," : "",
			 json_string_value(json_object_get(a, "code")));
	json_object_set_new(status, "alert_codes", json_string(*codes ? codes : "-"));
}

/* The text view of one table: its row, then every alert with its action. */
static void respond_status_text(struct http_response *resp, json_t *status)
{
	json_t *rows = json_array(), *alerts = json_object_get(status, "alerts"), *a;
	char *table, *text = NULL;
	size_t i, len;
	FILE *out;

	add_alert_codes(status);
	json_array_append(rows, status);
	table = text_table(rows, table_cols, N(table_cols));
	json_decref(rows);
	out = open_memstream(&text, &len);
	if (!table || !out) {
		free(table);
		if (out)
			fclose(out);
		free(text);
		http_respond_problem(resp, 500, "out of memory rendering text");
		return;
	}
	fputs(table, out);
	json_array_foreach(alerts, i, a)
		fprintf(out, "\n[%s] %s: %s\n  -> %s\n",
			json_string_value(json_object_get(a, "severity")),
			json_string_value(json_object_get(a, "code")),
			json_string_value(json_object_get(a, "message")),
			json_string_value(json_object_get(a, "action")));
	if (!json_array_size(alerts))
		fputs("\nno alerts\n", out);
	fclose(out);
	free(table);
	http_respond_text(resp, 200, "text/plain; charset=utf-8", text, len, false);
}

void h_tables_list(struct http_request *req, struct http_response *resp)
{
	struct svc_error err = {0};
	json_t *out = tables_list(req->app->pool, &err), *st;
	size_t i;

	if (out && text_wanted(req)) {
		json_array_foreach(json_object_get(out, "tables"), i, st) add_alert_codes(st);
		text_respond_table(resp, json_object_get(out, "tables"), table_cols, N(table_cols));
		json_decref(out);
		return;
	}
	http_respond_result(resp, 200, out, &err);
}

void h_tables_get(struct http_request *req, struct http_response *resp)
{
	struct svc_error err = {0};
	json_t *st = tables_get(req->app->pool, req->params[0], &err);

	if (st && text_wanted(req)) {
		respond_status_text(resp, st);
		json_decref(st);
		return;
	}
	http_respond_result(resp, 200, st, &err);
}

void h_tables_put(struct http_request *req, struct http_response *resp)
{
	struct svc_error err = {0};
	bool created = false;
	json_t *st = tables_put(req->app->pool, req->params[0], req->body, req->principal, &created,
				&err);

	http_respond_result(resp, created ? 201 : 200, st, &err);
}

void h_tables_delete(struct http_request *req, struct http_response *resp)
{
	struct svc_error err = {0};

	if (tables_delete(req->app->pool, req->params[0], &err)) {
		resp->status = 204;
		resp->content_type = "application/json";
		return;
	}
	http_respond_result(resp, 200, NULL, &err);
}

void h_partitions_list(struct http_request *req, struct http_response *resp)
{
	struct svc_error err = {0};
	const char *exact = http_query(req, "exact");
	bool counted = exact && strcmp(exact, "true") == 0;
	json_t *out;

	if (exact && !counted && strcmp(exact, "false") != 0) {
		http_respond_problem(resp, 400, "exact must be true or false");
		return;
	}
	if (!text_wanted(req)) {
		/* JSON: written as text (the common poll: from the cache). */
		size_t len;
		char *body = tables_partitions_text(req->app->pool, req->params[0], counted, &len,
						    &err);
		if (body)
			http_respond_text(resp, 200, "application/json", body, len, false);
		else
			http_respond_svc_error(resp, &err);
		svc_error_clear(&err);
		return;
	}
	if (!(out = tables_partitions(req->app->pool, req->params[0], counted, &err))) {
		http_respond_svc_error(resp, &err);
		svc_error_clear(&err);
		return;
	}
	text_respond_table(resp, json_object_get(out, "partitions"), partition_cols,
			   N(partition_cols));
	json_decref(out);
}

void h_partitions_create(struct http_request *req, struct http_response *resp)
{
	struct svc_error err = {0};
	bool replayed = false;
	const char *key;
	json_t *job;

	if (!enqueue_idempotency_key(req, resp, &key))
		return;
	job = partitions_enqueue(req->app->pool, req->params[0], req->body, req->principal, key,
				 &replayed, &err);
	enqueue_answer(resp, job, replayed, &err);
}

void h_tables_pruning(struct http_request *req, struct http_response *resp)
{
	struct svc_error err = {0};

	http_respond_result(resp, 200,
		tables_pruning(req->app->pool, req->params[0], http_query(req, "from"),
			       http_query(req, "to"), &err),
		&err);
}
