/* The handlers the route table points at, one file per resource. */
#ifndef PARTD_HANDLERS_H
#define PARTD_HANDLERS_H

#include "http.h"

void h_healthz(struct http_request *req, struct http_response *resp);
void h_readyz(struct http_request *req, struct http_response *resp);
void h_metrics(struct http_request *req, struct http_response *resp);
void h_openapi(struct http_request *req, struct http_response *resp);

void h_jobs_list(struct http_request *req, struct http_response *resp);
void h_jobs_get(struct http_request *req, struct http_response *resp);
void h_jobs_events(struct http_request *req, struct http_response *resp);
void h_jobs_cancel(struct http_request *req, struct http_response *resp);

void h_tables_list(struct http_request *req, struct http_response *resp);
void h_tables_get(struct http_request *req, struct http_response *resp);
void h_tables_put(struct http_request *req, struct http_response *resp);
void h_tables_delete(struct http_request *req, struct http_response *resp);
void h_partitions_list(struct http_request *req, struct http_response *resp);
void h_partitions_create(struct http_request *req, struct http_response *resp);
void h_tables_pruning(struct http_request *req, struct http_response *resp);

void h_migration_start(struct http_request *req, struct http_response *resp);
void h_migration_get(struct http_request *req, struct http_response *resp);
void h_migration_tune(struct http_request *req, struct http_response *resp);
void h_migration_rollback(struct http_request *req, struct http_response *resp);
void h_migration_finalize(struct http_request *req, struct http_response *resp);

void h_retention_run(struct http_request *req, struct http_response *resp);
void h_archives_list(struct http_request *req, struct http_response *resp);
void h_archive_restore(struct http_request *req, struct http_response *resp);

void h_diagnostics_sleep(struct http_request *req, struct http_response *resp);

#endif
