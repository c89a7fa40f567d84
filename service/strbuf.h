/* strbuf: a growable NUL-terminated byte buffer. */
#ifndef PARTD_STRBUF_H
#define PARTD_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct strbuf {
	char *data; /* always NUL-terminated once anything was appended */
	size_t len;
	size_t cap;
	bool failed; /* an allocation failed; the content is incomplete */
} strbuf;

void strbuf_init(strbuf *sb);
bool strbuf_append(strbuf *sb, const char *s, size_t n);
bool strbuf_puts(strbuf *sb, const char *s);
bool strbuf_printf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * JSON writing without building a tree (for answers of many thousand
 * objects): a string, quoted and escaped per RFC 8259 (control characters
 * as \u00XX; a byte that does not start valid UTF-8 becomes U+FFFD), and
 * an integer.
 */
bool strbuf_json_string(strbuf *sb, const char *s);
bool strbuf_int(strbuf *sb, long long v);
/* Hands the buffer to the caller (who frees it); sb is left empty. */
char *strbuf_steal(strbuf *sb, size_t *len);
void strbuf_free(strbuf *sb);

#endif
