// Checks the page modules (www/js encode, merkle, crypto) against the reference vectors
// byte for byte, under node's WebCrypto. VECTORS names the vectors directory.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

import * as enc from '../../www/js/encode.js';
import * as merkle from '../../www/js/merkle.js';
import * as cv from '../../www/js/crypto.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const vectors = process.env.VECTORS || path.join(here, '../../../shared/vectors');
const comp = JSON.parse(readFileSync(path.join(vectors, 'components.json'), 'utf8'));
const chain = JSON.parse(readFileSync(path.join(vectors, 'chain.json'), 'utf8'));
const keys = JSON.parse(readFileSync(path.join(vectors, 'keys.json'), 'utf8'));
const [genesis, block1] = chain.blocks;
const hex = enc.hex;
const leafIBytes = (n) => Array.from({ length: n }, (_, i) => Uint8Array.of(i));

test('vote 0 payload matches byte for byte', () => {
	assert.equal(hex(enc.votePayload(block1.votes[0])), comp.vote0_payload_hex);
});

test('vote 0 txid is SHA-256 of its payload', async () => {
	assert.equal(hex(await cv.sha256(enc.votePayload(block1.votes[0]))), comp.vote0_txid);
	assert.equal(block1.votes[0].txid, comp.vote0_txid);
});

test('block 1 leaves are payload || signature', () => {
	assert.deepEqual(block1.votes.map((v) => hex(enc.voteLeaf(v))), comp.block1_leaves_hex);
});

test('block 1 header is 96 bytes and matches', () => {
	const h = enc.blockHeader(block1);
	assert.equal(h.length, 96);
	assert.equal(hex(h), comp.block1_header_hex);
});

test('block 1 hash and its leading zero bits', async () => {
	const h = await cv.sha256(enc.blockHeader(block1));
	assert.equal(hex(h), comp.block1_hash);
	assert.equal(cv.leadingZeroBits(h), comp.block1_leading_zero_bits);
});

test('genesis header and hash match', async () => {
	assert.equal(hex(enc.blockHeader(genesis)), comp.genesis_header_hex);
	assert.equal(hex(await cv.sha256(enc.blockHeader(genesis))), comp.genesis_hash);
});

test('genesis entries encode in genesis order', () => {
	assert.deepEqual(enc.genesisEntries(genesis).map(hex), comp.genesis_entries_hex);
});

test('genesis merkle root over its entries', async () => {
	assert.equal(hex(await merkle.root(enc.genesisEntries(genesis))), genesis.merkle_root);
});

test('approval message matches', () => {
	assert.equal(hex(enc.approvalMessage(comp.block1_hash)), comp.approval0_message_hex);
});

test('rejection message matches', () => {
	const r = comp.reject_message_example;
	assert.equal(hex(enc.rejectionMessage(r.block_hash, r.reason)), r.message_hex);
});

test('RFC 6962 edge values', async () => {
	const r = comp.rfc6962;
	assert.equal(hex(await merkle.root([])), r.empty_root);
	assert.equal(hex(await merkle.leafHash(new Uint8Array(0))), r.leaf_empty);
	assert.equal(hex(await merkle.leafHash(enc.tag('L123456'))), r.leaf_L123456);
	assert.equal(hex(await merkle.nodeHash(enc.tag('N123'), enc.tag('N456'))), r.node_N123_N456);
});

test('merkle roots of the leaf-i-byte lists', async () => {
	for (const [n, want] of Object.entries(comp.merkle_roots_of_leaf_i_byte))
		assert.equal(hex(await merkle.root(leafIBytes(Number(n)))), want, `n = ${n}`);
});

test('block 1 merkle root over its vote leaves', async () => {
	assert.equal(hex(await merkle.root(block1.votes.map(enc.voteLeaf))), block1.merkle_root);
});

test('block 1 audit paths match the vectors', async () => {
	const leaves = block1.votes.map(enc.voteLeaf);
	for (const inc of comp.block1_inclusion)
		assert.deepEqual((await merkle.auditPath(inc.index, leaves)).map(hex), inc.path, `index ${inc.index}`);
});

