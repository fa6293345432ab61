// Secret ballots in the page (DESIGN section 6): a choice encrypted under the election key
// K with its 0/1 proofs and sum proof, the payload, txid and 6.1 JSON; the verifier of
// those proofs; and the Benaloh challenge (6.2): a prepared ballot opened with its
// randomness says which choice it encrypts. P-256 is @noble/curves (www/vendor/), every
// scalar a BigInt mod n. lib/chain/secret.c is the same construction in C; the vectors
// (vectors/secret/components.json) hold both to the same bytes.

import { p256 } from '../vendor/noble-curves/nist.js';
import { sha256 } from '../vendor/noble-hashes/sha2.js';
import { hex, unhex, concat, tag, u16, u64, readUint, isHex, sealLeaf, changeLeaf, HASH_LEN, KEY_LEN, SIG_LEN } from './encode.js';
import { sign } from './crypto.js';

const Point = p256.Point;
const G = Point.BASE;
export const N = Point.Fn.ORDER;
export const POINT_LEN = 65;
export const SCALAR_LEN = 32;
export const CHALLENGE_FORMAT = 'chainvote-challenge/1';

const TAG_BALLOT = 'chainvote/ballot/1';
const TAG_PROOF = 'chainvote/ballot-proof/1';
const TAG_SUM = 'chainvote/ballot-sum/1';
const TAG_DECRYPTION = 'chainvote/decryption/1';

// A received point: exactly 65 bytes 04||X||Y on the curve (noble checks X, Y < p and the
// equation; the 04 test keeps out the compressed forms it would also take). The identity
// has no encoding, so it never passes.
export function pointFrom(value) {
	const bytes = typeof value === 'string' ? unhex(value, POINT_LEN) : value;
	if (bytes.length !== POINT_LEN || bytes[0] !== 4) throw new RangeError('not an uncompressed P-256 point');
	const P = Point.fromBytes(bytes);
	if (P.equals(Point.ZERO)) throw new RangeError('the identity is not a point here');
	return P;
}

// The 65 bytes of P. Throws for the identity: a proof that would hash or encode it is
// invalid (the verifier) or is made again with new randomness (the prover).
export function pointBytes(P) {
	if (P.equals(Point.ZERO)) throw new IdentityError();
	return P.toBytes(false);
}

class IdentityError extends Error {
	constructor() {
		super('the identity cannot be encoded');
	}
}

export function scalarBytes(s) {
	const out = new Uint8Array(SCALAR_LEN);
	let v = s;
	for (let i = SCALAR_LEN - 1; i >= 0; i--) {
		out[i] = Number(v & 0xffn);
		v >>= 8n;
	}
	return out;
}

// A received scalar: 32 bytes big-endian, < n (0 is a scalar).
export function scalarFrom(value) {
	const bytes = typeof value === 'string' ? unhex(value, SCALAR_LEN) : value;
	if (bytes.length !== SCALAR_LEN) throw new RangeError('a scalar is 32 bytes');
	const s = readUint(bytes, 0, SCALAR_LEN);
	if (s >= N) throw new RangeError('scalar not below the group order');
	return s;
}

const mod = (a) => ((a % N) + N) % N;

// Hs(tag, parts…) = int(SHA-256(tag || parts…)) mod n.
export function hs(tagText, ...parts) {
	return mod(readUint(sha256(concat(tag(tagText), ...parts)), 0, HASH_LEN));
}

// A uniform secret scalar in [1, n) from the browser's CSPRNG, by rejection.
export function randomScalar() {
	const buf = new Uint8Array(SCALAR_LEN);
	for (;;) {
		globalThis.crypto.getRandomValues(buf);
		const s = readUint(buf, 0, SCALAR_LEN);
		if (s !== 0n && s < N) return s;
	}
}

// s·P + t·Q for public scalars (verifier; either may be 0).
const lin = (s, P, t, Q) => P.multiplyUnsafe(s).add(Q.multiplyUnsafe(t));

// The election key from a secret genesis's JSON: K = Σ_j C_{j,0}.
export function electionKey(genesis) {
	const trustees = genesis && genesis.secrecy && genesis.secrecy.trustees;
	if (!Array.isArray(trustees) || trustees.length === 0) throw new Error('the genesis has no trustees');
	let K = Point.ZERO;
	for (const t of trustees) K = K.add(pointFrom(t.commitments[0]));
	return hex(pointBytes(K));
}

