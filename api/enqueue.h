/* enqueue: the shared answer of every route that starts a job. */
#ifndef PARTD_ENQUEUE_H
#define PARTD_ENQUEUE_H

#include "http.h"

/*
 * Enqueues a job of kind with params, honouring an Idempotency-Key
 * header, and answers 202 with the job and its Location (or the problem).
 */
void enqueue_respond(struct http_request *req, struct http_response *resp, const char *kind,
		     const json_t *params);

#endif