test('block 1 inclusion proofs verify against its merkle root', async () => {
	const rootHash = enc.unhex(block1.merkle_root, 32);
	for (const inc of comp.block1_inclusion) {
		const ok = await merkle.verifyInclusion(enc.voteLeaf(block1.votes[inc.index]), inc.index, inc.tree_size,
			inc.path.map((p) => enc.unhex(p, 32)), rootHash);
		assert.ok(ok, `index ${inc.index}`);
	}
});

test('inclusion proof fails for the wrong leaf, index, size or a cut path', async () => {
	const rootHash = enc.unhex(block1.merkle_root, 32);
	const inc = comp.block1_inclusion[0];
	const p = inc.path.map((x) => enc.unhex(x, 32));
	const leaf0 = enc.voteLeaf(block1.votes[0]);
	assert.equal(await merkle.verifyInclusion(enc.voteLeaf(block1.votes[1]), 0, 3, p, rootHash), false);
	assert.equal(await merkle.verifyInclusion(leaf0, 1, 3, p, rootHash), false);
	assert.equal(await merkle.verifyInclusion(leaf0, 0, 2, p, rootHash), false);
	assert.equal(await merkle.verifyInclusion(leaf0, 3, 3, p, rootHash), false);
	assert.equal(await merkle.verifyInclusion(leaf0, 0, 3, p.slice(0, 1), rootHash), false);
	assert.equal(await merkle.verifyInclusion(leaf0, 0, 3, [...p, p[0]], rootHash), false);
});

test('audit paths verify for every leaf of trees of 1 to 9 leaves', async () => {
	for (let n = 1; n <= 9; n++) {
		const leaves = leafIBytes(n);
		const rootHash = await merkle.root(leaves);
		for (let i = 0; i < n; i++)
			assert.ok(await merkle.verifyInclusion(leaves[i], i, n, await merkle.auditPath(i, leaves), rootHash), `${i}/${n}`);
	}
});

test('every vote signature of chain.json verifies', async () => {
	for (const b of chain.blocks.slice(1))
		for (const v of b.votes) assert.ok(await cv.verify(v.voter_key, v.signature, enc.votePayload(v)), v.txid);
});

test('every approval signature of chain.json verifies', async () => {
	for (const b of chain.blocks.slice(1))
		for (const a of b.approvals)
			assert.ok(await cv.verify(a.validator_key, a.signature, enc.approvalMessage(b.hash)), b.hash);
});

test('a vote signature fails for another candidate', async () => {
	const v = { ...block1.votes[0], candidate_id: block1.votes[0].candidate_id + 1 };
	assert.equal(await cv.verify(v.voter_key, v.signature, enc.votePayload(v)), false);
});

test('malformed keys and signatures are invalid, not errors', async () => {
	const v = block1.votes[0];
	const msg = enc.votePayload(v);
	assert.equal(await cv.verify('04' + '00'.repeat(64), v.signature, msg), false);
	assert.equal(await cv.verify(v.voter_key, 'zz', msg), false);
	assert.equal(await cv.verify(v.voter_key, v.signature.slice(2), msg), false);
});

test('every block hash of chain.json recomputes and meets its difficulty', async () => {
	for (const b of chain.blocks) {
		const h = await cv.sha256(enc.blockHeader(b));
		assert.equal(hex(h), b.hash);
		assert.ok(cv.leadingZeroBits(h) >= b.difficulty);
	}
});

test('a key file built from a test key signs votes that verify', async () => {
	const [pub, d] = Object.entries(keys.voters)[0];
	const file = { format: 'chainvote-key/1', public_key: pub, private_key: cv.jwkFromHex(pub, d) };
	const k = await cv.importKeyFile(JSON.stringify(file));
	assert.equal(k.publicHex, pub);
	const vote = { election_id: genesis.hash, voter_key: pub, candidate_id: 1, timestamp: 1767225700 };
	const sig = await cv.sign(k.privateKey, enc.votePayload(vote));
	assert.equal(sig.length, 64);
	assert.ok(await cv.verify(pub, sig, enc.votePayload(vote)));
});