// The payload of a ballot in its 6.1 JSON form.
export function ballotPayload(b) {
	const k = b.ciphertexts.length;
	if (!Array.isArray(b.proofs) || b.proofs.length !== k) throw new RangeError('one proof per ciphertext');
	const parts = [tag(TAG_BALLOT), unhex(b.election_id, HASH_LEN), unhex(b.voter_key, KEY_LEN), u64(b.timestamp), u16(k)];
	for (const ct of b.ciphertexts) parts.push(unhex(ct.a, POINT_LEN), unhex(ct.b, POINT_LEN));
	for (const p of b.proofs)
		parts.push(unhex(p.c0, SCALAR_LEN), unhex(p.v0, SCALAR_LEN), unhex(p.c1, SCALAR_LEN), unhex(p.v1, SCALAR_LEN));
	parts.push(unhex(b.sum_proof.c, SCALAR_LEN), unhex(b.sum_proof.v, SCALAR_LEN));
	return concat(...parts);
}

// A ballot's merkle leaf: payload || signature.
export function ballotLeaf(b) {
	return concat(ballotPayload(b), unhex(b.signature, SIG_LEN));
}

// The payload of a trustee's decryption share in its 6.1 JSON form.
export function decryptionPayload(d) {
	if (!Array.isArray(d.shares)) throw new RangeError('a share needs its shares');
	const parts = [tag(TAG_DECRYPTION), unhex(d.election_id, HASH_LEN), unhex(d.validator_key, KEY_LEN),
		u64(d.through_height), u16(d.shares.length)];
	for (const s of d.shares) parts.push(unhex(s.d, POINT_LEN), unhex(s.c, SCALAR_LEN), unhex(s.v, SCALAR_LEN));
	return concat(...parts);
}

// A decryption share's merkle leaf: payload || signature.
export function decryptionLeaf(d) {
	return concat(decryptionPayload(d), unhex(d.signature, SIG_LEN));
}

// A secret election's block leaves (height ≥ 1, DESIGN 6.1): its ballots ("votes"), then
// its decryption shares, then the seal's leaf, then a change's (docs/GOVERNANCE.md).
export function secretLeaves(block) {
	const leaves = (Array.isArray(block.votes) ? block.votes : []).map(ballotLeaf);
	for (const d of Array.isArray(block.decryptions) ? block.decryptions : []) leaves.push(decryptionLeaf(d));
	if (block.seal) leaves.push(sealLeaf(block.seal));
	if (block.change) leaves.push(changeLeaf(block.change));
	return leaves;
}

// The txid, which the page shows as the ballot's fingerprint before the voter decides.
export function ballotTxid(b) {
	return hex(sha256(ballotPayload(b)));
}

function proofChallenge(eid, vkey, i, pts) {
	return hs(TAG_PROOF, eid, vkey, u16(i), ...pts.map(pointBytes));
}

function sumChallenge(eid, vkey, pts) {
	return hs(TAG_SUM, eid, vkey, ...pts.map(pointBytes));
}

// The simulated (or checked) branch m' of position i's proof: a = v·G + c·A,
// b = v·K + c·(B − m'·G).
function branch(A, B, K, m, c, v) {
	const X = m ? B.subtract(G) : B;
	return [lin(v, G, c, A), lin(v, K, c, X)];
}

function makeOnce({ K, eid, vkey, timestamp, k, choice, rand }) {
	const Kp = pointFrom(K);
	const cts = [];
	const proofs = [];
	const r = [];
	let As = Point.ZERO;
	let Bs = Point.ZERO;
	let R = 0n;
	for (let i = 0; i < k; i++) {
		const m = i === choice ? 1 : 0;
		const ri = rand ? rand.r[i] : randomScalar();
		const w = rand ? rand.w[i] : randomScalar();
		const cSim = rand ? rand.sim_c[i] : randomScalar();
		const vSim = rand ? rand.sim_v[i] : randomScalar();
		const A = G.multiply(ri);
		const B = m ? Kp.multiply(ri).add(G) : Kp.multiply(ri);
		const real = [G.multiply(w), Kp.multiply(w)];
		const sim = branch(A, B, Kp, 1 - m, cSim, vSim);
		const [a0, b0, a1, b1] = m ? [...sim, ...real] : [...real, ...sim];
		const c = proofChallenge(eid, vkey, i, [A, B, a0, b0, a1, b1]);
		const cReal = mod(c - cSim);
		const vReal = mod(w - cReal * ri);
		const [c0, v0, c1, v1] = m ? [cSim, vSim, cReal, vReal] : [cReal, vReal, cSim, vSim];
		cts.push({ a: hex(pointBytes(A)), b: hex(pointBytes(B)) });
		proofs.push({ c0: hex(scalarBytes(c0)), v0: hex(scalarBytes(v0)), c1: hex(scalarBytes(c1)), v1: hex(scalarBytes(v1)) });
		r.push(ri);
		As = As.add(A);
		Bs = Bs.add(B);
		R = mod(R + ri);
	}
	const w = rand ? rand.sum_w : randomScalar();
	const a = G.multiply(w);
	const b = Kp.multiply(w);
	const cs = sumChallenge(eid, vkey, [As, Bs, a, b]);
	const vs = mod(w - cs * R);
	return {
		ciphertexts: cts,
		proofs,
		sum_proof: { c: hex(scalarBytes(cs)), v: hex(scalarBytes(vs)) },
		r,
	};
}

