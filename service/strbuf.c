#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void strbuf_init(strbuf *sb)
{
	memset(sb, 0, sizeof(*sb));
}

static bool strbuf_reserve(strbuf *sb, size_t extra)
{
	size_t need, cap;
	char *p;

	if (sb->failed)
		return false;
	need = sb->len + extra + 1;
	if (need <= sb->cap)
		return true;
	cap = sb->cap ? sb->cap : 256;
	while (cap < need)
		cap *= 2;
	p = realloc(sb->data, cap);
	if (!p) {
		sb->failed = true;
		return false;
	}
	sb->data = p;
	sb->cap = cap;
	return true;
}

bool strbuf_append(strbuf *sb, const char *s, size_t n)
{
	if (!strbuf_reserve(sb, n))
		return false;
	memcpy(sb->data + sb->len, s, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
	return true;
}

bool strbuf_puts(strbuf *sb, const char *s)
{
	return strbuf_append(sb, s, strlen(s));
}

bool strbuf_printf(strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !strbuf_reserve(sb, (size_t)n))
		return false;
	va_start(ap, fmt);
	vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
	return true;
}

/* Bytes of the UTF-8 sequence at s (1-4), or 0 when it is not valid UTF-8. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		n = 2;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		n = 3;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0; /* also stops at the terminating NUL */
	/* overlong three- and four-byte forms, surrogates, past U+10FFFF */
	if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F) ||
	    (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F))
		return 0;
	return n;
}

bool strbuf_json_string(strbuf *sb, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run;
	char esc[8];
	size_t n;

	if (!strbuf_append(sb, "\"", 1))
		return false;
	while (*p) {
		/* the longest run that needs no escaping, in one copy */
		for (run = p; *p >= 0x20 && *p != '"' && *p != '\\' && *p < 0x80; p++)
			;
		if (p > run && !strbuf_append(sb, (const char *)run, (size_t)(p - run)))
			return false;
		if (!*p)
			break;
		if (*p >= 0x80) {
			n = utf8_len(p);
			if (!(n ? strbuf_append(sb, (const char *)p, n)
				: strbuf_append(sb, "\xEF\xBF\xBD", 3)))
				return false;
			p += n ? n : 1;
			continue;
		}
		switch (*p) {
		case '"': snprintf(esc, sizeof(esc), "\\\""); break;
		case '\\': snprintf(esc, sizeof(esc), "\\\\"); break;
		case '\n': snprintf(esc, sizeof(esc), "\\n"); break;
		case '\r': snprintf(esc, sizeof(esc), "\\r"); break;
		case '\t': snprintf(esc, sizeof(esc), "\\t"); break;
		default: snprintf(esc, sizeof(esc), "\\u%04x", *p); break;
		}
		if (!strbuf_puts(sb, esc))
			return false;
		p++;
	}
	return strbuf_append(sb, "\"", 1);
}

bool strbuf_int(strbuf *sb, long long v)
{
	char buf[24], *e = buf + sizeof(buf), *p = e;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	return strbuf_append(sb, p, (size_t)(e - p));
}

char *strbuf_steal(strbuf *sb, size_t *len)
{
	char *p = sb->data;

	if (!p)
		p = calloc(1, 1);
	if (len)
		*len = sb->len;
	strbuf_init(sb);
	return p;
}

void strbuf_free(strbuf *sb)
{
	if (!sb)
		return;
	free(sb->data);
	strbuf_init(sb);
}
