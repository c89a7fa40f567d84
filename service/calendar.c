#include "calendar.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ident.h"

static const char *const interval_unit_names[] = {"month", "day"};

const char *interval_unit_name(enum interval_unit u)
{
	return interval_unit_names[u];
}

bool interval_unit_parse(const char *s, enum interval_unit *out)
{
	if (strcmp(s, "month") == 0)
		*out = INTERVAL_MONTH;
	else if (strcmp(s, "day") == 0)
		*out = INTERVAL_DAY;
	else
		return false;
	return true;
}

/* Days from civil, after Howard Hinnant's algorithm: exact for any year. */
long calendar_day(int y, int m, int d)
{
	long yy = y - (m <= 2);
	long era = (yy >= 0 ? yy : yy - 399) / 400;
	long yoe = yy - era * 400;
	long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

void calendar_ymd(long day, int *y, int *m, int *d)
{
	long z = day + 719468;
	long era = (z >= 0 ? z : z - 146096) / 146097;
	long doe = z - era * 146097;
	long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long mp = (5 * doy + 2) / 153;

	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

long calendar_today(void)
{
	return (long)(time(NULL) / 86400);
}

static bool parse_ymd(const char *s, int *y, int *m, int *d)
{
	int i;

	for (i = 0; i < 10; i++)
		if (i == 4 || i == 7 ? s[i] != '-' : !isdigit((unsigned char)s[i]))
			return false;
	*y = atoi(s);
	*m = atoi(s + 5);
	*d = atoi(s + 8);
	if (*m < 1 || *m > 12 || *d < 1 || *d > 31)
		return false;
	{
		int yy, mm, dd;
		calendar_ymd(calendar_day(*y, *m, *d), &yy, &mm, &dd);
		return yy == *y && mm == *m && dd == *d; /* rejects 2026-02-30 */
	}
}

bool calendar_parse_date(const char *s, long *day)
{
	int y, m, d;

	if (strlen(s) != 10 || !parse_ymd(s, &y, &m, &d))
		return false;
	*day = calendar_day(y, m, d);
	return true;
}

bool calendar_parse_bound(const char *s, long *day, bool *aligned)
{
	int y, m, d;
	const char *rest;

	if (strlen(s) < 10 || !parse_ymd(s, &y, &m, &d))
		return false;
	*day = calendar_day(y, m, d);
	rest = s + 10;
	*aligned = *rest == '\0' || strcmp(rest, " 00:00:00") == 0 ||
		   strcmp(rest, " 00:00:00+00") == 0;
	return true;
}

void calendar_format(long day, char *out, size_t outlen)
{
	int y, m, d;

	calendar_ymd(day, &y, &m, &d);
	snprintf(out, outlen, "%04d-%02d-%02d", y, m, d);
}

long interval_start(enum interval_unit u, long day)
{
	int y, m, d;

	if (u == INTERVAL_DAY)
		return day;
	calendar_ymd(day, &y, &m, &d);
	return calendar_day(y, m, 1);
}

long interval_add(enum interval_unit u, long day, int n)
{
	int y, m, d;
	long months;

	if (u == INTERVAL_DAY)
		return day + n;
	calendar_ymd(day, &y, &m, &d);
	months = (long)y * 12 + (m - 1) + n;
	return calendar_day((int)(months / 12), (int)(months % 12) + 1, d);
}

void interval_partition_name(enum interval_unit u, const char *parent, long start, char *out,
			     size_t outlen)
{
	char suffix[16];
	int y, m, d, keep;

	calendar_ymd(start, &y, &m, &d);
	if (u == INTERVAL_MONTH)
		snprintf(suffix, sizeof(suffix), "_%04d_%02d", y, m);
	else
		snprintf(suffix, sizeof(suffix), "_%04d_%02d_%02d", y, m, d);
	keep = IDENT_MAX - (int)strlen(suffix);
	snprintf(out, outlen, "%.*s%s", keep, parent, suffix);
}

bool calendar_parse_age(const char *s, int *months, int *days)
{
	char unit[16], extra[2];
	int n;

	if (sscanf(s, "%d %15s %1s", &n, unit, extra) != 2 || n < 0 || n > 100000)
		return false;
	if (strcmp(unit, "month") == 0 || strcmp(unit, "months") == 0) {
		*months = n;
		*days = 0;
	} else if (strcmp(unit, "year") == 0 || strcmp(unit, "years") == 0) {
		*months = n * 12;
		*days = 0;
	} else if (strcmp(unit, "day") == 0 || strcmp(unit, "days") == 0) {
		*months = 0;
		*days = n;
	} else {
		return false;
	}
	return true;
}

long calendar_sub_age(long day, int months, int days)
{
	int y, m, d, last;
	long total;

	if (days)
		return day - days;
	calendar_ymd(day, &y, &m, &d);
	total = (long)y * 12 + (m - 1) - months;
	y = (int)(total / 12);
	m = (int)(total % 12) + 1;
	/* Clamp the day to the target month (31 March minus 1 month = 28/29 Feb). */
	last = (int)(calendar_day(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) - calendar_day(y, m, 1));
	return calendar_day(y, m, d > last ? last : d);
}

double monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}