// Encrypts the choice (position `choice` among k, the candidates in ascending id order)
// under K (hex) and proves it. rand (tests only): fixed randomness {r, w, sim_c, sim_v:
// arrays of k BigInts; sum_w} as in the vectors; otherwise every value is fresh.
// Returns {ballot (6.1 JSON without signature), payload, txid, opening: [{r, m}…] (hex r,
// m 0 or 1: what a challenge reveals)}.
export function makeBallot({ K, electionId, voterKey, timestamp, k, choice, rand = null }) {
	if (!Number.isInteger(k) || k < 1 || k > 1024) throw new RangeError('k must be 1 … 1024');
	if (!Number.isInteger(choice) || choice < 0 || choice >= k) throw new RangeError('choice out of range');
	if (!isHex(electionId, HASH_LEN) || !isHex(voterKey, KEY_LEN)) throw new TypeError('election id or voter key');
	const eid = unhex(electionId, HASH_LEN);
	const vkey = unhex(voterKey, KEY_LEN);
	for (;;) {
		let made;
		try {
			made = makeOnce({ K, eid, vkey, timestamp, k, choice, rand });
		} catch (e) {
			// met the identity: negligible, and only new randomness helps
			if (e instanceof IdentityError && !rand) continue;
			throw e;
		}
		const ballot = {
			election_id: electionId.toLowerCase(),
			voter_key: voterKey.toLowerCase(),
			timestamp,
			ciphertexts: made.ciphertexts,
			proofs: made.proofs,
			sum_proof: made.sum_proof,
		};
		const payload = ballotPayload(ballot);
		const opening = made.r.map((ri, i) => ({ r: hex(scalarBytes(ri)), m: i === choice ? 1 : 0 }));
		return { ballot, payload, txid: hex(sha256(payload)), opening };
	}
}

// Signs a prepared ballot with the voter's (non-extractable) WebCrypto key: the 64-byte
// r||s signature of the payload, as votes are signed. Returns the 6.1 JSON with it.
export async function signBallot(prepared, privateKey) {
	return { ...prepared.ballot, signature: hex(await sign(privateKey, prepared.payload)) };
}

