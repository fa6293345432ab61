// Checks the page's secret-ballot module (www/js/ballot.js, on the vendored @noble/curves)
// against the secret-ballot vectors byte for byte: ballot 0 of block 1 made again from its
// fixed randomness (every A_i, B_i, a0/b0/a1/b1, challenge, c/v, the sum proof, payload,
// txid), the election key from the genesis, the verifier on every ballot of the vector
// chain and on the invalid variants, and the Benaloh opening. VECTORS names the vectors
// directory (its secret/ subdirectory is read).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

import { p256 } from '../../www/vendor/noble-curves/nist.js';
import * as bal from '../../www/js/ballot.js';
import * as cv from '../../www/js/crypto.js';
import { hex, unhex } from '../../www/js/encode.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const vectors = path.join(process.env.VECTORS || path.join(here, '../../../shared/vectors'), 'secret');
const read = (f) => JSON.parse(readFileSync(path.join(vectors, f), 'utf8'));
const comp = read('components.json');
const chain = read('chain.json');
const keys = read('keys.json');
const invalid = read('invalid-chains.json');
const genesis = chain.blocks[0];
const b0 = comp.ballot0;
const K = comp.election_key_K;
const big = (h) => BigInt('0x' + h);
const k = genesis.candidates.length;
const ballotsOf = (c) => c.blocks.slice(1).flatMap((b) => b.votes || []);

// ballot 0 as the page makes it, from the vectors' randomness
function remake() {
	const cts = b0.ciphertexts;
	return bal.makeBallot({
		K, electionId: b0.election_id, voterKey: b0.voter_key, timestamp: b0.timestamp, k: cts.length,
		choice: cts.findIndex((c) => c.m === 1),
		rand: {
			r: cts.map((c) => big(c.r)), w: cts.map((c) => big(c.w)),
			sim_c: cts.map((c) => big(c.simulated_c)), sim_v: cts.map((c) => big(c.simulated_v)),
			sum_w: big(b0.sum_proof.w),
		},
	});
}

// the same ballot in the vector chain (block 1, first leaf)
const chainBallot0 = chain.blocks[1].votes[0];

test('curve points: G, 2G, 3G, (n-1)G, G+2G', () => {
	const G = p256.Point.BASE;
	assert.equal(hex(bal.pointBytes(G)), comp.points.G);
	assert.equal(hex(bal.pointBytes(G.multiply(2n))), comp.points['2G']);
	assert.equal(hex(bal.pointBytes(G.multiply(bal.N - 1n))), comp.points['(n-1)G']);
	assert.equal(hex(bal.pointBytes(G.add(G.multiply(2n)))), comp.points['G+2G']);
	assert.equal(bal.N, big(comp.curve.n));
});

test('Hs example', () => {
	const e = comp.hs_example;
	assert.equal(hex(bal.scalarBytes(bal.hs(e.tag, ...e.parts_hex.map((p) => unhex(p))))), e.value);
});

test('election key K = Σ C_j,0 from the genesis JSON', () => {
	assert.equal(bal.electionKey(genesis), K);
});

test('points received: not 04, off the curve, wrong length, all refused', () => {
	const G = comp.points.G;
	assert.throws(() => bal.pointFrom('02' + G.slice(2, 66)));
	assert.throws(() => bal.pointFrom(G.slice(0, -2) + (G.slice(-2) === '00' ? '01' : '00')));
	assert.throws(() => bal.pointFrom('04' + '00'.repeat(64)));
	assert.throws(() => bal.pointFrom(G + '00'));
	assert.throws(() => bal.scalarFrom(comp.curve.n));
	assert.equal(bal.scalarFrom('00'.repeat(32)), 0n);
});

test('ballot 0: every ciphertext and 0/1 proof byte for byte', () => {
	const made = remake();
	b0.ciphertexts.forEach((c, i) => {
		assert.equal(made.ballot.ciphertexts[i].a, c.A, `A_${i}`);
		assert.equal(made.ballot.ciphertexts[i].b, c.B, `B_${i}`);
		for (const f of ['c0', 'v0', 'c1', 'v1']) assert.equal(made.ballot.proofs[i][f], c[f], `${f}_${i}`);
		assert.equal(made.opening[i].r, c.r);
		assert.equal(made.opening[i].m, c.m);
	});
});

test('ballot 0: a0/b0/a1/b1 and each challenge recompute from the proof', () => {
	const Kp = bal.pointFrom(K);
	const G = p256.Point.BASE;
	const eid = unhex(b0.election_id);
	const vk = unhex(b0.voter_key);
	b0.ciphertexts.forEach((c, i) => {
		const A = bal.pointFrom(c.A);
		const B = bal.pointFrom(c.B);
		const [c0, v0, c1, v1] = [c.c0, c.v0, c.c1, c.v1].map(big);
		const a0 = G.multiply(v0).add(A.multiply(c0));
		const b0p = Kp.multiply(v0).add(B.multiply(c0));
		const a1 = G.multiply(v1).add(A.multiply(c1));
		const b1 = Kp.multiply(v1).add(B.subtract(G).multiply(c1));
		assert.deepEqual([a0, b0p, a1, b1].map((p) => hex(bal.pointBytes(p))), [c.a0, c.b0, c.a1, c.b1], `position ${i}`);
		const ch = bal.hs('chainvote/ballot-proof/1', eid, vk, Uint8Array.of(0, i), A.toBytes(false), B.toBytes(false),
			...[a0, b0p, a1, b1].map((p) => p.toBytes(false)));
		assert.equal(hex(bal.scalarBytes(ch)), c.challenge);
	});
});

