/* Proof of work: the leading-zero-bits test of DESIGN section 2 and the mining loop.
 * The loop uses OpenSSL's low-level SHA-256 context (deprecated in 3.0 but the only way
 * to copy a midstate cheaply), so that each nonce costs one compression. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <string.h>

#include <openssl/sha.h>

#include "pow.h"

/* Header bytes 0..63 (version, height, prev_hash, first 20 bytes of merkle_root) are
 * fixed for a given block template; bytes 64..95 hold the rest. */
#define MIDSTATE_LEN 64
#define NONCE_AT     88
#define STOP_EVERY   1024 /* tries between looks at *stop */

unsigned cv_leading_zero_bits(const uint8_t hash[CV_HASH_LEN])
{
	unsigned bits = 0;
	size_t i;
	uint8_t b;

	for (i = 0; i < CV_HASH_LEN; i++) {
		if (hash[i] != 0) {
			for (b = hash[i]; !(b & 0x80); b <<= 1)
				bits++;
			return bits;
		}
		bits += 8;
	}
	return bits;
}

bool cv_pow_ok(const uint8_t hash[CV_HASH_LEN], uint32_t difficulty)
{
	return cv_leading_zero_bits(hash) >= difficulty;
}

bool cv_mine(cv_header *h, uint64_t end, uint64_t stride, const volatile int *stop,
             uint8_t hash[CV_HASH_LEN], uint64_t *tries)
{
	uint8_t enc[CV_HEADER_LEN], out[CV_HASH_LEN];
	SHA256_CTX base, ctx;
	uint64_t nonce, n_tries = 0;
	bool found = false;

	if (end > CV_NONCE_LIMIT)
		end = CV_NONCE_LIMIT;
	if (stride == 0)
		stride = 1;
	cv_header_encode(h, enc);
	SHA256_Init(&base);
	SHA256_Update(&base, enc, MIDSTATE_LEN);
	for (nonce = h->nonce; nonce < end; nonce += stride) {
		if (stop != NULL && n_tries % STOP_EVERY == 0 && *stop)
			break;
		cv_put_u64(enc + NONCE_AT, nonce);
		ctx = base;
		SHA256_Update(&ctx, enc + MIDSTATE_LEN, CV_HEADER_LEN - MIDSTATE_LEN);
		SHA256_Final(out, &ctx);
		n_tries++;
		if (cv_pow_ok(out, h->difficulty)) {
			h->nonce = nonce;
			memcpy(hash, out, CV_HASH_LEN);
			found = true;
			break;
		}
		/* end <= 2^53, so nonce + stride cannot wrap unless stride is absurd. */
		if (stride > end - nonce)
			break;
	}
	if (tries != NULL)
		*tries = n_tries;
	return found;
}
