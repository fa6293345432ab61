// Checks the trustee page's ceremony module (www/js/ceremony.js) against the vectors byte
// for byte: the setup_hash, every trustee's commitments and Schnorr proofs remade from its
// coefficients and nonces (and its genesis entry with the vector's signature), every
// private share P_i(x_j) and its check against the commitments, every s_j and K_j, the
// first decryption share remade from its nonces, the genesis and block leaves of the
// vector chain and its aggregates α through the seal; and the sealed-share vector of
// docs/SECRET.md (ephemeral key, AES key, ciphertext, tag), opened again with the
// recipient's key. VECTORS names the vectors directory (its secret/ subdirectory is read).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

import * as cer from '../../www/js/ceremony.js';
import * as bal from '../../www/js/ballot.js';
import * as cv from '../../www/js/crypto.js';
import { hex, unhex, concat } from '../../www/js/encode.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const vectors = path.join(process.env.VECTORS || path.join(here, '../../../shared/vectors'), 'secret');
const read = (f) => JSON.parse(readFileSync(path.join(vectors, f), 'utf8'));
const comp = read('components.json');
const chain = read('chain.json');
const keys = read('keys.json');
const genesis = chain.blocks[0];
const trustees = genesis.secrecy.trustees;
const big = (h) => BigInt('0x' + h);
const clone = (o) => JSON.parse(JSON.stringify(o));

