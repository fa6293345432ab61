/* Secret ballots (DESIGN section 6): the P-256 group arithmetic behind them (points,
 * scalars, Hs), the genesis's secrecy and trustee entries, ballots with their 0/1 and sum
 * proofs, decryption shares with their Chaum-Pedersen proofs, and the tally. Making and
 * verifying live side by side so that a change to an encoding changes both.
 *
 * Byte forms only cross this interface: a point is 65 bytes 04||X||Y, a scalar 32 bytes
 * big-endian. The identity O has no wire encoding; where an aggregate may be O (a sum of
 * ciphertexts) it is written as 65 zero bytes (CV_POINT_O below), which cv_point_check
 * refuses, so it can never pass for a received point. */
#ifndef CV_SECRET_H
#define CV_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bytes.h"
#include "crypto.h"
#include "err.h"

#define CV_POINT_LEN  65
#define CV_MAX_K      1024 /* candidates of a ballot or share as parsed; the rules ask k = n */
#define CV_MAX_QUORUM 255

#define CV_TAG_SECRECY       "chainvote/secrecy/1"
#define CV_TAG_TRUSTEE       "chainvote/trustee/1"
#define CV_TAG_TRUSTEE_PROOF "chainvote/trustee-proof/1"
#define CV_TAG_BALLOT        "chainvote/ballot/1"
#define CV_TAG_BALLOT_PROOF  "chainvote/ballot-proof/1"
#define CV_TAG_BALLOT_SUM    "chainvote/ballot-sum/1"
#define CV_TAG_DECRYPTION    "chainvote/decryption/1"
#define CV_TAG_DECRYPT_PROOF "chainvote/decryption-proof/1"

/* 65 zero bytes: the identity where an aggregate may be it; never valid on the wire. */
extern const uint8_t CV_POINT_O[CV_POINT_LEN];

/* One trustee entry. n_coeffs is the entry's u8(quorum): its number of commitments. */
typedef struct cv_trustee {
	uint8_t setup_hash[CV_HASH_LEN];
	uint8_t validator_key[CV_KEY_LEN];
	size_t n_coeffs;
	uint8_t (*commitments)[CV_POINT_LEN];
	uint8_t (*proof_c)[CV_SCALAR_LEN];
	uint8_t (*proof_v)[CV_SCALAR_LEN];
	uint8_t signature[CV_SIG_LEN];
} cv_trustee;

/* The genesis's secrecy: its presence makes an election secret. */
typedef struct cv_secrecy {
	uint8_t quorum;
	size_t n_trustees;
	cv_trustee *trustees;
} cv_secrecy;

typedef struct cv_ciphertext {
	uint8_t a[CV_POINT_LEN], b[CV_POINT_LEN];
} cv_ciphertext;

typedef struct cv_ballot_proof {
	uint8_t c0[CV_SCALAR_LEN], v0[CV_SCALAR_LEN], c1[CV_SCALAR_LEN], v1[CV_SCALAR_LEN];
} cv_ballot_proof;

/* An item of a secret block's "votes". is_vote: the item is an open election's vote
 * (section 2) where a ballot belongs; it is kept (in `vote`) only so that the block's
 * merkle root can be computed and the item refused as wrong_mode. */
typedef struct cv_ballot {
	uint8_t election_id[CV_HASH_LEN];
	uint8_t voter_key[CV_KEY_LEN];
	uint64_t timestamp;
	size_t k;
	cv_ciphertext *cts;
	cv_ballot_proof *proofs;
	uint8_t sum_c[CV_SCALAR_LEN], sum_v[CV_SCALAR_LEN];
	uint8_t signature[CV_SIG_LEN];
	bool is_vote;
	uint32_t vote_candidate; /* is_vote: the vote's candidate_id */
} cv_ballot;

typedef struct cv_share {
	uint8_t d[CV_POINT_LEN], c[CV_SCALAR_LEN], v[CV_SCALAR_LEN];
} cv_share;

typedef struct cv_decryption {
	uint8_t election_id[CV_HASH_LEN];
	uint8_t validator_key[CV_KEY_LEN];
	uint64_t through_height;
	size_t k;
	cv_share *shares;
	uint8_t signature[CV_SIG_LEN];
} cv_decryption;

/* Destructors: free what the struct owns and zero it; NULL is fine. */
void cv_trustee_free(cv_trustee *t);
void cv_secrecy_free(cv_secrecy *s);
void cv_ballot_free(cv_ballot *b);
void cv_decryption_free(cv_decryption *d);
/* Allocate the arrays for n_coeffs / k items (zeroed). CV_E_NOMEM, CV_E_TOO_LARGE. */
cv_err cv_trustee_alloc(cv_trustee *t, size_t n_coeffs);
cv_err cv_ballot_alloc(cv_ballot *b, size_t k);
cv_err cv_decryption_alloc(cv_decryption *d, size_t k);

