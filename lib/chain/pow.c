/* Proof of work: the leading-zero-bits test of DESIGN section 2 and the mining loop.
 * A try is exactly one SHA-256 compression of the header's second block over the
 * midstate of its first; on CPUs with the SHA extensions that compression runs inline
 * with the message words of the fixed part prepared once per call (elsewhere, or built
 * with -DCV_POW_PORTABLE, one OpenSSL SHA256_Transform call per try). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <string.h>

#include <openssl/sha.h>

#if (defined(__x86_64__) || defined(__i386__)) && !defined(CV_POW_PORTABLE)
#include <cpuid.h>
#include <immintrin.h>
#define POW_HAVE_SHA_NI 1
#endif

#include "pow.h"

/* Header bytes 0..63 (version, height, prev_hash, first 20 bytes of merkle_root) are
 * fixed for a given block template; bytes 64..95 hold the rest. */
#define MIDSTATE_LEN 64
#define NONCE_AT     88
#define STOP_EVERY   1024 /* tries between looks at *stop */

/* The second block's 16 message words: header bytes 64..95 (words 0-7, the nonce in
 * words 6 and 7), the padding bit, and the message length, 96 bytes in bits. */
#define TAIL_WORDS 16
#define PAD_WORD   8
#define LEN_BITS   (CV_HEADER_LEN * 8)

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

/* The proof-of-work test on the state words themselves (word 0 is the hash's first four
 * bytes, big-endian), so a try that fails costs no byte conversion. */
static bool words_pow_ok(const uint32_t st[8], uint32_t difficulty)
{
	uint32_t i;

	if (difficulty > 8 * CV_HASH_LEN)
		return false;
	for (i = 0; i < 8 && difficulty >= 32; i++, difficulty -= 32)
		if (st[i] != 0)
			return false;
	if (i == 8 || difficulty == 0)
		return true;
	return st[i] >> (32 - difficulty) == 0;
}

static void words_to_hash(const uint32_t st[8], uint8_t hash[CV_HASH_LEN])
{
	for (int i = 0; i < 8; i++)
		cv_put_u32(hash + 4 * i, st[i]);
}

/* Portable compression through OpenSSL (which picks SHA-NI or AVX code itself): the
 * context carries the midstate, one Transform call is one compression. */
static void compress_openssl(const uint32_t mid[8], const uint32_t w[TAIL_WORDS], uint32_t out[8])
{
	SHA256_CTX ctx;
	uint8_t block[64];

	memset(&ctx, 0, sizeof ctx);
	memcpy(ctx.h, mid, sizeof ctx.h);
	for (int i = 0; i < TAIL_WORDS; i++)
		cv_put_u32(block + 4 * i, w[i]);
	SHA256_Transform(&ctx, block);
	memcpy(out, ctx.h, sizeof ctx.h);
}

#ifdef POW_HAVE_SHA_NI
static bool cpu_has_sha_ni(void)
{
	unsigned a, b, c, d;

	/* Leaf 7 EBX bit 29: SHA extensions; leaf 1 ECX bit 19: SSE4.1 (blend). */
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 19)))
		return false;
	if (__get_cpuid_max(0, NULL) < 7)
		return false;
	__cpuid_count(7, 0, a, b, c, d);
	return (b & (1u << 29)) != 0;
}

static const uint32_t round_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define NI_TARGET __attribute__((target("sha,sse4.1")))
#define NI_INLINE __attribute__((target("sha,sse4.1"), always_inline)) static inline

/* The midstate in the register order the rounds instruction wants: ABEF and CDGH. */
NI_INLINE void ni_load_state(const uint32_t mid[8], __m128i *abef, __m128i *cdgh)
{
	__m128i t = _mm_loadu_si128((const __m128i *)&mid[0]); /* A B C D (low to high) */
	__m128i u = _mm_loadu_si128((const __m128i *)&mid[4]); /* E F G H */

	t = _mm_shuffle_epi32(t, 0xB1);      /* B A D C */
	u = _mm_shuffle_epi32(u, 0x1B);      /* H G F E */
	*abef = _mm_alignr_epi8(t, u, 8);    /* F E B A */
	*cdgh = _mm_blend_epi16(u, t, 0xF0); /* H G D C */
}

