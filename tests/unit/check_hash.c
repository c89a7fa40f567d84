/* hash: SHA-256, hex, constant-time compare. */
#include <string.h>

#include "../../service/hash.h"
#include "suites.h"

#define SHA_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static const unsigned char sha_abc_bytes[HASH_SHA256_LEN] = {
	0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
	0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
	0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
};

START_TEST(test_sha256_vectors)
{
	unsigned char d[HASH_SHA256_LEN];
	char hex[2 * HASH_SHA256_LEN + 1];

	hash_sha256_hex("", 0, hex);
	ck_assert_str_eq(hex, SHA_EMPTY);
	hash_sha256_hex("abc", 3, hex);
	ck_assert_str_eq(hex, SHA_ABC);
	hash_sha256("abc", 3, d);
	ck_assert_mem_eq(d, sha_abc_bytes, HASH_SHA256_LEN);
	/* The length counts, not the NUL. */
	hash_sha256_hex("abcd", 3, hex);
	ck_assert_str_eq(hex, SHA_ABC);
	/* FIPS 180-2 two-block vector. */
	hash_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	ck_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}
END_TEST

START_TEST(test_hex_round_trip)
{
	unsigned char d[HASH_SHA256_LEN], back[HASH_SHA256_LEN];
	char hex[2 * HASH_SHA256_LEN + 1];

	ck_assert(hash_from_hex(SHA_ABC, d));
	ck_assert_mem_eq(d, sha_abc_bytes, HASH_SHA256_LEN);

	hash_sha256("partd", 5, d);
	hash_sha256_hex("partd", 5, hex);
	ck_assert_int_eq(strlen(hex), 64);
	ck_assert(hash_from_hex(hex, back));
	ck_assert_mem_eq(d, back, HASH_SHA256_LEN);
}
END_TEST

START_TEST(test_hex_accepts_upper_case)
{
	unsigned char d[HASH_SHA256_LEN];

	ck_assert(hash_from_hex("BA7816BF8F01CFEA414140DE5DAE2223"
				"B00361A396177A9CB410FF61F20015AD",
				d));
	ck_assert_mem_eq(d, sha_abc_bytes, HASH_SHA256_LEN);
}
END_TEST

static void expect_hex_refused(const char *s)
{
	unsigned char out[HASH_SHA256_LEN], before[HASH_SHA256_LEN];

	memset(out, 0x5a, sizeof(out));
	memcpy(before, out, sizeof(out));
	ck_assert_msg(!hash_from_hex(s, out), "'%s' accepted", s);
	ck_assert_msg(memcmp(out, before, sizeof(out)) == 0, "'%s' changed out", s);
}

START_TEST(test_hex_refuses_bad_input)
{
	expect_hex_refused("");
	/* 63 and 65 digits */
	expect_hex_refused("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a");
	expect_hex_refused(SHA_ABC "0");
	/* a bad digit at the very end, after 31 good bytes were decoded */
	expect_hex_refused("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ag");
	expect_hex_refused("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015 d");
	expect_hex_refused("0x7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	expect_hex_refused("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015"
			   "\xc3\xa9");
}
END_TEST

START_TEST(test_equal)
{
	unsigned char a[HASH_SHA256_LEN], b[HASH_SHA256_LEN];

	hash_sha256("x", 1, a);
	memcpy(b, a, sizeof(a));
	ck_assert(hash_equal(a, b, HASH_SHA256_LEN));
	b[0] ^= 1;
	ck_assert(!hash_equal(a, b, HASH_SHA256_LEN));
	b[0] ^= 1;
	b[HASH_SHA256_LEN - 1] ^= 0x80;
	ck_assert(!hash_equal(a, b, HASH_SHA256_LEN));
	/* Only len bytes are compared. */
	ck_assert(hash_equal(a, b, HASH_SHA256_LEN - 1));
	ck_assert(hash_equal(a, b, 0));
}
END_TEST

Suite *hash_suite(void)
{
	Suite *s = suite_create("hash");
	TCase *tc = tcase_create("sha256");

	tcase_add_test(tc, test_sha256_vectors);
	tcase_add_test(tc, test_hex_round_trip);
	tcase_add_test(tc, test_hex_accepts_upper_case);
	tcase_add_test(tc, test_hex_refuses_bad_input);
	tcase_add_test(tc, test_equal);
	suite_add_tcase(s, tc);
	return s;
}