/* ---- group elements ---- */

/* True when s < n (big-endian). Zero is a scalar. */
bool cv_scalar_ok(const uint8_t s[CV_SCALAR_LEN]);
/* CV_OK when p is 04||X||Y with X, Y < p on P-256 (so never O); else CV_E_BAD_KEY. */
cv_err cv_point_check(const uint8_t p[CV_POINT_LEN]);
/* Hs(tag, parts) = int(H(tag || parts)) mod n; parts already concatenated. */
void cv_hs(const char *tag, const void *parts, size_t len, uint8_t out[CV_SCALAR_LEN]);
/* out = s·G for a secret scalar s (constant time). CV_E_BAD_KEY when s·G = O or s >= n. */
cv_err cv_point_base_mul(const uint8_t s[CV_SCALAR_LEN], uint8_t out[CV_POINT_LEN]);
/* out = Σ points (each a point or CV_POINT_O); out may be CV_POINT_O. */
cv_err cv_point_sum(const uint8_t (*points)[CV_POINT_LEN], size_t n, uint8_t out[CV_POINT_LEN]);

/* ---- the genesis ---- */

/* "chainvote/secrecy/1" || u8(quorum) || u8(n_trustees); appends to b. */
cv_err cv_secrecy_entry(const cv_secrecy *s, cv_buf *b);
/* The trustee entry; with_signature false: the bytes its signature covers. */
cv_err cv_trustee_entry(const cv_trustee *t, bool with_signature, cv_buf *b);
/* A trustee entry for setup_hash signed with the validator's key: coeffs a_0..a_{q-1};
 * nonces u_k (NULL: fresh from the CSPRNG). Fills *t (cv_trustee_free). */
cv_err cv_trustee_make(const uint8_t setup_hash[CV_HASH_LEN], const cv_privkey *validator,
                       const uint8_t (*coeffs)[CV_SCALAR_LEN], size_t quorum,
                       const uint8_t (*nonces)[CV_SCALAR_LEN], cv_trustee *t);
/* The entry's commitments and proofs (CV_E_TRUSTEE_PROOF) and signature
 * (CV_E_TRUSTEE_SIGNATURE), against its own setup_hash; the caller compares that. */
cv_err cv_trustee_verify(const cv_trustee *t);
/* K = Σ_j C_{j,0}; CV_E_SECRECY_PARAMS when it is O or a commitment is no point. */
cv_err cv_election_key(const cv_secrecy *s, uint8_t K[CV_POINT_LEN]);
/* K_j for x_j = x (1-based) = Σ_l Σ_k x^k·C_{l,k}. */
cv_err cv_trustee_key(const cv_secrecy *s, uint64_t x, uint8_t K_j[CV_POINT_LEN]);
/* P(x) = Σ_k a_k·x^k mod n, for the ceremony and the tests (constant time in the a_k). */
cv_err cv_poly_eval(const uint8_t (*coeffs)[CV_SCALAR_LEN], size_t n, uint64_t x,
                    uint8_t out[CV_SCALAR_LEN]);

/* ---- ballots ---- */

/* The ballot's payload (appended to b), txid and leaf (payload || signature). For an
 * is_vote item these are the vote's. */
cv_err cv_ballot_payload(const cv_ballot *bl, cv_buf *b);
cv_err cv_ballot_txid(const cv_ballot *bl, uint8_t txid[CV_HASH_LEN]);
cv_err cv_ballot_leaf(const cv_ballot *bl, cv_buf *b);
/* The inverse of cv_ballot_leaf for a ballot (not a vote) leaf, exactly len bytes:
 * fills *bl (cv_ballot_free). CV_E_MALFORMED when it does not parse, CV_E_NOMEM. Only
 * the encoding is checked; the rules are cv_ballot_verify's. */
cv_err cv_ballot_from_leaf(const uint8_t *leaf, size_t len, cv_ballot *bl);

/* The randomness of one ballot, given so that tests reproduce a ballot byte for byte:
 * per position r, w, the simulated branch's c and v; then the sum proof's w. */
typedef struct cv_ballot_rand {
	const uint8_t (*r)[CV_SCALAR_LEN];
	const uint8_t (*w)[CV_SCALAR_LEN];
	const uint8_t (*sim_c)[CV_SCALAR_LEN];
	const uint8_t (*sim_v)[CV_SCALAR_LEN];
	const uint8_t *sum_w;
} cv_ballot_rand;

/* Encrypts a choice of position `choice` (< k) under K and proves it; bl's election_id,
 * voter_key and timestamp are set by the caller, the rest is filled here (k, cts,
 * proofs, sum proof; not the signature). rnd NULL: fresh randomness. */
cv_err cv_ballot_make(cv_ballot *bl, const uint8_t K[CV_POINT_LEN], size_t k, size_t choice,
                      const cv_ballot_rand *rnd);
