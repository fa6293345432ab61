/* RFC 6962 section 2.1 Merkle tree hashes over leaf hashes, audit paths, and their
 * verification as RFC 9162 section 2.1.3.2 writes it. Both the genesis entries and the
 * votes of a block are committed to through these functions. */
#include <string.h>

#include "merkle.h"

/* Domain separation: leaves hash under 0x00 and interior nodes under 0x01, so that a
 * leaf can never be passed off as a node nor the reverse. */
#define LEAF_PREFIX 0x00
#define NODE_PREFIX 0x01

void cv_merkle_leaf_hash(const void *leaf, size_t len, uint8_t out[CV_HASH_LEN])
{
	static const uint8_t prefix = LEAF_PREFIX;

	/* in two parts, so that a leaf of any size is hashed without a copy */
	cv_sha256_2(&prefix, 1, leaf, len, out);
}

void cv_merkle_node_hash(const uint8_t left[CV_HASH_LEN], const uint8_t right[CV_HASH_LEN],
                         uint8_t out[CV_HASH_LEN])
{
	uint8_t buf[1 + 2 * CV_HASH_LEN];

	buf[0] = NODE_PREFIX;
	memcpy(buf + 1, left, CV_HASH_LEN);
	memcpy(buf + 1 + CV_HASH_LEN, right, CV_HASH_LEN);
	cv_sha256(buf, sizeof buf, out);
}

/* The largest power of two strictly below n (n >= 2): RFC 6962's split point k. */
static size_t split_point(size_t n)
{
	size_t k = 1;

	while (k << 1 < n)
		k <<= 1;
	return k;
}

/* MTH(D[0:n]) for n >= 1. Recursion depth is log2(n), at most 64. */
static void subtree_root(const uint8_t (*leaf_hashes)[CV_HASH_LEN], size_t n,
                         uint8_t out[CV_HASH_LEN])
{
	uint8_t left[CV_HASH_LEN], right[CV_HASH_LEN];
	size_t k;

	if (n == 1) {
		memcpy(out, leaf_hashes[0], CV_HASH_LEN);
		return;
	}
	k = split_point(n);
	subtree_root(leaf_hashes, k, left);
	subtree_root(leaf_hashes + k, n - k, right);
	cv_merkle_node_hash(left, right, out);
}

cv_err cv_merkle_root(const uint8_t (*leaf_hashes)[CV_HASH_LEN], size_t n,
                      uint8_t root[CV_HASH_LEN])
{
	if (n == 0) {
		cv_sha256("", 0, root);
		return CV_OK;
	}
	subtree_root(leaf_hashes, n, root);
	return CV_OK;
}

cv_err cv_merkle_path(const uint8_t (*leaf_hashes)[CV_HASH_LEN], size_t n, size_t index,
                      uint8_t path[][CV_HASH_LEN], size_t *path_len)
{
	size_t depth = 0, k, i;

	*path_len = 0;
	if (index >= n)
		return CV_E_NOT_FOUND;
	/* Walk down from the root; RFC 6962 lists the siblings leaf-first, so they are
	 * collected top-down and reversed at the end. */
	while (n > 1) {
		k = split_point(n);
		if (index < k) {
			subtree_root(leaf_hashes + k, n - k, path[depth]);
			n = k;
		} else {
			subtree_root(leaf_hashes, k, path[depth]);
			leaf_hashes += k;
			index -= k;
			n -= k;
		}
		depth++;
	}
	for (i = 0; i < depth / 2; i++) {
		uint8_t tmp[CV_HASH_LEN];

		memcpy(tmp, path[i], CV_HASH_LEN);
		memcpy(path[i], path[depth - 1 - i], CV_HASH_LEN);
		memcpy(path[depth - 1 - i], tmp, CV_HASH_LEN);
	}
	*path_len = depth;
	return CV_OK;
}

bool cv_merkle_verify(const uint8_t leaf_hash[CV_HASH_LEN], uint64_t index, uint64_t tree_size,
                      const uint8_t path[][CV_HASH_LEN], size_t path_len,
                      const uint8_t root[CV_HASH_LEN])
{
	uint8_t r[CV_HASH_LEN];
	uint64_t fn, sn;
	size_t i;

	if (index >= tree_size || path_len > CV_MERKLE_MAX_PATH)
		return false;
	fn = index;
	sn = tree_size - 1;
	memcpy(r, leaf_hash, CV_HASH_LEN);
	for (i = 0; i < path_len; i++) {
		if (sn == 0)
			return false;
		if ((fn & 1) || fn == sn) {
			cv_merkle_node_hash(path[i], r, r);
			/* Skip the levels where this node has no right sibling. */
			if (!(fn & 1))
				while (!(fn & 1) && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			cv_merkle_node_hash(r, path[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && memcmp(r, root, CV_HASH_LEN) == 0;
}
