/* SHA-256 and ECDSA P-256 through OpenSSL 3 EVP. Public keys are 65-byte uncompressed
 * points, signatures are 64-byte r||s (IEEE P1363), as DESIGN section 2 says. */
#ifndef CV_CRYPTO_H
#define CV_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"

#define CV_HASH_LEN   32
#define CV_KEY_LEN    65
#define CV_SIG_LEN    64
#define CV_SCALAR_LEN 32

void cv_sha256(const void *data, size_t len, uint8_t out[CV_HASH_LEN]);
/* SHA-256 of a (alen bytes) followed by b (blen bytes), without joining them. */
void cv_sha256_2(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[CV_HASH_LEN]);

/* CV_OK when key is 04||X||Y with the point on P-256 (not infinity); else CV_E_BAD_KEY. */
cv_err cv_pubkey_check(const uint8_t key[CV_KEY_LEN]);

/* Verifies sig (r||s) over msg with ECDSA-SHA256. CV_OK, CV_E_BAD_KEY, or
 * CV_E_BAD_SIGNATURE (also for r or s zero or >= the group order). Thread-safe. */
cv_err cv_verify(const uint8_t key[CV_KEY_LEN], const void *msg, size_t len,
                 const uint8_t sig[CV_SIG_LEN]);

/* A private key. Opaque; cv_privkey_free(NULL) is a no-op. */
typedef struct cv_privkey cv_privkey;

cv_err cv_privkey_generate(cv_privkey **out);
/* From a 32-byte big-endian scalar d (1 <= d < n); CV_E_BAD_KEY otherwise. */
cv_err cv_privkey_from_scalar(const uint8_t d[CV_SCALAR_LEN], cv_privkey **out);
void cv_privkey_public(const cv_privkey *k, uint8_t key[CV_KEY_LEN]);
void cv_privkey_scalar(const cv_privkey *k, uint8_t d[CV_SCALAR_LEN]);
/* Signs msg (ECDSA-SHA256, random k) and writes r||s. */
cv_err cv_sign(const cv_privkey *k, const void *msg, size_t len, uint8_t sig[CV_SIG_LEN]);
void cv_privkey_free(cv_privkey *k);

/* Conversions between r||s and DER, exposed for tests and for the CLI.
 * cv_sig_to_der writes at most 72 bytes into der and sets *der_len. */
cv_err cv_sig_to_der(const uint8_t sig[CV_SIG_LEN], uint8_t der[72], size_t *der_len);
cv_err cv_sig_from_der(const uint8_t *der, size_t der_len, uint8_t sig[CV_SIG_LEN]);

/* Key files: the JSON the browser and `chainvote keygen` write:
 *   {"format":"chainvote-key/1","public_key":"04…hex",
 *    "private_key":{"kty":"EC","crv":"P-256","x":b64url,"y":b64url,"d":b64url}}
 * cv_keyfile_format returns a malloc'd NUL-terminated string (caller frees).
 * cv_keyfile_parse accepts that JSON (strictly; public_key must match d) and returns
 * the key; CV_E_MALFORMED or CV_E_BAD_KEY otherwise. */
cv_err cv_keyfile_format(const cv_privkey *k, char **out);
cv_err cv_keyfile_parse(const char *text, size_t len, cv_privkey **out);

/* Random bytes from the OS generator. */
cv_err cv_random(void *out, size_t n);

#endif
