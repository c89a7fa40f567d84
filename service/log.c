#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum log_level log_min_level = LOG_INFO;

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const log_level_names[] = {
	[LOG_DEBUG] = "debug",
	[LOG_INFO] = "info",
	[LOG_WARN] = "warn",
	[LOG_ERROR] = "error",
};

bool log_level_parse(const char *name, enum log_level *out)
{
	size_t i;

	for (i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++) {
		if (strcmp(name, log_level_names[i]) == 0) {
			*out = (enum log_level)i;
			return true;
		}
	}
	return false;
}

void log_set_level(enum log_level level)
{
	log_min_level = level;
}

void log_emit(enum log_level level, json_t *fields, const char *fmt, ...)
{
	char msg[1024], ts[80];
	struct timespec now;
	struct tm tm;
	json_t *line;
	char *text;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 now.tv_nsec / 1000000);

	line = json_pack("{s:s, s:s, s:s}", "ts", ts, "level", log_level_names[level], "msg", msg);
	if (line && json_is_object(fields))
		json_object_update_missing(line, fields);
	json_decref(fields);
	text = line ? json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) : NULL;
	json_decref(line);

	pthread_mutex_lock(&log_lock);
	if (text)
		fprintf(stderr, "%s\n", text);
	else
		fprintf(stderr, "{\"level\":\"error\",\"msg\":\"out of memory while logging\"}\n");
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
	free(text);
}