// Checks a ballot's points, scalars, 0/1 proofs and sum proof against K (hex) for k
// candidates (not its signature or the roll and time rules). Returns {ok, problem,
// position}: problem one of ballot_count, ballot_point, ballot_scalar, ballot_proof,
// ballot_sum_proof, malformed (the codes of cv_ballot_verify), position the one at fault.
export function verifyBallot(b, K, k) {
	const fail = (problem, position = null) => ({ ok: false, problem, position });
	let eid, vkey, Kp;
	try {
		eid = unhex(b.election_id, HASH_LEN);
		vkey = unhex(b.voter_key, KEY_LEN);
		Kp = pointFrom(K);
		ballotPayload(b);
	} catch {
		return fail('malformed');
	}
	if (b.ciphertexts.length !== k) return fail('ballot_count');
	const pts = [];
	const sc = [];
	for (let i = 0; i < k; i++) {
		try {
			pts.push([pointFrom(b.ciphertexts[i].a), pointFrom(b.ciphertexts[i].b)]);
		} catch {
			return fail('ballot_point', i);
		}
		try {
			const p = b.proofs[i];
			sc.push([scalarFrom(p.c0), scalarFrom(p.v0), scalarFrom(p.c1), scalarFrom(p.v1)]);
		} catch {
			return fail('ballot_scalar', i);
		}
	}
	let cs, vs;
	try {
		cs = scalarFrom(b.sum_proof.c);
		vs = scalarFrom(b.sum_proof.v);
	} catch {
		return fail('ballot_scalar');
	}
	let As = Point.ZERO;
	let Bs = Point.ZERO;
	for (let i = 0; i < k; i++) {
		const [A, B] = pts[i];
		const [c0, v0, c1, v1] = sc[i];
		try {
			const c = proofChallenge(eid, vkey, i, [A, B, ...branch(A, B, Kp, 0, c0, v0), ...branch(A, B, Kp, 1, c1, v1)]);
			if (mod(c0 + c1) !== c) return fail('ballot_proof', i);
		} catch {
			return fail('ballot_proof', i);
		}
		As = As.add(A);
		Bs = Bs.add(B);
	}
	try {
		if (sumChallenge(eid, vkey, [As, Bs, ...branch(As, Bs, Kp, 1, cs, vs)]) !== cs) return fail('ballot_sum_proof');
	} catch {
		return fail('ballot_sum_proof');
	}
	return { ok: true, problem: null, position: null };
}

// The Benaloh challenge: opens a prepared ballot with its revealed randomness. For each
// position, A_i = r_i·G and B_i = m_i·G + r_i·K must hold with m_i 0 or 1, exactly one
// m_i is 1, and the proofs must verify. candidates: [{id, name}…] in ascending id order
// (positions). Returns {ok, problems: [text…], fingerprint (txid hex), position, candidate}.
export function checkOpening(b, K, opening, candidates) {
	const problems = [];
	let fingerprint = null;
	try {
		fingerprint = ballotTxid(b);
	} catch {
		problems.push('The ballot is malformed.');
		return { ok: false, problems, fingerprint, position: null, candidate: null };
	}
	const k = candidates.length;
	const v = verifyBallot(b, K, k);
	if (!v.ok) problems.push(`The ballot's proofs do not verify (${v.problem}${v.position === null ? '' : ' at position ' + v.position}).`);
	if (!Array.isArray(opening) || opening.length !== k || b.ciphertexts.length !== k) {
		problems.push(`The opening does not have ${k} positions.`);
		return { ok: false, problems, fingerprint, position: null, candidate: null };
	}
	let Kp;
	try {
		Kp = pointFrom(K);
	} catch {
		problems.push('The election key is not a point.');
		return { ok: false, problems, fingerprint, position: null, candidate: null };
	}
	const ones = [];
	for (let i = 0; i < k; i++) {
		const { r, m } = opening[i] || {};
		let ri;
		try {
			ri = scalarFrom(r);
			if (ri === 0n) throw new RangeError('zero');
		} catch {
			problems.push(`Position ${i}: r is not a scalar in [1, n).`);
			continue;
		}
		if (m !== 0 && m !== 1) {
			problems.push(`Position ${i}: m is not 0 or 1.`);
			continue;
		}
		if (m === 1) ones.push(i);
		const A = G.multiply(ri);
		const B = m ? Kp.multiply(ri).add(G) : Kp.multiply(ri);
		if (hex(A.toBytes(false)) !== String(b.ciphertexts[i].a).toLowerCase() ||
			hex(B.toBytes(false)) !== String(b.ciphertexts[i].b).toLowerCase())
			problems.push(`Position ${i}: the ciphertext is not the encryption of ${m} with this r.`);
	}
	if (ones.length !== 1) problems.push(`The opening chooses ${ones.length} candidates, not one.`);
	const position = ones.length === 1 ? ones[0] : null;
	const ok = problems.length === 0;
	return { ok, problems, fingerprint, position, candidate: ok ? candidates[position] : null };
}

// The challenge file a voter takes to a second device (`chainvote check-ballot FILE`,
// docs/SECRET.md): the spoiled ballot (never signed), what it was said to encrypt, and its
// randomness.
export function challengeFile(prepared, K, candidates, choiceId) {
	return {
		format: CHALLENGE_FORMAT,
		election_key: K.toLowerCase(),
		candidates: candidates.map((c) => ({ id: c.id, name: c.name })),
		choice: choiceId,
		fingerprint: prepared.txid,
		ballot: prepared.ballot,
		opening: prepared.opening,
	};
}