test('a generated key round-trips through its key file', async () => {
	const g = await cv.generateKey();
	assert.equal(g.keyFile.format, 'chainvote-key/1');
	assert.match(g.keyFile.public_key, /^04[0-9a-f]{128}$/);
	const k = await cv.importKeyFile(JSON.stringify(g.keyFile));
	assert.equal(k.publicHex, g.publicHex);
	const msg = enc.approvalMessage(comp.block1_hash);
	assert.ok(await cv.verify(g.publicHex, await cv.sign(k.privateKey, msg), msg));
});

test('key files that are not JSON, of another format or mismatched are refused', async () => {
	const [pub, d] = Object.entries(keys.voters)[0];
	const [pub2] = Object.entries(keys.voters)[1];
	await assert.rejects(cv.importKeyFile('not json'), /not JSON/);
	await assert.rejects(cv.importKeyFile(JSON.stringify({ format: 'other' })), /not a ChainVote key file/);
	const mismatched = { format: 'chainvote-key/1', public_key: pub2, private_key: cv.jwkFromHex(pub, d) };
	await assert.rejects(cv.importKeyFile(JSON.stringify(mismatched)), /do not match/);
	const wrongD = { format: 'chainvote-key/1', public_key: pub, private_key: { ...cv.jwkFromHex(pub), d: cv.jwkFromHex(pub2, Object.values(keys.voters)[1]).d } };
	await assert.rejects(cv.importKeyFile(JSON.stringify(wrongD)));
});

test('integers out of range and over-long text are refused', () => {
	assert.throws(() => enc.u32(2 ** 32), RangeError);
	assert.throws(() => enc.u32(-1), RangeError);
	assert.throws(() => enc.u64(2 ** 53), TypeError);
	assert.equal(hex(enc.u64(2n ** 64n - 1n)), 'ff'.repeat(8));
	assert.throws(() => enc.u64(2n ** 64n), RangeError);
	assert.throws(() => enc.text('x'.repeat(201)), RangeError);
	assert.equal(enc.text('é').length, 4);
	assert.throws(() => enc.unhex('abc'), TypeError);
	assert.throws(() => enc.unhex('ab', 2), RangeError);
});

// The close (DESIGN section 2): the sealed chain's last block carries the seal alone.
const sealed = JSON.parse(readFileSync(path.join(vectors, 'chain-sealed.json'), 'utf8'));
const sealBlock = sealed.blocks[sealed.blocks.length - 1];

test('the seal leaf is its tag, the election id and closed_at, and alone gives the merkle root', async () => {
	const leaf = enc.sealLeaf(sealBlock.seal);
	assert.equal(leaf.length, 56);
	assert.equal(new TextDecoder().decode(leaf.slice(0, 16)), 'chainvote/seal/1');
	assert.deepEqual(enc.blockLeaves(sealBlock).map(hex), [hex(leaf)]);
	assert.equal(hex(await merkle.root(enc.blockLeaves(sealBlock))), sealBlock.merkle_root);
	assert.equal(hex(await cv.sha256(enc.blockHeader(sealBlock))), sealBlock.hash);
});

test('the page check passes the seal block and refuses one with a vote beside the seal', async () => {
	const { checkBlock } = await import('../../www/js/verify.js');
	const ok = await checkBlock(sealBlock, { difficulty: 8, electionId: sealed.blocks[0].hash });
	assert.equal(ok.ok, true, JSON.stringify(ok.checks));
	const other = await checkBlock(sealBlock, { difficulty: 8, electionId: '00'.repeat(32) });
	assert.equal(other.ok, false);
	const crowded = await checkBlock({ ...sealBlock, votes: [sealed.blocks[1].votes[0]] }, { difficulty: 8 });
	assert.equal(crowded.ok, false);
});
