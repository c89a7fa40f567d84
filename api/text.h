/*
 * text: plain-text views for curl at 3 a.m. (Accept: text/plain): JSON
 * rows rendered as an aligned table.
 */
#ifndef PARTD_TEXT_H
#define PARTD_TEXT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "http.h"

enum text_kind { TEXT_STRING, TEXT_INT, TEXT_BYTES, TEXT_TIME, TEXT_BOOL };

struct text_col {
	const char *header;
	const char *key; /* a member of each row; "a.b" reaches into an object */
	enum text_kind kind;
};

/* True when the client asked for text/plain. */
bool text_wanted(const struct http_request *req);
/* The rows as an aligned table; caller frees. NULL on out of memory. */
char *text_table(const json_t *rows, const struct text_col *cols, size_t ncols);
/* "1.5 GB"-style size into out. */
void text_bytes(long long n, char *out, size_t outlen);
/* Answers 200 text/plain with the table of rows. */
void text_respond_table(struct http_response *resp, const json_t *rows,
			const struct text_col *cols, size_t ncols);

#endif