NI_INLINE void ni_store_state(__m128i abef, __m128i cdgh, uint32_t out[8])
{
	__m128i t = _mm_shuffle_epi32(abef, 0x1B); /* A B E F */

	cdgh = _mm_shuffle_epi32(cdgh, 0xB1);                                 /* G H C D */
	_mm_storeu_si128((__m128i *)&out[0], _mm_blend_epi16(t, cdgh, 0xF0)); /* A B C D */
	_mm_storeu_si128((__m128i *)&out[4], _mm_alignr_epi8(cdgh, t, 8));    /* E F G H */
}

/* One compression of message words m[0..3] (four words each) over (abef, cdgh), the
 * schedule extended with msg1/msg2 as the rounds go. Returns the new state (before
 * the final addition the caller does only when it needs the words). */
NI_INLINE void ni_compress(__m128i *abef, __m128i *cdgh, __m128i m0, __m128i m1, __m128i m2,
                           __m128i m3)
{
	__m128i m[4] = {m0, m1, m2, m3}, wk, a = *abef, c = *cdgh;

#pragma GCC unroll 16
	for (int r = 0; r < 16; r++) {
		__m128i cur = m[r & 3];

		if (r >= 4) {
			/* W[4r..4r+3] from the four groups before it. */
			__m128i s = _mm_sha256msg1_epu32(m[r & 3], m[(r + 1) & 3]);

			s = _mm_add_epi32(s, _mm_alignr_epi8(m[(r + 3) & 3], m[(r + 2) & 3], 4));
			cur = _mm_sha256msg2_epu32(s, m[(r + 3) & 3]);
			m[r & 3] = cur;
		}
		wk = _mm_add_epi32(cur, _mm_loadu_si128((const __m128i *)&round_k[4 * r]));
		c = _mm_sha256rnds2_epu32(c, a, wk);
		a = _mm_sha256rnds2_epu32(a, c, _mm_shuffle_epi32(wk, 0x0E));
	}
	*abef = a;
	*cdgh = c;
}

/* The word A of the final state: the hash's first four bytes, big-endian. */
NI_INLINE uint32_t ni_word_a(__m128i abef, __m128i abef0)
{
	return (uint32_t)_mm_extract_epi32(_mm_add_epi32(abef, abef0), 3);
}

/* The mining loop with the SHA extensions: the midstate and the three message groups
 * that hold no nonce stay in registers, and two nonces are hashed per turn (their
 * compressions are independent, so the core overlaps them). Only the first state word
 * is looked at until a try passes it; then the full test decides. Semantics as
 * cv_mine: tries counts the nonces examined in order, up to and including a find. */
