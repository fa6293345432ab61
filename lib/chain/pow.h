/* Proof of work: the leading-zero-bits test and the mining core. The first 64 header
 * bytes do not depend on timestamp or nonce, so they are absorbed once (midstate) and
 * each try costs one SHA-256 compression. */
#ifndef CV_POW_H
#define CV_POW_H

#include <stdbool.h>
#include <stdint.h>
#include "chain.h"

unsigned cv_leading_zero_bits(const uint8_t hash[CV_HASH_LEN]);
bool cv_pow_ok(const uint8_t hash[CV_HASH_LEN], uint32_t difficulty);

/* Tries nonces from h->nonce upwards while nonce < end (end <= CV_NONCE_LIMIT), in
 * steps of `stride` (so N threads may start at 0..N-1 with stride N). Stops early when
 * *stop becomes non-zero (may be NULL). On success sets h->nonce, writes hash, returns
 * true. *tries (may be NULL) receives the number of hashes computed. */
bool cv_mine(cv_header *h, uint64_t end, uint64_t stride, const volatile int *stop,
             uint8_t hash[CV_HASH_LEN], uint64_t *tries);

#endif
