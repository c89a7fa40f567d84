#include "svc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void svc_error_clear(struct svc_error *err)
{
	json_decref(err->extra);
	memset(err, 0, sizeof(*err));
}

/* Always returns false, so a caller can write `return svc_fail(...)`. */
bool svc_fail(struct svc_error *err, enum svc_code code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	return false;
}

bool svc_field(struct svc_error *err, const char *field, const char *fmt, ...)
{
	va_list ap;

	err->code = SVC_BAD_REQUEST;
	snprintf(err->field, sizeof(err->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	return false;
}
