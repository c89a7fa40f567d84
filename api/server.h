/* server: partd's HTTP face on libmicrohttpd. */
#ifndef PARTD_SERVER_H
#define PARTD_SERVER_H

#include <stddef.h>

#include "../service/app.h"
#include "auth.h"

struct server;

/*
 * Starts serving on app->cfg->listen. tokens stays the caller's and must
 * outlive the server. On error, NULL is returned and err says why.
 */
struct server *server_start(struct app *app, const struct auth_tokens *tokens, char *err,
			    size_t errlen);
/* Stops accepting, waits for requests in flight, frees. NULL is fine. */
void server_stop(struct server *srv);

#endif
