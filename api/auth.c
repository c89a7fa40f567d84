#include "auth.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../service/hash.h"

struct auth_entry {
	enum auth_scope scope;
	char name[65];
	unsigned char hash[HASH_SHA256_LEN];
};

struct auth_tokens {
	size_t n;
	struct auth_entry *entries;
};

static const char *const auth_scope_names[] = {
	[AUTH_NONE] = "none",
	[AUTH_READ] = "read",
	[AUTH_OPERATE] = "operate",
	[AUTH_ADMIN] = "admin",
};

const char *auth_scope_name(enum auth_scope scope)
{
	return auth_scope_names[scope];
}

static bool auth_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-") == n;
}

struct auth_tokens *auth_parse(const char *text, const char *source, char *err, size_t errlen)
{
	struct auth_tokens *t = calloc(1, sizeof(*t));
	char *copy = strdup(text), *line, *save = NULL;
	size_t cap = 0;
	int lineno = 0;

	if (!t || !copy) {
		snprintf(err, errlen, "%s: out of memory", source);
		goto fail;
	}
	/* strtok_r would merge empty lines and break the line numbers. */
	for (line = copy; line; line = save) {
		char scope[16], name[128], hex[80], extra[2];
		struct auth_entry *e;
		int i, n;

		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		lineno++;
		line[strcspn(line, "\r")] = '\0';
		while (isspace((unsigned char)*line))
			line++;
		if (*line == '\0' || *line == '#')
			continue;
		n = sscanf(line, "%15s %127s %79s %1s", scope, name, hex, extra);
		if (n != 3) {
			snprintf(err, errlen,
				 "%s:%d: expected '<scope> <name> <sha256-hex-of-token>', found %d "
				 "field(s)",
				 source, lineno, n == 4 ? 4 : n);
			goto fail;
		}
		for (i = AUTH_READ; i <= AUTH_ADMIN; i++)
			if (strcmp(scope, auth_scope_names[i]) == 0)
				break;
		if (i > AUTH_ADMIN) {
			snprintf(err, errlen, "%s:%d: scope '%s' is not read, operate or admin", source,
				 lineno, scope);
			goto fail;
		}
		if (!auth_name_valid(name)) {
			snprintf(err, errlen,
				 "%s:%d: name must be 1-64 letters, digits or . _ @ -", source, lineno);
			goto fail;
		}
		if (t->n == cap) {
			struct auth_entry *grown;
			cap = cap ? cap * 2 : 8;
			grown = realloc(t->entries, cap * sizeof(*grown));
			if (!grown) {
				snprintf(err, errlen, "%s: out of memory", source);
				goto fail;
			}
			t->entries = grown;
		}
		e = &t->entries[t->n];
		if (!hash_from_hex(hex, e->hash)) {
			snprintf(err, errlen,
				 "%s:%d: the third field must be the token's SHA-256 as 64 hex digits "
				 "(e.g. printf %%s TOKEN | sha256sum)",
				 source, lineno);
			goto fail;
		}
		e->scope = (enum auth_scope)i;
		snprintf(e->name, sizeof(e->name), "%.64s", name);
		t->n++;
	}
	free(copy);
	return t;
fail:
	free(copy);
	auth_free(t);
	return NULL;
}

struct auth_tokens *auth_load(const char *path, char *err, size_t errlen)
{
	struct auth_tokens *t;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (!path || !*path)
		return auth_parse("", "tokens", err, errlen);
	f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "PARTD_TOKENS_FILE: cannot read %s: %m", path);
		return NULL;
	}
	{
		FILE *mem = open_memstream(&text, &len);
		char buf[4096];
		size_t n;
		while (mem && (n = fread(buf, 1, sizeof(buf), f)) > 0)
			fwrite(buf, 1, n, mem);
		if (mem)
			fclose(mem);
	}
	if (ferror(f)) {
		snprintf(err, errlen, "PARTD_TOKENS_FILE: cannot read %s: %m", path);
		fclose(f);
		free(text);
		return NULL;
	}
	fclose(f);
	if (!text) {
		snprintf(err, errlen, "PARTD_TOKENS_FILE: out of memory reading %s", path);
		return NULL;
	}
	t = auth_parse(text, path, err, errlen);
	free(text);
	return t;
}

bool auth_lookup(const struct auth_tokens *tokens, const char *token, const char **name,
		 enum auth_scope *scope)
{
	unsigned char digest[HASH_SHA256_LEN];
	const struct auth_entry *found = NULL;
	size_t i;

	hash_sha256(token, strlen(token), digest);
	/* Look at every entry, match or not, so timing does not tell which. */
	for (i = 0; i < tokens->n; i++) {
		bool eq = hash_equal(digest, tokens->entries[i].hash, HASH_SHA256_LEN);
		if (eq && !found)
			found = &tokens->entries[i];
	}
	if (!found)
		return false;
	*name = found->name;
	*scope = found->scope;
	return true;
}

size_t auth_count(const struct auth_tokens *tokens)
{
	return tokens ? tokens->n : 0;
}

void auth_free(struct auth_tokens *tokens)
{
	if (!tokens)
		return;
	free(tokens->entries);
	free(tokens);
}
