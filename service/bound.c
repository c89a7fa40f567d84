#include "bound.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"

#define DATEOID 1082
#define TIMESTAMPOID 1114
#define TIMESTAMPTZOID 1184
/* PostgreSQL counts dates and timestamps from 2000-01-01. */
#define PG_EPOCH_DAY 10957L

/* Formats one datum as pg_get_expr would in a UTC session. */
static bool datum_text(long type, int64_t v, char *out, size_t outlen)
{
	long day;
	int64_t usec, secs;
	char date[16];
	int h, m, s;

	if (type == DATEOID) {
		calendar_format(PG_EPOCH_DAY + (long)v, out, outlen);
		return true;
	}
	if (type != TIMESTAMPOID && type != TIMESTAMPTZOID)
		return false;
	day = (long)(v / 86400000000LL);
	usec = v % 86400000000LL;
	if (usec < 0) {
		usec += 86400000000LL;
		day--;
	}
	secs = usec / 1000000;
	h = (int)(secs / 3600);
	m = (int)(secs / 60 % 60);
	s = (int)(secs % 60);
	calendar_format(PG_EPOCH_DAY + day, date, sizeof(date));
	if (usec % 1000000)
		snprintf(out, outlen, "%s %02d:%02d:%02d.%06lld%s", date, h, m, s,
			 (long long)(usec % 1000000), type == TIMESTAMPTZOID ? "+00" : "");
	else
		snprintf(out, outlen, "%s %02d:%02d:%02d%s", date, h, m, s,
			 type == TIMESTAMPTZOID ? "+00" : "");
	/* pg_get_expr drops trailing zeros of the fraction. */
	if (usec % 1000000) {
		char *dot = strchr(out + 11, '.'), *end = dot + 7;
		char tz[4] = "";
		if (type == TIMESTAMPTZOID) {
			memcpy(tz, end, 3);
			*end = '\0';
		}
		while (end > dot + 1 && end[-1] == '0')
			*--end = '\0';
		strncat(out, tz, outlen - strlen(out) - 1);
	}
	return true;
}

/*
 * Decodes the one PARTITIONRANGEDATUM list that starts at p (after
 * ":lowerdatums " or ":upperdatums "): sets *has and text.
 */
static bool range_datum(const char *p, bool *has, char *text, size_t textlen)
{
	const char *kind, *type, *val, *close;
	unsigned char bytes[8] = {0};
	uint64_t u = 0;
	int64_t v;
	long len, i;
	char *end;

	if (strncmp(p, "({PARTITIONRANGEDATUM ", 22) != 0)
		return false;
	close = strstr(p, "})");
	if (!close || !(kind = strstr(p, ":kind ")) || kind > close)
		return false;
	/* One column only: a second datum before the list ends is not ours. */
	if (strstr(p + 2, "{PARTITIONRANGEDATUM ") && strstr(p + 2, "{PARTITIONRANGEDATUM ") < close)
		return false;
	switch (atoi(kind + 6)) {
	case -1:
	case 1:
		*has = false;
		return true;
	case 0:
		break;
	default:
		return false;
	}
	if (!(type = strstr(kind, ":consttype ")) || !(val = strstr(kind, ":constvalue ")) ||
	    val > close)
		return false;
	len = strtol(val + 12, &end, 10);
	if ((len != 4 && len != 8) || strncmp(end, " [ ", 3) != 0)
		return false;
	end += 3;
	for (i = 0; i < 8; i++) {
		long b = strtol(end, &end, 10);
		if (b < -128 || b > 255)
			return false;
		bytes[i] = (unsigned char)b;
	}
	/*
	 * A by-value Datum printed in the server's (little-endian) byte order,
	 * put together unsigned: a bound before 2000 is negative.
	 */
	for (i = len - 1; i >= 0; i--)
		u = (u << 8) | bytes[i];
	v = len == 4 ? (int32_t)(uint32_t)u : (int64_t)u;
	*has = true;
	return datum_text(strtol(type + 11, NULL, 10), v, text, textlen);
}

bool bound_decode(const char *node, struct bound *out)
{
	const char *lo, *hi;

	memset(out, 0, sizeof(*out));
	if (!node || strncmp(node, "{PARTITIONBOUNDSPEC :strategy ", 30) != 0)
		return false;
	if (strstr(node, ":is_default true")) {
		out->is_default = true;
		return true;
	}
	if (node[30] != 'r')
		return false;
	lo = strstr(node, ":lowerdatums ");
	hi = strstr(node, ":upperdatums ");
	return lo && hi && range_datum(lo + 13, &out->has_from, out->from, sizeof(out->from)) &&
	       range_datum(hi + 13, &out->has_to, out->to, sizeof(out->to));
}
