/*
 * log: one JSON object per line on stderr:
 *   {"ts":"2026-11-25T11:00:00.123Z","level":"info","msg":"...", ...fields}
 * Thread-safe. The LOG_* macros test the level before anything is
 * formatted or built, so a disabled debug line costs one comparison.
 */
#ifndef PARTD_LOG_H
#define PARTD_LOG_H

#include <jansson.h>
#include <stdbool.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

extern enum log_level log_min_level;

/* Returns false and changes nothing when name is not a level. */
bool log_level_parse(const char *name, enum log_level *out);
void log_set_level(enum log_level level);
/* Writes one line. Takes ownership of fields (an object or NULL). */
void log_emit(enum log_level level, json_t *fields, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define LOG_AT(lvl, fields, ...)                                    \
	do {                                                        \
		if ((lvl) >= log_min_level)                         \
			log_emit((lvl), (fields), __VA_ARGS__);     \
	} while (0)
#define LOG_DEBUG(fields, ...) LOG_AT(LOG_DEBUG, fields, __VA_ARGS__)
#define LOG_INFO(fields, ...) LOG_AT(LOG_INFO, fields, __VA_ARGS__)
#define LOG_WARN(fields, ...) LOG_AT(LOG_WARN, fields, __VA_ARGS__)
#define LOG_ERROR(fields, ...) LOG_AT(LOG_ERROR, fields, __VA_ARGS__)

#endif
