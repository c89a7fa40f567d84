/* /v1/diagnostics: admin-only job kinds that exercise the job engine. */
#include "enqueue.h"
#include "handlers.h"

void h_diagnostics_sleep(struct http_request *req, struct http_response *resp)
{
	enqueue_respond(req, resp, "diagnostic.sleep", req->body);
}
