/* RFC 6962 section 2.1 Merkle tree hashes and audit paths (verified as RFC 9162
 * section 2.1.3.2). Inputs are leaf hashes, H(0x00 || leaf). */
#ifndef CV_MERKLE_H
#define CV_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "crypto.h"
#include "err.h"

#define CV_MERKLE_MAX_PATH 64

void cv_merkle_leaf_hash(const void *leaf, size_t len, uint8_t out[CV_HASH_LEN]);
void cv_merkle_node_hash(const uint8_t left[CV_HASH_LEN], const uint8_t right[CV_HASH_LEN],
                         uint8_t out[CV_HASH_LEN]);
/* MTH over n leaf hashes; n == 0 gives H(""). CV_E_NOMEM only. */
cv_err cv_merkle_root(const uint8_t (*leaf_hashes)[CV_HASH_LEN], size_t n,
                      uint8_t root[CV_HASH_LEN]);
/* Audit path of leaf `index` in a tree of n leaves; writes *path_len (<= 64) hashes. */
cv_err cv_merkle_path(const uint8_t (*leaf_hashes)[CV_HASH_LEN], size_t n, size_t index,
                      uint8_t path[][CV_HASH_LEN], size_t *path_len);
/* True when the path proves leaf_hash at index in a tree of tree_size with this root. */
bool cv_merkle_verify(const uint8_t leaf_hash[CV_HASH_LEN], uint64_t index, uint64_t tree_size,
                      const uint8_t path[][CV_HASH_LEN], size_t path_len,
                      const uint8_t root[CV_HASH_LEN]);

#endif
