/* The key ceremony's messages (DESIGN 6.2, carried by the service): a trustee's share
 * P_l(x_j) sealed to the recipient trustee's validator key, signed by its sender, and a
 * trustee's signed check of one share it received (confirmed, or a complaint). The
 * service stores and relays them but cannot read a share: only the recipient's private
 * key opens it. docs/SECRET.md gives the byte layouts and a test vector.
 *
 * Sealing: ephemeral e (fresh, [1, n)), E = e·G; Z = X coordinate of e·R (R the
 * recipient's key); key = HKDF-SHA256(ikm Z, no salt, info = CV_TAG_SEALED_SHARE ||
 * setup_hash || sender || recipient || E), 32 bytes; AES-256-GCM with a fresh 12-byte
 * nonce and no associated data over the 32-byte scalar. */
#ifndef CV_SEALED_H
#define CV_SEALED_H

#include <stdbool.h>
#include <stdint.h>
#include "bytes.h"
#include "crypto.h"
#include "err.h"
#include "secret.h"

#define CV_TAG_SEALED_SHARE "chainvote/sealed-share/1"   /* HKDF info */
#define CV_TAG_SHARE_POST   "chainvote/ceremony-share/1" /* the sender's signature */
#define CV_TAG_SHARE_CHECK  "chainvote/ceremony-check/1" /* the recipient's verdict */
#define CV_SEALED_NONCE_LEN 12
#define CV_SEALED_TAG_LEN   16

/* One sealed share from sender to recipient, both validator keys of the election. */
typedef struct cv_sealed_share {
	uint8_t setup_hash[CV_HASH_LEN];
	uint8_t sender[CV_KEY_LEN];
	uint8_t recipient[CV_KEY_LEN];
	uint8_t ephemeral[CV_POINT_LEN];
	uint8_t nonce[CV_SEALED_NONCE_LEN];
	uint8_t ciphertext[CV_SCALAR_LEN];
	uint8_t tag[CV_SEALED_TAG_LEN];
	uint8_t signature[CV_SIG_LEN]; /* sender's, over cv_sealed_message */
} cv_sealed_share;

/* The bytes the sender signs: CV_TAG_SHARE_POST || setup_hash || sender || recipient ||
 * ephemeral || nonce || ciphertext || tag (appended to b). */
cv_err cv_sealed_message(const cv_sealed_share *sh, cv_buf *b);

/* Seals value (a scalar < n) for recipient and signs it with sender's key. eph and nonce
 * (NULL: fresh from the CSPRNG) fix the randomness for test vectors. Fills *out.
 * CV_E_BAD_KEY for a recipient that is no point, CV_E_MALFORMED for value >= n. */
cv_err cv_sealed_seal(const uint8_t setup_hash[CV_HASH_LEN], const cv_privkey *sender,
                      const uint8_t recipient[CV_KEY_LEN], const uint8_t value[CV_SCALAR_LEN],
                      const uint8_t eph[CV_SCALAR_LEN], const uint8_t nonce[CV_SEALED_NONCE_LEN],
                      cv_sealed_share *out);

/* What anyone can check: the ephemeral key and both keys are points, and the sender's
 * signature verifies (CV_E_BAD_KEY, CV_E_BAD_SIGNATURE). Says nothing of the content. */
cv_err cv_sealed_verify(const cv_sealed_share *sh);

/* Opens a share addressed to `recipient` (whose public key must be sh->recipient:
 * CV_E_SEALED_OPEN otherwise): the ephemeral key is checked on the curve, the tag must
 * verify and the value be < n (CV_E_SEALED_OPEN). value is zeroed on failure. */
cv_err cv_sealed_open(const cv_sealed_share *sh, const cv_privkey *recipient,
                      uint8_t value[CV_SCALAR_LEN]);

/* A trustee's verdict on the share it received from sender: good (confirmed) or not (a
 * complaint). The signed bytes are CV_TAG_SHARE_CHECK || setup_hash || trustee || sender
 * || u8(good). */
typedef struct cv_share_check {
	uint8_t setup_hash[CV_HASH_LEN];
	uint8_t trustee[CV_KEY_LEN];
	uint8_t sender[CV_KEY_LEN];
	bool good;
	uint8_t signature[CV_SIG_LEN];
} cv_share_check;

cv_err cv_share_check_message(const cv_share_check *c, cv_buf *b);
cv_err cv_share_check_sign(cv_share_check *c, const cv_privkey *trustee);
/* CV_E_BAD_KEY, CV_E_BAD_SIGNATURE. */
cv_err cv_share_check_verify(const cv_share_check *c);

/* Whether value·G = Σ_k x^k·commitments[k] (the sender's commitments, x the recipient's
 * x_j): CV_OK, or CV_E_SHARE_MISMATCH. */
cv_err cv_share_matches(const uint8_t value[CV_SCALAR_LEN],
                        const uint8_t (*commitments)[CV_POINT_LEN], size_t n, uint64_t x);

#endif
