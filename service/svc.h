/*
 * svc: how a service function says what went wrong, in terms the HTTP face
 * maps to a status without knowing any SQL.
 */
#ifndef PARTD_SVC_H
#define PARTD_SVC_H

#include <jansson.h>
#include <stdbool.h>

enum svc_code {
	SVC_OK = 0,
	SVC_BAD_REQUEST,   /* the caller's input is wrong; detail says which field */
	SVC_NOT_FOUND,
	SVC_CONFLICT,      /* the state of things forbids it now (active job, finished job) */
	SVC_UNPROCESSABLE, /* well-formed but refused: idempotency key reused, or beyond a server limit */
	SVC_UNAVAILABLE,   /* database down or pool exhausted: try again */
	SVC_INTERNAL,
};

struct svc_error {
	enum svc_code code;
	char detail[512];
	char field[64];  /* for SVC_BAD_REQUEST: the offending field, or "" */
	char sqlstate[6];
	json_t *extra;   /* members merged into the problem object, or NULL */
};

void svc_error_clear(struct svc_error *err);
bool svc_fail(struct svc_error *err, enum svc_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool svc_field(struct svc_error *err, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
