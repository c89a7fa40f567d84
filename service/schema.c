#include "schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "embed.h"
#include "log.h"

int schema_expected_version(void)
{
	size_t n = embed_control_migrations_count;

	return n ? embed_control_migrations[n - 1].version : 0;
}

int schema_current_version(PGconn *conn, struct svc_error *err)
{
	PGresult *res = db_exec(
		conn, "SELECT coalesce(max(version), 0) AS version FROM partd.schema_version", 0,
		NULL, err);
	int v = res ? (int)db_get_int64(res, 0, "version") : -1;

	PQclear(res);
	return v;
}

bool schema_apply(PGconn *conn, int *applied, struct svc_error *err)
{
	PGresult *res;
	int current, expected = schema_expected_version();
	size_t i;

	*applied = 0;
	if (!(res = db_exec(conn, "BEGIN", 0, NULL, err)))
		return false;
	PQclear(res);
	if (!(res = db_exec(conn, sql_schema_prepare, 0, NULL, err)))
		goto fail;
	PQclear(res);
	if ((current = schema_current_version(conn, err)) < 0)
		goto fail;
	if (current > expected) {
		svc_fail(err, SVC_INTERNAL,
			 "the database's partd schema is version %d, newer than this partd knows "
			 "(%d); run a newer partd",
			 current, expected);
		goto fail;
	}
	for (i = 0; i < embed_control_migrations_count; i++) {
		const struct embed_migration *m = &embed_control_migrations[i];
		char version[16];
		const char *params[2] = {version, m->name};

		if (m->version <= current)
			continue;
		snprintf(version, sizeof(version), "%d", m->version);
		if (!(res = db_exec(conn, m->sql, 0, NULL, err))) {
			char why[sizeof(err->detail)];
			memcpy(why, err->detail, sizeof(why));
			snprintf(err->detail, sizeof(err->detail), "control migration %s: %.400s",
				 m->name, why);
			goto fail;
		}
		PQclear(res);
		res = db_exec(conn,
			      "INSERT INTO partd.schema_version (version, name) VALUES ($1, $2)", 2,
			      params, err);
		if (!res)
			goto fail;
		PQclear(res);
		LOG_INFO(json_pack("{s:i, s:s}", "version", m->version, "name", m->name),
			 "applied control schema migration");
		(*applied)++;
	}
	if (!(res = db_exec(conn, "COMMIT", 0, NULL, err)))
		goto fail;
	PQclear(res);
	return true;
fail:
	PQclear(PQexec(conn, "ROLLBACK"));
	*applied = 0;
	return false;
}
