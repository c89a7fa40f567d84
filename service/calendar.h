/*
 * calendar: partition ranges as day numbers (days since 1970-01-01, UTC),
 * and the month/day intervals partd partitions by. Bounds come from the
 * catalog as text ("2026-01-01", "2026-01-01 00:00:00", or with "+00").
 */
#ifndef PARTD_CALENDAR_H
#define PARTD_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>

enum interval_unit { INTERVAL_MONTH, INTERVAL_DAY };

const char *interval_unit_name(enum interval_unit u);
/* "month" or "day"; false for anything else. */
bool interval_unit_parse(const char *s, enum interval_unit *out);

long calendar_day(int y, int m, int d);
void calendar_ymd(long day, int *y, int *m, int *d);
long calendar_today(void);
/* A monotonic clock in milliseconds, for durations. */
double monotonic_ms(void);
/*
 * Parses a catalog bound. *aligned is false when it is not at midnight
 * (such a bound is never partd's). Returns false when s is no date.
 */
bool calendar_parse_bound(const char *s, long *day, bool *aligned);
/* Parses "YYYY-MM-DD" strictly (a real date); false otherwise. */
bool calendar_parse_date(const char *s, long *day);
/* "YYYY-MM-DD" into out (at least 11 bytes). */
void calendar_format(long day, char *out, size_t outlen);

/* The start of the interval holding day. */
long interval_start(enum interval_unit u, long day);
/* day moved by n intervals (day should be an interval start). */
long interval_add(enum interval_unit u, long day, int n);
/* "<parent>_YYYY_MM" or "<parent>_YYYY_MM_DD", the parent cut to fit 63 bytes. */
void interval_partition_name(enum interval_unit u, const char *parent, long start, char *out,
			     size_t outlen);
/*
 * Parses an age like "3 months", "1 month", "90 days", "2 years" into
 * months or days; false (nothing set) for anything else.
 */
bool calendar_parse_age(const char *s, int *months, int *days);
/* day minus an age. */
long calendar_sub_age(long day, int months, int days);

#endif