cv_err cv_ballot_sign(cv_ballot *bl, const cv_privkey *voter);
/* Every check of a ballot's content bar the roll and time rules: k = n_candidates
 * (CV_E_BALLOT_COUNT), points (CV_E_BALLOT_POINT), scalars (CV_E_BALLOT_SCALAR), 0/1
 * proofs (CV_E_BALLOT_PROOF), sum proof (CV_E_BALLOT_SUM_PROOF), signature
 * (CV_E_BAD_SIGNATURE / CV_E_BAD_KEY). *pos (may be NULL): the position at fault or
 * SIZE_MAX. Thread-safe. */
cv_err cv_ballot_verify(const cv_ballot *bl, const uint8_t K[CV_POINT_LEN], size_t n_candidates,
                        size_t *pos);

/* cv_ballot_verify without the signature: a ballot that is never signed (one spoiled by
 * a Benaloh challenge) is checked with it. */
cv_err cv_ballot_verify_proofs(const cv_ballot *bl, const uint8_t K[CV_POINT_LEN],
                               size_t n_candidates, size_t *pos);

/* A ballot's randomness as a challenge reveals it (DESIGN 6.2): per position r_i and m_i. */
typedef struct cv_ballot_opening {
	const uint8_t (*r)[CV_SCALAR_LEN];
	const uint8_t *m;
} cv_ballot_opening;

/* The Benaloh check: every A_i = r_i·G and B_i = m_i·G + r_i·K, each m_i 0 or 1 and
 * exactly one of them 1; *choice is then that position (else SIZE_MAX). Errors:
 * CV_E_BALLOT_SCALAR (an r_i not in [1, n)), CV_E_MALFORMED (an m_i not 0 or 1, or not
 * exactly one 1), CV_E_BALLOT_PROOF (a ciphertext is not that encryption), CV_E_BAD_KEY
 * (K); *pos (may be NULL) the position at fault or SIZE_MAX. The proofs are not checked
 * here: cv_ballot_verify_proofs does that. opening holds bl->k positions. */
cv_err cv_ballot_open(const cv_ballot *bl, const uint8_t K[CV_POINT_LEN],
                      const cv_ballot_opening *opening, size_t *choice, size_t *pos);

/* ---- decryption shares and the tally ---- */

cv_err cv_decryption_payload(const cv_decryption *d, cv_buf *b);
cv_err cv_decryption_txid(const cv_decryption *d, uint8_t txid[CV_HASH_LEN]);
cv_err cv_decryption_leaf(const cv_decryption *d, cv_buf *b);
/* The inverse of cv_decryption_leaf, as cv_ballot_from_leaf. */
cv_err cv_decryption_from_leaf(const uint8_t *leaf, size_t len, cv_decryption *d);
/* Adds a ballot's A_i and B_i into alpha[i], beta[i] (start from CV_POINT_O). */
cv_err cv_aggregate_add(const cv_ballot *bl, uint8_t (*alpha)[CV_POINT_LEN],
                        uint8_t (*beta)[CV_POINT_LEN]);
/* Trustee share D_i = s·α_i with proofs; d's election_id, validator_key, through_height
 * are the caller's. nonces w_i (NULL: fresh). CV_E_DECRYPTION_PROOF when an α_i is O. */
cv_err cv_decryption_make(cv_decryption *d, const uint8_t s[CV_SCALAR_LEN],
                          const uint8_t (*alpha)[CV_POINT_LEN], size_t k,
                          const uint8_t (*nonces)[CV_SCALAR_LEN]);
cv_err cv_decryption_sign(cv_decryption *d, const cv_privkey *validator);
/* k (CV_E_BALLOT_COUNT), α_i ≠ O, D_i points (CV_E_BALLOT_POINT), scalars
 * (CV_E_BALLOT_SCALAR), proofs against K_j (CV_E_DECRYPTION_PROOF), signature. */
cv_err cv_decryption_verify(const cv_decryption *d, const uint8_t K_j[CV_POINT_LEN],
                            const uint8_t (*alpha)[CV_POINT_LEN], size_t k, size_t *pos);

/* λ_j for the trustee at xs[j] among the quorum xs[0..q-1] (distinct, >= 1). */
cv_err cv_lagrange(const uint64_t *xs, size_t q, size_t j, uint8_t out[CV_SCALAR_LEN]);
/* The counts: for each position i, M_i = β_i − Σ_j λ_j·D_{j,i} with D[j] the k shares of
 * trustee xs[j], and m_i in 0..max_count with m_i·G = M_i. CV_E_TALLY when no such
 * count exists (the shares or ballots are not what they claim). */
cv_err cv_tally_decrypt(const uint64_t *xs, const cv_share *const *D, size_t q,
                        const uint8_t (*beta)[CV_POINT_LEN], size_t k, uint64_t max_count,
                        uint64_t *counts);

#endif