test('ballot 0: sum proof, payload, txid and 6.1 JSON byte for byte', () => {
	const made = remake();
	assert.deepEqual(made.ballot.sum_proof, { c: b0.sum_proof.c, v: b0.sum_proof.v });
	assert.equal(hex(made.payload), b0.payload);
	assert.equal(made.txid, b0.txid);
	assert.equal(made.txid, chainBallot0.txid);
	const { signature, txid, ...unsigned } = chainBallot0;
	assert.deepEqual(made.ballot, unsigned);
	assert.equal(hex(bal.ballotPayload({ ...made.ballot, signature })) + signature, b0.leaf);
});

test('ballot 0: the vector signature verifies over the payload, and RFC 6979 makes it again', async () => {
	const made = remake();
	assert.ok(await cv.verify(b0.voter_key, b0.signature, made.payload));
	const d = keys.voters[b0.voter_key];
	assert.ok(d, 'the voter key is in keys.json');
	// noble makes low-s by default; the vector's s is high: the chain takes either (WebCrypto's form)
	const sig = p256.sign(made.payload, unhex(d), { lowS: false });
	assert.equal(hex(sig), b0.signature);
});

test('a ballot signed with a WebCrypto key verifies under its public key', async () => {
	const key = await cv.generateKey();
	const made = bal.makeBallot({ K, electionId: b0.election_id, voterKey: key.publicHex, timestamp: 1, k: 3, choice: 2 });
	const signed = await bal.signBallot(made, key.privateKey);
	assert.equal(signed.signature.length, 128);
	assert.ok(await cv.verify(key.publicHex, signed.signature, bal.ballotPayload(signed)));
	assert.ok(bal.verifyBallot(signed, K, 3).ok);
});

test('the verifier accepts every ballot of the vector chain', () => {
	const all = ballotsOf(chain);
	assert.equal(all.length, 7);
	for (const b of all) {
		assert.deepEqual(bal.verifyBallot(b, K, k), { ok: true, problem: null, position: null });
		assert.equal(bal.ballotTxid(b), b.txid);
	}
});

test('the verifier refuses each invalid variant with its problem code', () => {
	const codes = ['ballot_encrypts_2', 'ballot_two_ones', 'ballot_all_zero', 'ballot_sum_proof_forged',
		'ballot_copied_other_voter', 'ballot_point_off_curve', 'ballot_proofs_swapped', 'ballot_scalar_not_reduced',
		'ballot_wrong_count'];
	const good = new Set(ballotsOf(chain).map((b) => JSON.stringify(b)));
	for (const name of codes) {
		const v = invalid[name];
		const changed = ballotsOf(v.chain).filter((b) => !good.has(JSON.stringify(b)));
		assert.ok(changed.length >= 1, `${name}: a changed ballot`);
		const got = changed.map((b) => bal.verifyBallot(b, K, k));
		assert.ok(got.some((g) => !g.ok && v.expect.includes(g.problem)), `${name}: ${JSON.stringify(got)} vs ${v.expect}`);
	}
});

test('fresh ballots for each choice verify, and the opening names the choice', () => {
	const cands = genesis.candidates;
	for (let choice = 0; choice < k; choice++) {
		const made = bal.makeBallot({ K, electionId: b0.election_id, voterKey: b0.voter_key, timestamp: 5, k, choice });
		assert.ok(bal.verifyBallot(made.ballot, K, k).ok);
		const o = bal.checkOpening(made.ballot, K, made.opening, cands);
		assert.ok(o.ok, o.problems.join(' '));
		assert.equal(o.position, choice);
		assert.equal(o.candidate.id, cands[choice].id);
		assert.equal(o.fingerprint, made.txid);
	}
});

test('an opening that claims another choice, or a wrong r, fails', () => {
	const cands = genesis.candidates;
	const made = bal.makeBallot({ K, electionId: b0.election_id, voterKey: b0.voter_key, timestamp: 5, k, choice: 0 });
	const lie = made.opening.map((o, i) => ({ ...o, m: i === 1 ? 1 : 0 }));
	assert.equal(bal.checkOpening(made.ballot, K, lie, cands).ok, false);
	const wrongR = made.opening.map((o, i) => (i === 0 ? { ...o, r: made.opening[1].r } : o));
	assert.equal(bal.checkOpening(made.ballot, K, wrongR, cands).ok, false);
	const otherK = comp.points['2G'];
	assert.equal(bal.checkOpening(made.ballot, otherK, made.opening, cands).ok, false);
});

test('the challenge file carries the unsigned ballot, the opening and the fingerprint', () => {
	const cands = genesis.candidates;
	const made = bal.makeBallot({ K, electionId: b0.election_id, voterKey: b0.voter_key, timestamp: 5, k, choice: 1 });
	const f = bal.challengeFile(made, K, cands, cands[1].id);
	assert.equal(f.format, 'chainvote-challenge/1');
	assert.equal(f.ballot.signature, undefined);
	assert.equal(f.fingerprint, bal.ballotTxid(f.ballot));
	assert.equal(bal.checkOpening(f.ballot, f.election_key, f.opening, f.candidates).candidate.id, f.choice);
});
