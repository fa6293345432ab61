// The vote page's receipt checks under node's WebCrypto: the signed acceptance of
// docs/ACCEPTANCE.md reproduced and verified (an implementation independent of the
// library's OpenSSL one), and a committed vote whose signature a miner swapped for its
// (r, n-s) twin still passing the voter's receipt check.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import * as enc from '../../www/js/encode.js';
import * as merkle from '../../www/js/merkle.js';
import * as cv from '../../www/js/crypto.js';
import { checkReceipt, checkAcceptance } from '../../www/js/verify.js';

const hex = enc.hex;
const ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

// The vector of docs/ACCEPTANCE.md.
const VEC = {
	service_key: '04728114a185df6ad41e24f89c88f8dc6d7ebec9860a1cb25f1e1c3e24090c6a5ab0e5a1c96c3c9d49d11b0d6446b6f87ca307467d4c0361cb8125ddf5e3c278de',
	txid: '4e01c03645335055d8695535924bd0b32f7162a6317c1aada12dc3218e54d34b',
	accepted_at: 1700000000,
	message: '636861696e766f74652f6163636570742f314e01c03645335055d8695535924bd0b32f7162a6317c1aada12dc3218e54d34b000000006553f100',
	signature: '768b073b965f1c4c0e0451d06164e49cb96627baf6ecd078fc04d151e8ed998145ff20fddd48904bcad761c826eadcb45851ed5dd3d629fbb9a2f71efc52733a',
};

function twin(sigHex) {
	const s = BigInt('0x' + sigHex.slice(64));
	return sigHex.slice(0, 64) + (ORDER - s).toString(16).padStart(64, '0');
}

test('acceptance message matches the documented vector byte for byte', () => {
	assert.equal(hex(enc.acceptanceMessage(VEC.txid, VEC.accepted_at)), VEC.message);
});

test('the documented acceptance verifies under the documented service key', async () => {
	const acc = { txid: VEC.txid, accepted_at: VEC.accepted_at, service_key: VEC.service_key, signature: VEC.signature };
	assert.equal(await checkAcceptance(acc, VEC.txid, VEC.service_key), true);
});

test('a tampered acceptance, another txid or another published key fails', async () => {
	const acc = { txid: VEC.txid, accepted_at: VEC.accepted_at, service_key: VEC.service_key, signature: VEC.signature };
	assert.equal(await checkAcceptance({ ...acc, accepted_at: VEC.accepted_at + 1 }, VEC.txid, VEC.service_key), false);
	assert.equal(await checkAcceptance(acc, 'ab'.repeat(32), VEC.service_key), false);
	const other = await cv.generateKey();
	assert.equal(await checkAcceptance(acc, VEC.txid, other.publicHex), false);
	assert.equal(await checkAcceptance(null, VEC.txid, VEC.service_key), false);
});

// A committed block of two votes, the second being `committed`; returns the block and the
// receipt GET /api/votes/{txid} would give for it.
async function commit(other, committed) {
	const votes = [other, committed];
	const leaves = votes.map(enc.voteLeaf);
	const block = {
		version: 1, height: 1, prev_hash: '00'.repeat(32), merkle_root: hex(await merkle.root(leaves)),
		timestamp: 1700000100, difficulty: 0, nonce: 0, votes, approvals: [],
	};
	block.hash = hex(await cv.sha256(enc.blockHeader(block)));
	const path = (await merkle.auditPath(1, leaves)).map(hex);
	return { block, receipt: { status: 'committed', height: 1, block_hash: block.hash, index: 1, tree_size: 2, path } };
}

async function signedVote(k, candidate) {
	const vote = { election_id: 'cd'.repeat(32), voter_key: k.publicHex, candidate_id: candidate, timestamp: 1700000000 };
	const payload = enc.votePayload(vote);
	vote.signature = hex(await cv.sign(k.privateKey, payload));
	return { vote, txid: hex(await cv.sha256(payload)) };
}

test('a receipt holds when the miner committed the twin of the voter\'s signature', async () => {
	const me = await cv.generateKey();
	const someone = await cv.generateKey();
	const { vote: mine, txid } = await signedVote(me, 2);
	const { vote: theirs } = await signedVote(someone, 1);
	const committed = { ...mine, signature: twin(mine.signature) };
	assert.notEqual(committed.signature, mine.signature);
	const { block, receipt } = await commit(theirs, committed);
	const checks = await checkReceipt(txid, receipt, block, me.publicHex);
	assert.deepEqual(checks.filter((c) => !c.ok), [], JSON.stringify(checks));
	assert.ok(checks.length >= 5);
});

test('a receipt fails when the block holds another payload or a forged signature', async () => {
	const me = await cv.generateKey();
	const someone = await cv.generateKey();
	const { vote: mine, txid } = await signedVote(me, 2);
	const { vote: theirs } = await signedVote(someone, 1);
	// the voter's key and payload, but a signature the voter never made
	const forged = { ...mine, signature: theirs.signature };
	let { block, receipt } = await commit(theirs, forged);
	let failed = (await checkReceipt(txid, receipt, block, me.publicHex)).filter((c) => !c.ok).map((c) => c.label);
	assert.ok(failed.includes('The voter\'s signature on the vote verifies'), failed.join());
	// another vote at the receipt's place
	({ block, receipt } = await commit(mine, theirs));
	failed = (await checkReceipt(txid, receipt, block, me.publicHex)).filter((c) => !c.ok).map((c) => c.label);
	assert.ok(failed.includes('The block\'s vote is the one the receipt number names'), failed.join());
	assert.ok(failed.includes('The vote is by your key'), failed.join());
});
