/*
 * auth: bearer tokens. PARTD_TOKENS_FILE holds one token per line,
 * "<scope> <name> <sha256-hex-of-token>"; blank lines and lines starting
 * with '#' are skipped. Only hashes are kept; a presented token is hashed
 * and compared with every entry in constant time, and never logged.
 */
#ifndef PARTD_AUTH_H
#define PARTD_AUTH_H

#include <stdbool.h>
#include <stddef.h>

enum auth_scope { AUTH_NONE, AUTH_READ, AUTH_OPERATE, AUTH_ADMIN };

struct auth_tokens;

/*
 * Loads path ("" gives an empty set). On error, NULL is returned and err
 * names the line and what is wrong with it.
 */
struct auth_tokens *auth_load(const char *path, char *err, size_t errlen);
/* Parses the file's text; the same contract as auth_load. */
struct auth_tokens *auth_parse(const char *text, const char *source, char *err, size_t errlen);
/* On a match sets *name (owned by tokens) and *scope and returns true. */
bool auth_lookup(const struct auth_tokens *tokens, const char *token, const char **name,
		 enum auth_scope *scope);
size_t auth_count(const struct auth_tokens *tokens);
const char *auth_scope_name(enum auth_scope scope);
void auth_free(struct auth_tokens *tokens);

#endif
