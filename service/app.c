#include "app.h"

#include <stdio.h>

#include "schema.h"

bool app_readiness(struct app *app, json_t **checks)
{
	struct svc_error err = {0};
	char why[512];
	bool ready = true;
	PGconn *conn;
	int version;

	*checks = json_object();
	conn = pool_borrow(app->pool, why, sizeof(why));
	if (!conn) {
		json_object_set_new(*checks, "database", json_string(why));
		json_object_set_new(*checks, "control_schema", json_string("not checked: no database"));
		ready = false;
	} else {
		json_object_set_new(*checks, "database", json_string("ok"));
		version = schema_current_version(conn, &err);
		if (version == schema_expected_version()) {
			json_object_set_new(*checks, "control_schema", json_string("ok"));
		} else {
			if (version >= 0)
				snprintf(why, sizeof(why), "version %d, expected %d", version,
					 schema_expected_version());
			else
				snprintf(why, sizeof(why), "%s", err.detail);
			json_object_set_new(*checks, "control_schema", json_string(why));
			ready = false;
		}
		pool_return(app->pool, conn);
	}
	if (workers_ready(atomic_load(&app->workers), why, sizeof(why))) {
		json_object_set_new(*checks, "workers", json_string("ok"));
	} else {
		json_object_set_new(*checks, "workers", json_string(why));
		ready = false;
	}
	svc_error_clear(&err);
	return ready;
}
