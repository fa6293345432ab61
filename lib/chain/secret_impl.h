/* Private to the secret ballots' files (lib/chain/secret*.c): the P-256 group of
 * secret.c as the provers and verifiers of secret_trustee.c, secret_ballot.c and
 * secret_tally.c use it. Nothing outside lib/chain/secret*.c includes this file. */
#ifndef CV_SECRET_IMPL_H
#define CV_SECRET_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/bn.h>
#include <openssl/ec.h>

#include "secret.h"

/* The group's order n, built once (cv_ec_open), then only read. */
extern BIGNUM *cv_ec_order;

/* A working context: the shared group and a BN_CTX of this call's own. */
typedef struct ec {
	const EC_GROUP *g;
	BN_CTX *bn;
} ec;

/* Opens a working context on the shared group (CV_E_INTERNAL, CV_E_NOMEM); pair with
 * cv_ec_close. */
cv_err cv_ec_open(ec *e);
void cv_ec_close(ec *e);
/* A received point: exactly 04||X||Y on the curve (cv_ec_pt_load_agg: CV_POINT_O reads
 * as the identity). cv_ec_pt_store encodes p, and answers false for O (stored as
 * CV_POINT_O). */
bool cv_ec_pt_load(const ec *e, const uint8_t p[CV_POINT_LEN], EC_POINT *out);
bool cv_ec_pt_load_agg(const ec *e, const uint8_t p[CV_POINT_LEN], EC_POINT *out);
bool cv_ec_pt_store(const ec *e, const EC_POINT *p, uint8_t out[CV_POINT_LEN]);
/* A scalar as a BIGNUM in the BN_CTX frame (BN_CTX_start is the caller's); secret sets
 * BN_FLG_CONSTTIME. */
BIGNUM *cv_ec_bn_get(const ec *e, const uint8_t s[CV_SCALAR_LEN], bool secret);
/* out = a·b mod n, and out = w - c·x mod n (x secret), through Montgomery products. */
bool cv_ec_sc_mul(const ec *e, BIGNUM *out, const BIGNUM *a, const BIGNUM *b);
bool cv_ec_sc_response(const ec *e, BIGNUM *out, const BIGNUM *w, const BIGNUM *c, const BIGNUM *x);
void cv_ec_bn_store(const BIGNUM *x, uint8_t out[CV_SCALAR_LEN]);
/* A uniform secret scalar in [1, n) from the CSPRNG. */
cv_err cv_ec_random_scalar(uint8_t out[CV_SCALAR_LEN]);
/* r = s·G + t·P and r = s·P + t·Q, for public scalars only (not constant time). */
bool cv_ec_mul2(const ec *e, EC_POINT *r, const BIGNUM *s, const EC_POINT *p, const BIGNUM *t);
bool cv_ec_mul_pq(const ec *e, EC_POINT *r, const BIGNUM *s, const EC_POINT *p, const BIGNUM *t,
                  const EC_POINT *q);

#endif
