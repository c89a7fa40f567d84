#include "hash.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

void hash_sha256(const void *data, size_t len, unsigned char out[HASH_SHA256_LEN])
{
	unsigned int n = HASH_SHA256_LEN;

	EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

void hash_sha256_hex(const void *data, size_t len, char out[2 * HASH_SHA256_LEN + 1])
{
	unsigned char digest[HASH_SHA256_LEN];
	int i;

	hash_sha256(data, len, digest);
	for (i = 0; i < HASH_SHA256_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

static int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool hash_from_hex(const char *s, unsigned char out[HASH_SHA256_LEN])
{
	unsigned char tmp[HASH_SHA256_LEN];
	int i;

	if (strlen(s) != 2 * HASH_SHA256_LEN)
		return false;
	for (i = 0; i < HASH_SHA256_LEN; i++) {
		int hi = hex_value((unsigned char)s[2 * i]), lo = hex_value((unsigned char)s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		tmp[i] = (unsigned char)(hi << 4 | lo);
	}
	memcpy(out, tmp, sizeof(tmp));
	return true;
}

bool hash_equal(const unsigned char *a, const unsigned char *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}