NI_TARGET static bool mine_ni(const uint32_t mid[8], const uint32_t w[TAIL_WORDS],
                              uint64_t *nonce_io, uint64_t end, uint64_t stride,
                              const volatile int *stop, uint32_t difficulty, uint32_t st[8],
                              uint64_t *tries)
{
	__m128i abef0, cdgh0, m0, m2, m3;
	uint32_t mask = difficulty == 0    ? 0
	                : difficulty >= 32 ? 0xffffffffu
	                                   : ~(0xffffffffu >> difficulty);
	uint64_t nonce = *nonce_io, n_tries = 0;

	ni_load_state(mid, &abef0, &cdgh0);
	m0 = _mm_loadu_si128((const __m128i *)&w[0]);
	m2 = _mm_loadu_si128((const __m128i *)&w[8]);
	m3 = _mm_loadu_si128((const __m128i *)&w[12]);
	while (nonce < end) {
		uint64_t n2 = stride <= end - nonce - 1 ? nonce + stride : end;
		bool two = n2 < end;
		__m128i a1 = abef0, c1 = cdgh0, a2 = abef0, c2 = cdgh0;
		__m128i m1a = _mm_set_epi32((int)(uint32_t)nonce, (int)(uint32_t)(nonce >> 32),
		                            (int)w[5], (int)w[4]);
		__m128i m1b = _mm_set_epi32((int)(uint32_t)n2, (int)(uint32_t)(n2 >> 32), (int)w[5],
		                            (int)w[4]);

		if (stop != NULL && n_tries % STOP_EVERY < 2 && *stop)
			break;
		ni_compress(&a1, &c1, m0, m1a, m2, m3);
		ni_compress(&a2, &c2, m0, m1b, m2, m3);
		n_tries++;
		if ((ni_word_a(a1, abef0) & mask) == 0) {
			ni_store_state(_mm_add_epi32(a1, abef0), _mm_add_epi32(c1, cdgh0), st);
			if (words_pow_ok(st, difficulty)) {
				*nonce_io = nonce;
				*tries = n_tries;
				return true;
			}
		}
		if (!two)
			break;
		n_tries++;
		if ((ni_word_a(a2, abef0) & mask) == 0) {
			ni_store_state(_mm_add_epi32(a2, abef0), _mm_add_epi32(c2, cdgh0), st);
			if (words_pow_ok(st, difficulty)) {
				*nonce_io = n2;
				*tries = n_tries;
				return true;
			}
		}
		/* end <= 2^53, so nonce + stride cannot wrap unless stride is absurd. */
		if (stride > end - n2)
			break;
		nonce = n2 + stride;
	}
	*tries = n_tries;
	return false;
}
#endif

/* Decided once; a race on first use would only store the same answer twice. */
static bool use_sha_ni(void)
{
#ifdef POW_HAVE_SHA_NI
	static int has = -1;

	if (has < 0)
		has = cpu_has_sha_ni();
	return has == 1;
#else
	return false;
#endif
}

bool cv_mine(cv_header *h, uint64_t end, uint64_t stride, const volatile int *stop,
             uint8_t hash[CV_HASH_LEN], uint64_t *tries)
{
	uint8_t enc[CV_HEADER_LEN];
	uint32_t mid[8], w[TAIL_WORDS], st[8];
	SHA256_CTX base;
	uint64_t nonce, n_tries = 0;
	bool found = false;

	if (end > CV_NONCE_LIMIT)
		end = CV_NONCE_LIMIT;
	if (stride == 0)
		stride = 1;
	cv_header_encode(h, enc);
	SHA256_Init(&base);
	SHA256_Update(&base, enc, MIDSTATE_LEN);
	memcpy(mid, base.h, sizeof mid);
	memset(w, 0, sizeof w);
	for (int i = 0; i < 6; i++)
		w[i] = cv_get_u32(enc + MIDSTATE_LEN + 4 * i);
	w[PAD_WORD] = 0x80000000u;
	w[TAIL_WORDS - 1] = LEN_BITS;
#ifdef POW_HAVE_SHA_NI
	if (use_sha_ni()) {
		nonce = h->nonce;
		found = mine_ni(mid, w, &nonce, end, stride, stop, h->difficulty, st, &n_tries);
		if (found) {
			h->nonce = nonce;
			words_to_hash(st, hash);
		}
		goto out;
	}
#endif
	for (nonce = h->nonce; nonce < end; nonce += stride) {
		if (stop != NULL && n_tries % STOP_EVERY == 0 && *stop)
			break;
		w[6] = (uint32_t)(nonce >> 32);
		w[7] = (uint32_t)nonce;
		compress_openssl(mid, w, st);
		n_tries++;
		if (words_pow_ok(st, h->difficulty)) {
			h->nonce = nonce;
			words_to_hash(st, hash);
			found = true;
			break;
		}
		/* end <= 2^53, so nonce + stride cannot wrap unless stride is absurd. */
		if (stride > end - nonce)
			break;
	}
#ifdef POW_HAVE_SHA_NI
out:
#endif
	if (tries != NULL)
		*tries = n_tries;
	return found;
}
