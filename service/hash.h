/* hash: SHA-256 (OpenSSL's libcrypto, which libpq already links). */
#ifndef PARTD_HASH_H
#define PARTD_HASH_H

#include <stdbool.h>
#include <stddef.h>

#define HASH_SHA256_LEN 32

void hash_sha256(const void *data, size_t len, unsigned char out[HASH_SHA256_LEN]);
/* Writes 64 lowercase hex digits and a NUL into out. */
void hash_sha256_hex(const void *data, size_t len, char out[2 * HASH_SHA256_LEN + 1]);
/* Parses 64 hex digits; false (out untouched) when s is anything else. */
bool hash_from_hex(const char *s, unsigned char out[HASH_SHA256_LEN]);
/* Compares in time that depends only on len, not on where they differ. */
bool hash_equal(const unsigned char *a, const unsigned char *b, size_t len);

#endif
