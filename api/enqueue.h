/* enqueue: the shared answer of every route that starts a job. */
#ifndef PARTD_ENQUEUE_H
#define PARTD_ENQUEUE_H

#include "http.h"

/*
 * Reads the Idempotency-Key header into *key (NULL when absent). Answers
 * 400 and returns false when it is not 1-200 visible ASCII characters.
 */
bool enqueue_idempotency_key(const struct http_request *req, struct http_response *resp,
			     const char **key);
/* Answers 202 with job (taken), its Location and Idempotency-Replayed. */
void enqueue_accepted(struct http_response *resp, json_t *job, bool replayed);
/*
 * The answer of a route whose service enqueued a job: 202 with job (taken)
 * when there is one, else the problem err describes. Clears err.
 */
void enqueue_answer(struct http_response *resp, json_t *job, bool replayed, struct svc_error *err);
/* Enqueues a job of kind with params and answers (202 or the problem). */
void enqueue_respond(struct http_request *req, struct http_response *resp, const char *kind,
		     const json_t *params);

#endif
