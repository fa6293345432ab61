// RFC 6962 Merkle trees over byte strings: leaf and node hashing, the tree head over a
// list, audit paths, and verification of an audit path as in RFC 9162 section 2.1.3.2.

import { concat, equalBytes } from './encode.js';
import { sha256 } from './crypto.js';

export const leafHash = (data) => sha256(concat(Uint8Array.of(0), data));
export const nodeHash = (left, right) => sha256(concat(Uint8Array.of(1), left, right));

// Largest power of two strictly below n (n > 1).
function split(n) {
	let k = 1;
	while (k * 2 < n) k *= 2;
	return k;
}

async function rootOfHashes(hashes) {
	if (hashes.length === 1) return hashes[0];
	const k = split(hashes.length);
	return nodeHash(await rootOfHashes(hashes.slice(0, k)), await rootOfHashes(hashes.slice(k)));
}

// MTH(leaves): H("") for none.
export async function root(leaves) {
	if (leaves.length === 0) return sha256(new Uint8Array(0));
	return rootOfHashes(await Promise.all(leaves.map(leafHash)));
}

async function pathOfHashes(m, hashes) {
	if (hashes.length <= 1) return [];
	const k = split(hashes.length);
	if (m < k) return [...(await pathOfHashes(m, hashes.slice(0, k))), await rootOfHashes(hashes.slice(k))];
	return [...(await pathOfHashes(m - k, hashes.slice(k))), await rootOfHashes(hashes.slice(0, k))];
}

// The audit path PATH(index, leaves) of RFC 6962 section 2.1.1, leaf side first.
export async function auditPath(index, leaves) {
	if (!Number.isInteger(index) || index < 0 || index >= leaves.length) throw new RangeError('index out of range');
	return pathOfHashes(index, await Promise.all(leaves.map(leafHash)));
}

// The root an audit path leads to from a leaf hash, or null when the path cannot belong
// to a tree of that size (RFC 9162 section 2.1.3.2).
export async function rootFromPath(index, size, hashOfLeaf, path) {
	if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return null;
	let fn = index;
	let sn = size - 1;
	let r = hashOfLeaf;
	for (const p of path) {
		if (sn === 0) return null;
		if (fn % 2 === 1 || fn === sn) {
			r = await nodeHash(p, r);
			if (fn % 2 === 0) {
				while (fn % 2 === 0 && fn !== 0) {
					fn = Math.floor(fn / 2);
					sn = Math.floor(sn / 2);
				}
			}
		} else {
			r = await nodeHash(r, p);
		}
		fn = Math.floor(fn / 2);
		sn = Math.floor(sn / 2);
	}
	return sn === 0 ? r : null;
}

// True when path proves leaf (its data, not its hash) at index in a tree of size with rootHash.
export async function verifyInclusion(leaf, index, size, path, rootHash) {
	const r = await rootFromPath(index, size, await leafHash(leaf), path);
	return r !== null && equalBytes(r, rootHash);
}