// a WebCrypto signing key for a test scalar
async function signer(d) {
	const pub = cer.publicOf(d);
	const privateKey = await globalThis.crypto.subtle.importKey('jwk', cv.jwkFromHex(pub, hex(unhex(d.toString(16).padStart(64, '0')))),
		{ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
	return { privateKey, pub };
}

test('setup_hash recomputed from the election, candidates and validators', () => {
	assert.equal(cer.setupHash(genesis.election, genesis.candidates, genesis.validators), comp.setup_hash);
	// the order the page is given them in does not matter: genesis order is restored
	assert.equal(cer.setupHash(genesis.election, [...genesis.candidates].reverse(), [...genesis.validators].reverse()), comp.setup_hash);
	const renamed = clone(genesis.candidates);
	renamed[0].name += '!';
	assert.notEqual(cer.setupHash(genesis.election, renamed, genesis.validators), comp.setup_hash);
});

test('every trustee entry remade from its coefficients and nonces: commitments and proofs byte for byte', async () => {
	for (const [j, d] of comp.dkg.entries()) {
		const made = cer.makeTrusteeEntry({
			setupHash: comp.setup_hash, validatorKey: d.validator_key,
			coefficients: d.proofs.map((p) => big(p.a)), nonces: d.proofs.map((p) => big(p.u)),
		});
		assert.deepEqual(made.commitments, d.proofs.map((p) => p.C), `trustee ${d.x} commitments`);
		assert.deepEqual(made.proofs, d.proofs.map((p) => ({ c: p.c, v: p.v })), `trustee ${d.x} proofs`);
		assert.deepEqual(keys.trustee_polynomials[String(d.x)], d.proofs.map((p) => p.a));
		// with the vector's (deterministic) signature it is the genesis entry
		const entry = { ...made, signature: trustees[j].signature };
		assert.equal(hex(cer.trusteeEntryBytes(entry)), comp.trustee_entries_hex[j]);
		assert.deepEqual(entry, trustees[j]);
		assert.deepEqual(await cer.verifyTrusteeEntry(entry, comp.setup_hash), { ok: true, problem: null });
	}
});

test('a trustee entry signed in the page verifies; a bad proof, commitment, signature or setup does not', async () => {
	const d = big(keys.validators[comp.dkg[0].validator_key]);
	const { privateKey, pub } = await signer(d);
	assert.equal(pub, comp.dkg[0].validator_key);
	const coeffs = cer.drawPolynomial(2);
	const entry = await cer.signTrusteeEntry(cer.makeTrusteeEntry({ setupHash: comp.setup_hash, validatorKey: pub, coefficients: coeffs }), privateKey);
	assert.equal(entry.commitments[0], cer.publicOf(coeffs[0]));
	assert.equal((await cer.verifyTrusteeEntry(entry, comp.setup_hash)).ok, true);
	assert.equal((await cer.verifyTrusteeEntry(entry, '00'.repeat(32))).problem, 'trustee_setup_hash');
	const badV = clone(entry);
	badV.proofs[1].v = trustees[0].proofs[1].v;
	assert.equal((await cer.verifyTrusteeEntry(badV)).problem, 'trustee_proof');
	const offCurve = clone(entry);
	offCurve.commitments[1] = offCurve.commitments[1].slice(0, -2) + (offCurve.commitments[1].endsWith('00') ? '01' : '00');
	assert.equal((await cer.verifyTrusteeEntry(offCurve)).problem, 'bad_key');
	const badSig = { ...entry, signature: trustees[0].signature };
	assert.equal((await cer.verifyTrusteeEntry(badSig)).problem, 'trustee_signature');
	assert.equal((await cer.verifyTrusteeEntry({ ...entry, proofs: entry.proofs.slice(1) })).problem, 'malformed');
	assert.throws(() => cer.drawPolynomial(1));
});

test('every private share P_i(x_j), and its check against the sender\'s commitments', () => {
	for (const p of comp.private_shares) {
		const coeffs = keys.trustee_polynomials[String(p.from_x)].map(big);
		const v = cer.polyEval(coeffs, p.to_x);
		assert.equal(v, big(p['P_i(x)']), `P_${p.from_x}(${p.to_x})`);
		const C = trustees[p.from_x - 1].commitments;
		assert.equal(cer.shareMatches(v, C, p.to_x), true);
		assert.equal(cer.shareMatches(v + 1n, C, p.to_x), false, 'a wrong value fails');
		assert.equal(cer.shareMatches(v, C, p.to_x === 3 ? 1 : p.to_x + 1), false, 'another x fails');
	}
});

test('every s_j = Σ_l P_l(x_j) and K_j = Σ_l Σ_k x_j^k·C_l,k; s_j·G = K_j', () => {
	for (const t of comp.trustee_keys) {
		const own = cer.polyEval(keys.trustee_polynomials[String(t.x)].map(big), t.x);
		const received = comp.private_shares.filter((p) => p.to_x === t.x && p.from_x !== t.x).map((p) => big(p['P_i(x)']));
		const s = cer.combineShares(own, received);
		assert.equal(s, big(t.s));
		assert.equal(s, big(keys.trustee_shares[String(t.x)]));
		assert.equal(cer.trusteeKey(trustees, t.x), t.K_j);
		assert.equal(cer.publicOf(s), t.K_j);
	}
});

test('decryption share of trustee 1 remade from its nonces: D_i, c, v, payload, leaf', async () => {
	const d0 = comp.decryption0;
	const made = cer.makeDecryption({
		electionId: comp.genesis_hash, validatorKey: d0.validator_key, throughHeight: d0.through_height,
		s: big(keys.trustee_shares[String(d0.x)]), trusteeKey: d0.K_j,
		alphas: d0.shares.map((s) => s.alpha), nonces: d0.shares.map((s) => big(s.w)),
	});
	assert.deepEqual(made.share.shares, d0.shares.map((s) => ({ d: s.D, c: s.c, v: s.v })));
	assert.equal(hex(made.payload), d0.payload);
	assert.equal(hex(concat(made.payload, unhex(d0.signature))), d0.leaf);
	const inChain = chain.blocks[4].decryptions[0];
	assert.equal(made.txid, hex(await cv.sha256(bal.decryptionPayload(inChain))));
	assert.ok(await cv.verify(d0.validator_key, d0.signature, made.payload), 'the vector\'s signature covers the payload made here');
	// the wrong s_j is refused before anything is made
	assert.throws(() => cer.makeDecryption({
		electionId: comp.genesis_hash, validatorKey: d0.validator_key, throughHeight: 2,
		s: big(keys.trustee_shares['2']), trusteeKey: d0.K_j, alphas: d0.shares.map((s) => s.alpha),
	}), /K_j/);
});

test('the genesis leaves and every block\'s leaves give the vector chain\'s merkle roots', async () => {
	assert.deepEqual(cer.secretGenesisLeaves(genesis).map(hex), comp.genesis_entries_hex);
	assert.equal(hex(cer.secrecyEntry(2, 3)), comp.secrecy_entry_hex);
	const { root } = await import('../../www/js/merkle.js');
	for (const b of chain.blocks.slice(1)) assert.equal(hex(await root(bal.secretLeaves(b))), b.merkle_root, `block ${b.height}`);
	assert.equal(hex(bal.secretLeaves(chain.blocks[3])[0]), comp.seal.leaf);
});

test('the aggregates α through the seal, from the checked vector chain', async () => {
	const me = comp.decryption0.validator_key;
	const got = await cer.sealedAggregate(chain, { genesisHash: comp.genesis_hash, me });
	assert.equal(got.problem, null);
	assert.deepEqual(got.alphas, comp.aggregates.alpha);
	assert.deepEqual(got.alphas, comp.decryption0.shares.map((s) => s.alpha));
	assert.equal(got.throughHeight, 2);
	assert.equal(got.ballots, 7);
});

test('a chain that is not the sealed, approved chain gives no α', async () => {
	const me = comp.decryption0.validator_key;
	const opts = { genesisHash: comp.genesis_hash, me };
	const fails = async (c, o = opts) => (await cer.sealedAggregate(c, o)).ok === false;
	assert.ok(await fails(chain, { ...opts, genesisHash: '00'.repeat(32) }), 'another genesis hash');
	assert.ok(await fails(chain, { ...opts, me: comp.points.G }), 'not a trustee');
	let c = clone(chain);
	c.blocks[1].votes[0].ciphertexts[0].a = c.blocks[2].votes[0].ciphertexts[0].a;
	assert.ok(await fails(c), 'a ciphertext swapped (merkle root)');
	c = clone(chain);
	c.blocks[1].approvals = c.blocks[1].approvals.slice(0, 1);
	assert.ok(await fails(c), 'one approval, threshold 2');
	c = clone(chain);
	c.blocks[2].approvals = [c.blocks[2].approvals[0], c.blocks[2].approvals[0]];
	assert.ok(await fails(c), 'the same approval twice');
	c = clone(chain);
	c.blocks = c.blocks.slice(0, 3);
	assert.match((await cer.sealedAggregate(c, opts)).problem, /not committed/);
	c = clone(chain);
	c.blocks[0].secrecy.trustees[0].proofs[0].v = c.blocks[0].secrecy.trustees[1].proofs[0].v;
	assert.ok(await fails(c), 'a trustee entry changed (genesis root)');
});

// docs/SECRET.md, "Sealed share format": sender 0x11…, recipient 0x22…, ephemeral 0x33…,
// nonce 0x44 × 12, setup_hash 0x66 × 32, value 5
const SV = {
	sender: '040217e617f0b6443928278f96999e69a23a4f2c152bdf6d6cdf66e5b80282d4ed194a7debcb97712d2dda3ca85aa8765a56f45fc758599652f2897c65306e5794',
	recipient: '04d65a93977caa3d1b081852ff57a79e465f1660577304baead505dd3a48589cf350185e895372df6221ea3a137557e473fddb6755f05bd507c3c533fce9c91285',
	ephemeral: '0451a7580833898ea1b183cbd7350a4099078c6ef1c1e18e970cd7683035f25e7d0110522712b0b5a7cff081685486984a94e6831edac46e7360fa9d834a7a81a1',
	aesKey: 'b477022520f55788575f120f4684d4ab7485dad3fde3a59fbbba3a22f9e8c81a',
	ciphertext: 'c2341d38a802248c24af49d8df6746ed02b29e7001940cd296dd5f3a654d11f4',
	tag: '7485cfec9138255bef63bfb7a6ff5343',
};
const rep = (b) => BigInt('0x' + b.repeat(32));

async function vectorShare() {
	const { privateKey, pub } = await signer(rep('11'));
	assert.equal(pub, SV.sender);
	return cer.sealShare({
		setupHash: '66'.repeat(32), sender: pub, privateKey, recipient: SV.recipient, value: 5n,
		eph: rep('33'), nonce: unhex('44'.repeat(12)),
	});
}

test('sealed share vector: ephemeral key, AES key, ciphertext and tag byte for byte; signed by the sender', async () => {
	const { share, aesKey } = await vectorShare();
	assert.equal(cer.publicOf(rep('22')), SV.recipient);
	assert.equal(share.ephemeral, SV.ephemeral);
	assert.equal(aesKey, SV.aesKey);
	assert.equal(share.ciphertext, SV.ciphertext);
	assert.equal(share.tag, SV.tag);
	assert.equal(share.nonce, '44'.repeat(12));
	assert.deepEqual(Object.keys(share).sort(), ['ciphertext', 'ephemeral', 'nonce', 'recipient', 'sender', 'setup_hash', 'signature', 'tag']);
	assert.ok(await cv.verify(SV.sender, share.signature, cer.sealedMessage(share)));
});

test('the recipient opens the vector share to 5; a tampered, readdressed or unsigned one is refused', async () => {
	const { share } = await vectorShare();
	const ecdh = await cer.ecdhKeyOf(rep('22'));
	assert.deepEqual(await cer.openShare(share, SV.recipient, ecdh), { ok: true, value: 5n, problem: null });
	assert.equal((await cer.openShare(share, SV.sender, ecdh)).problem, 'not_mine');
	const flip = (h) => (h.startsWith('00') ? '01' : '00') + h.slice(2);
	// a changed tag: the sender's signature fails first; re-signed by the sender, the tag fails
	const { privateKey } = await signer(rep('11'));
	const resign = async (sh) => ({ ...sh, signature: hex(await cv.sign(privateKey, cer.sealedMessage(sh))) });
	assert.equal((await cer.openShare({ ...share, tag: flip(share.tag) }, SV.recipient, ecdh)).problem, 'bad_signature');
	assert.equal((await cer.openShare(await resign({ ...share, tag: flip(share.tag) }), SV.recipient, ecdh)).problem, 'sealed_open');
	// moved to another ceremony: the key (HKDF info) differs, so the tag fails
	assert.equal((await cer.openShare(await resign({ ...share, setup_hash: '77'.repeat(32) }), SV.recipient, ecdh)).problem, 'sealed_open');
	assert.equal((await cer.openShare({ ...share, ephemeral: share.ephemeral.slice(0, -2) + '00' }, SV.recipient, ecdh)).problem, 'bad_key');
	assert.equal((await cer.openShare({ ...share, nonce: '44' }, SV.recipient, ecdh)).problem, 'malformed');
	// fresh randomness: a new ephemeral key each time, and it still opens
	const { pub } = await signer(rep('11'));
	const a = await cer.sealShare({ setupHash: '66'.repeat(32), sender: pub, privateKey, recipient: SV.recipient, value: cer.polyEval([7n, 9n], 2) });
	const b = await cer.sealShare({ setupHash: '66'.repeat(32), sender: pub, privateKey, recipient: SV.recipient, value: 25n });
	assert.notEqual(a.share.ephemeral, b.share.ephemeral);
	assert.equal((await cer.openShare(a.share, SV.recipient, ecdh)).value, 25n);
});

test('a check: its signed bytes, a confirmation and a complaint', async () => {
	const { privateKey, pub } = await signer(rep('22'));
	for (const good of [true, false]) {
		const c = await cer.makeCheck({ setupHash: '66'.repeat(32), trustee: pub, sender: SV.sender, good, privateKey });
		const msg = concat(new TextEncoder().encode('chainvote/ceremony-check/1'), unhex('66'.repeat(32)), unhex(pub), unhex(SV.sender), Uint8Array.of(good ? 1 : 0));
		assert.deepEqual(cer.checkMessage(c), msg);
		assert.ok(await cv.verify(pub, c.signature, msg));
		assert.equal(c.good, good);
	}
});

test('the trustee files: the formats of `chainvote trustee`, read back; damaged ones refused', () => {
	const coeffs = keys.trustee_polynomials['1'].map(big);
	const me = comp.dkg[0].validator_key;
	const sf = cer.secretFile(comp.setup_hash, me, coeffs);
	assert.deepEqual(Object.keys(sf), ['format', 'setup_hash', 'validator_key', 'coefficients']);
	const back = cer.readTrusteeFile(JSON.stringify(sf));
	assert.equal(back.kind, 'secret');
	assert.deepEqual(back.coefficients, coeffs);
	const s = big(keys.trustee_shares['1']);
	const shf = cer.shareFile(comp.setup_hash, me, 1, s);
	assert.equal(shf.trustee_key, comp.trustee_keys[0].K_j);
	const sb = cer.readTrusteeFile(JSON.stringify(shf));
	assert.equal(sb.kind, 'share');
	assert.equal(sb.share, s);
	assert.throws(() => cer.readTrusteeFile('{'), /not JSON/);
	assert.throws(() => cer.readTrusteeFile(JSON.stringify({ ...sf, format: 'chainvote-key/1' })), /not a trustee file/);
	assert.throws(() => cer.readTrusteeFile(JSON.stringify({ ...sf, coefficients: [comp.curve.n, sf.coefficients[1]] })), /not a scalar/);
	assert.throws(() => cer.readTrusteeFile(JSON.stringify({ ...shf, trustee_key: comp.points.G })), /trustee key/);
});
