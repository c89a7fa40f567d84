/*
 * schema: partd's control schema. The migrations in sql/control/ are
 * applied in order, in one transaction, under an advisory lock, and
 * recorded in partd.schema_version.
 */
#ifndef PARTD_SCHEMA_H
#define PARTD_SCHEMA_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "svc.h"

/* The version this binary's newest migration brings the schema to. */
int schema_expected_version(void);
/*
 * Applies every migration newer than the database's. On error, false is
 * returned, err says why (SVC_UNAVAILABLE when the database could not be
 * reached) and the transaction is rolled back: nothing is changed.
 */
bool schema_apply(PGconn *conn, int *applied, struct svc_error *err);
/* Reads partd.schema_version; -1 with err filled when it cannot. */
int schema_current_version(PGconn *conn, struct svc_error *err);

#endif
