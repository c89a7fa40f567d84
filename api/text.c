#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../service/strbuf.h"

bool text_wanted(const struct http_request *req)
{
	const char *accept = http_header(req, "Accept");

	return accept && strstr(accept, "text/plain") != NULL;
}

void text_bytes(long long n, char *out, size_t outlen)
{
	const char *units[] = {"B", "kB", "MB", "GB", "TB"};
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, outlen, "%lld B", n);
	else
		snprintf(out, outlen, "%.1f %s", v, units[u]);
}

static const json_t *text_lookup(const json_t *row, const char *key)
{
	char head[64];
	const char *dot = strchr(key, '.');

	if (!dot)
		return json_object_get(row, key);
	snprintf(head, sizeof(head), "%.*s", (int)(dot - key), key);
	return text_lookup(json_object_get(row, head), dot + 1);
}

static void text_cell(const json_t *v, enum text_kind kind, char *out, size_t outlen)
{
	if (!v || json_is_null(v)) {
		snprintf(out, outlen, "-");
		return;
	}
	switch (kind) {
	case TEXT_BYTES:
		text_bytes((long long)json_integer_value(v), out, outlen);
		return;
	case TEXT_TIME: /* 2026-11-25T11:00:00.123Z -> 2026-11-25 11:00 */
		snprintf(out, outlen, "%.10s %.5s", json_string_value(v),
			 strlen(json_string_value(v)) > 11 ? json_string_value(v) + 11 : "");
		return;
	case TEXT_BOOL:
		snprintf(out, outlen, "%s", json_is_true(v) ? "yes" : "no");
		return;
	case TEXT_INT:
	case TEXT_STRING:
		break;
	}
	if (json_is_string(v))
		snprintf(out, outlen, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(out, outlen, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(out, outlen, "%.1f", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(out, outlen, "%s", json_is_true(v) ? "yes" : "no");
	else {
		char *dump = json_dumps(v, JSON_COMPACT);
		snprintf(out, outlen, "%s", dump ? dump : "?");
		free(dump);
	}
}

char *text_table(const json_t *rows, const struct text_col *cols, size_t ncols)
{
	size_t nrows = json_array_size(rows), r, c, *width = calloc(ncols, sizeof(size_t));
	char cell[256];
	strbuf sb;

	if (!width)
		return NULL;
	for (c = 0; c < ncols; c++)
		width[c] = strlen(cols[c].header);
	for (r = 0; r < nrows; r++)
		for (c = 0; c < ncols; c++) {
			text_cell(text_lookup(json_array_get(rows, r), cols[c].key), cols[c].kind, cell,
				  sizeof(cell));
			if (strlen(cell) > width[c])
				width[c] = strlen(cell);
		}
	strbuf_init(&sb);
	for (c = 0; c < ncols; c++)
		strbuf_printf(&sb, "%-*s%s", c + 1 < ncols ? (int)width[c] : 0, cols[c].header,
			      c + 1 < ncols ? "  " : "\n");
	for (r = 0; r < nrows; r++)
		for (c = 0; c < ncols; c++) {
			bool right = cols[c].kind == TEXT_INT || cols[c].kind == TEXT_BYTES;
			text_cell(text_lookup(json_array_get(rows, r), cols[c].key), cols[c].kind, cell,
				  sizeof(cell));
			strbuf_printf(&sb, right ? "%*s%s" : "%-*s%s",
				      c + 1 < ncols || right ? (int)width[c] : 0, cell,
				      c + 1 < ncols ? "  " : "\n");
		}
	free(width);
	if (sb.failed) {
		strbuf_free(&sb);
		return NULL;
	}
	return strbuf_steal(&sb, NULL);
}

void text_respond_table(struct http_response *resp, const json_t *rows,
			const struct text_col *cols, size_t ncols)
{
	char *text = text_table(rows, cols, ncols);

	if (!text) {
		http_respond_problem(resp, 500, "out of memory rendering text");
		return;
	}
	http_respond_text(resp, 200, "text/plain; charset=utf-8", text, strlen(text), false);
}
