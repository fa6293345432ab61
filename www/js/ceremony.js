// A trustee's side of a secret election in the page (DESIGN section 6, 6.2; docs/SECRET.md
// "The key ceremony in the service"): the secret polynomial, the trustee entry with its
// proofs, the sealed shares (ECDH P-256 + HKDF-SHA256 + AES-256-GCM in WebCrypto, the
// bytes of lib/chain/sealed.c), the checks of received shares against their senders'
// commitments, s_j and K_j, and the decryption share with its Chaum-Pedersen proofs over
// an aggregate α read from a chain this module checks. The point and scalar rules are
// ballot.js's; lib/chain/secret.c and sealed.c are the same constructions in C, and the
// vectors (vectors/secret/components.json, the sealed-share vector of docs/SECRET.md)
// hold both to the same bytes. Secret scalars are BigInts: JavaScript gives no constant
// time, as for the ballot prover.

import { p256 } from '../vendor/noble-curves/nist.js';
import { sha256 } from '../vendor/noble-hashes/sha2.js';
import {
	hex, unhex, concat, tag, u8, u16, u64, isHex, HASH_LEN, KEY_LEN, SIG_LEN,
	electionEntry, candidateEntry, validatorEntry, voterEntry,
} from './encode.js';
import { sign, verify, jwkFromHex, leadingZeroBits } from './crypto.js';
import { N, POINT_LEN, SCALAR_LEN, pointFrom, pointBytes, scalarBytes, scalarFrom, hs, randomScalar, decryptionPayload, secretLeaves } from './ballot.js';
import { root } from './merkle.js';
import { blockHash, checkApprovals } from './verify.js';

const Point = p256.Point;
const G = Point.BASE;
const subtle = globalThis.crypto.subtle;

export const SECRET_FORMAT = 'chainvote-trustee-secret/1';
export const SHARE_FORMAT = 'chainvote-trustee-share/1';
export const NONCE_LEN = 12;
export const TAG_LEN = 16;
export const MAX_QUORUM = 255;

const TAG_TRUSTEE = 'chainvote/trustee/1';
const TAG_TRUSTEE_PROOF = 'chainvote/trustee-proof/1';
const TAG_SECRECY = 'chainvote/secrecy/1';
const TAG_SEALED = 'chainvote/sealed-share/1';
const TAG_SHARE_POST = 'chainvote/ceremony-share/1';
const TAG_SHARE_CHECK = 'chainvote/ceremony-check/1';
const TAG_DECRYPTION_PROOF = 'chainvote/decryption-proof/1';

const mod = (a) => ((a % N) + N) % N;

// ---- the setup a trustee signs for ----

// setup_hash = H(election entry || candidate entries || validator entries), in genesis
// order (candidates by ascending id, validators by ascending key), from the fields GET
// /api/election (or a genesis's "election") states. Returns hex.
export function setupHash(election, candidates, validators) {
	const cands = [...candidates].sort((a, b) => a.id - b.id);
	const vals = [...validators].sort((a, b) => (a.key.toLowerCase() < b.key.toLowerCase() ? -1 : 1));
	return hex(sha256(concat(electionEntry(election), ...cands.map(candidateEntry), ...vals.map(validatorEntry))));
}

// ---- the polynomial and the trustee entry ----

// quorum fresh coefficients a_0 … a_{quorum−1}, each uniform in [1, n).
export function drawPolynomial(quorum) {
	if (!Number.isInteger(quorum) || quorum < 2 || quorum > MAX_QUORUM) throw new RangeError('quorum must be 2 … 255');
	return Array.from({ length: quorum }, randomScalar);
}

// P(x) = Σ_k a_k·x^k mod n, by Horner's rule.
export function polyEval(coefficients, x) {
	const xb = BigInt(x);
	let acc = 0n;
	for (let k = coefficients.length - 1; k >= 0; k--) acc = mod(acc * xb + coefficients[k]);
	return acc;
}

// The bytes of a trustee entry (its JSON) before the signature; throws for a malformed one.
export function trusteeEntryBody(t) {
	const q = Array.isArray(t.commitments) ? t.commitments.length : 0;
	if (q < 1 || q > MAX_QUORUM || !Array.isArray(t.proofs) || t.proofs.length !== q)
		throw new RangeError('one proof per commitment');
	return concat(tag(TAG_TRUSTEE), unhex(t.setup_hash, HASH_LEN), unhex(t.validator_key, KEY_LEN), u8(q),
		...t.commitments.map((C) => unhex(C, POINT_LEN)),
		...t.proofs.flatMap((p) => [unhex(p.c, SCALAR_LEN), unhex(p.v, SCALAR_LEN)]));
}

// The genesis leaf of a trustee entry: its body and signature.
export function trusteeEntryBytes(t) {
	return concat(trusteeEntryBody(t), unhex(t.signature, SIG_LEN));
}

function proofChallenge(setup, key, k, C, h) {
	return hs(TAG_TRUSTEE_PROOF, setup, key, u8(k), pointBytes(C), pointBytes(h));
}

// The trustee entry for coefficients (BigInts) under setupHash and this validator key
// (hex), without its signature: commitments C_k = a_k·G and the proofs of knowledge
// (h = u·G, c_k = Hs(…), v_k = u − c_k·a_k). nonces (tests only): the u_k.
export function makeTrusteeEntry({ setupHash: setupHex, validatorKey, coefficients, nonces = null }) {
	if (!isHex(setupHex, HASH_LEN) || !isHex(validatorKey, KEY_LEN)) throw new TypeError('setup_hash or validator key');
	const setup = unhex(setupHex, HASH_LEN);
	const key = unhex(validatorKey, KEY_LEN);
	const commitments = [];
	const proofs = [];
	coefficients.forEach((a, k) => {
		const C = G.multiply(a);
		const u = nonces ? nonces[k] : randomScalar();
		const c = proofChallenge(setup, key, k, C, G.multiply(u));
		commitments.push(hex(pointBytes(C)));
		proofs.push({ c: hex(scalarBytes(c)), v: hex(scalarBytes(mod(u - c * a))) });
	});
	return { setup_hash: setupHex.toLowerCase(), validator_key: validatorKey.toLowerCase(), commitments, proofs };
}

// The entry signed with the validator's WebCrypto key (64-byte r||s over its body).
export async function signTrusteeEntry(entry, privateKey) {
	return { ...entry, signature: hex(await sign(privateKey, trusteeEntryBody(entry))) };
}

// Checks a trustee entry's commitments, proofs and signature. Returns {ok, problem}:
// problem one of malformed, trustee_setup_hash (setupHex given and not the entry's),
// bad_key (a commitment is no point), trustee_proof, trustee_signature.
export async function verifyTrusteeEntry(t, setupHex = null) {
	let body;
	try {
		body = trusteeEntryBody(t);
	} catch {
		return { ok: false, problem: 'malformed' };
	}
	if (setupHex && t.setup_hash.toLowerCase() !== setupHex.toLowerCase()) return { ok: false, problem: 'trustee_setup_hash' };
	const setup = unhex(t.setup_hash, HASH_LEN);
	const key = unhex(t.validator_key, KEY_LEN);
	for (let k = 0; k < t.commitments.length; k++) {
		let C, c, v;
		try {
			C = pointFrom(t.commitments[k]);
			c = scalarFrom(t.proofs[k].c);
			v = scalarFrom(t.proofs[k].v);
		} catch {
			return { ok: false, problem: 'bad_key' };
		}
		try {
			if (proofChallenge(setup, key, k, C, G.multiplyUnsafe(v).add(C.multiplyUnsafe(c))) !== c)
				return { ok: false, problem: 'trustee_proof' };
		} catch {
			return { ok: false, problem: 'trustee_proof' };
		}
	}
	if (!(await verify(t.validator_key, t.signature, body))) return { ok: false, problem: 'trustee_signature' };
	return { ok: true, problem: null };
}

// Σ_k x^k·C_k over one entry's commitments (hex): what P(x)·G must be.
function commitmentAt(commitments, x) {
	const xb = BigInt(x);
	let acc = Point.ZERO;
	let xk = 1n;
	for (const C of commitments) {
		acc = acc.add(pointFrom(C).multiplyUnsafe(xk));
		xk = mod(xk * xb);
	}
	return acc;
}

// Whether value·G = Σ_k x^k·C_k (the sender's commitments, x the recipient's x_j).
export function shareMatches(value, commitments, x) {
	try {
		const want = commitmentAt(commitments, x);
		return value !== 0n ? G.multiply(value).equals(want) : want.equals(Point.ZERO);
	} catch {
		return false;
	}
}

// K_j = Σ_l Σ_k x_j^k·C_{l,k} over every trustee entry: hex.
export function trusteeKey(entries, x) {
	let acc = Point.ZERO;
	for (const t of entries) acc = acc.add(commitmentAt(t.commitments, x));
	return hex(pointBytes(acc));
}

// s_j = P_own(x_j) + Σ_l v_l: this trustee's share of the election secret.
export function combineShares(ownValue, received) {
	return received.reduce((s, v) => mod(s + v), ownValue);
}

// s·G as hex (s·G = K_j is the check that the shares add up).
export function publicOf(s) {
	return hex(pointBytes(G.multiply(s)));
}

// ---- sealed shares (lib/chain/sealed.c) ----

// The bytes the sender signs: tag || setup_hash || sender || recipient || E || nonce || ct || tag.
export function sealedMessage(sh) {
	return concat(tag(TAG_SHARE_POST), unhex(sh.setup_hash, HASH_LEN), unhex(sh.sender, KEY_LEN),
		unhex(sh.recipient, KEY_LEN), unhex(sh.ephemeral, POINT_LEN), unhex(sh.nonce, NONCE_LEN),
		unhex(sh.ciphertext, SCALAR_LEN), unhex(sh.tag, TAG_LEN));
}

const ECDH = { name: 'ECDH', namedCurve: 'P-256' };

// The AES key: HKDF-SHA256(ikm = Z, no salt, info = tag || setup_hash || S || R || E),
// 32 bytes. (An empty salt is HashLen zeros, RFC 5869's "not provided".)
export async function sealedKeyBytes(Z, setup, sender, recipient, E) {
	const ikm = await subtle.importKey('raw', Z, 'HKDF', false, ['deriveBits']);
	const info = concat(tag(TAG_SEALED), setup, sender, recipient, E);
	return new Uint8Array(await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info }, ikm, 256));
}

// Z = the X coordinate of d·P, with d a WebCrypto ECDH private key and P a point (bytes).
async function ecdhX(privateKey, pointRaw) {
	const pub = await subtle.importKey('raw', pointRaw, ECDH, false, []);
	return new Uint8Array(await subtle.deriveBits({ name: 'ECDH', public: pub }, privateKey, 256));
}

// A WebCrypto ECDH private key (non-extractable) for the scalar d (BigInt).
export async function ecdhKeyOf(d) {
	return subtle.importKey('jwk', jwkFromHex(publicOf(d), hex(scalarBytes(d))), ECDH, false, ['deriveBits']);
}

// Seals value (a BigInt < n) from sender (key hex; privateKey its WebCrypto signing key)
// to recipient (key hex) under setupHash, and signs it. eph (BigInt) and nonce (bytes) fix
// the randomness for the test vector; otherwise a fresh ephemeral key pair (WebCrypto) and
// nonce. Returns {share (its JSON), aesKey (hex: the test vector states it)}.
export async function sealShare({ setupHash: setupHex, sender, privateKey, recipient, value, eph = null, nonce = null }) {
	if (typeof value !== 'bigint' || value < 0n || value >= N) throw new RangeError('the value is not a scalar');
	const setup = unhex(setupHex, HASH_LEN);
	const S = unhex(sender, KEY_LEN);
	const R = pointBytes(pointFrom(recipient));
	let ephKey, E;
	if (eph !== null) {
		E = unhex(publicOf(eph), POINT_LEN);
		ephKey = await ecdhKeyOf(eph);
	} else {
		const pair = await subtle.generateKey(ECDH, false, ['deriveBits']);
		ephKey = pair.privateKey;
		E = new Uint8Array(await subtle.exportKey('raw', pair.publicKey));
	}
	const iv = nonce || globalThis.crypto.getRandomValues(new Uint8Array(NONCE_LEN));
	const keyBytes = await sealedKeyBytes(await ecdhX(ephKey, R), setup, S, R, E);
	const aes = await subtle.importKey('raw', keyBytes, 'AES-GCM', false, ['encrypt']);
	const sealed = new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv, tagLength: 128 }, aes, scalarBytes(value)));
	const sh = {
		setup_hash: hex(setup), sender: hex(S), recipient: hex(R), ephemeral: hex(E), nonce: hex(iv),
		ciphertext: hex(sealed.slice(0, SCALAR_LEN)), tag: hex(sealed.slice(SCALAR_LEN)),
	};
	sh.signature = hex(await sign(privateKey, sealedMessage(sh)));
	return { share: sh, aesKey: hex(keyBytes) };
}

// Opens a sealed share addressed to me (key hex) with my WebCrypto ECDH key. Returns
// {ok, value (BigInt) or null, problem}: problem one of malformed, not_mine, bad_key
// (E is no point), bad_signature (the sender's), sealed_open (the tag, or a value ≥ n).
export async function openShare(sh, me, ecdhKey) {
	let setup, S, R, E, iv, body;
	try {
		setup = unhex(sh.setup_hash, HASH_LEN);
		S = unhex(sh.sender, KEY_LEN);
		R = unhex(sh.recipient, KEY_LEN);
		E = unhex(sh.ephemeral, POINT_LEN);
		iv = unhex(sh.nonce, NONCE_LEN);
		body = concat(unhex(sh.ciphertext, SCALAR_LEN), unhex(sh.tag, TAG_LEN));
		sealedMessage(sh);
	} catch {
		return { ok: false, value: null, problem: 'malformed' };
	}
	if (hex(R) !== me.toLowerCase()) return { ok: false, value: null, problem: 'not_mine' };
	try {
		pointFrom(E);
	} catch {
		return { ok: false, value: null, problem: 'bad_key' };
	}
	if (!(await verify(hex(S), sh.signature, sealedMessage(sh)))) return { ok: false, value: null, problem: 'bad_signature' };
	try {
		const keyBytes = await sealedKeyBytes(await ecdhX(ecdhKey, E), setup, S, R, E);
		const aes = await subtle.importKey('raw', keyBytes, 'AES-GCM', false, ['decrypt']);
		const plain = new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv, tagLength: 128 }, aes, body));
		return { ok: true, value: scalarFrom(plain), problem: null };
	} catch {
		return { ok: false, value: null, problem: 'sealed_open' };
	}
}

// ---- checks: a confirmation or a complaint ----

// tag || setup_hash || trustee || sender || u8(good)
export function checkMessage(c) {
	return concat(tag(TAG_SHARE_CHECK), unhex(c.setup_hash, HASH_LEN), unhex(c.trustee, KEY_LEN),
		unhex(c.sender, KEY_LEN), u8(c.good ? 1 : 0));
}

// This trustee's signed verdict on sender's share: its JSON for POST /api/ceremony/checks.
export async function makeCheck({ setupHash: setupHex, trustee, sender, good, privateKey }) {
	const c = { setup_hash: setupHex.toLowerCase(), trustee: trustee.toLowerCase(), sender: sender.toLowerCase(), good: !!good };
	c.signature = hex(await sign(privateKey, checkMessage(c)));
	return c;
}

// ---- the files a trustee keeps (the formats of `chainvote trustee`) ----

export function secretFile(setupHex, validatorKey, coefficients) {
	return {
		format: SECRET_FORMAT, setup_hash: setupHex.toLowerCase(), validator_key: validatorKey.toLowerCase(),
		coefficients: coefficients.map((a) => hex(scalarBytes(a))),
	};
}

export function shareFile(setupHex, validatorKey, x, s) {
	return {
		format: SHARE_FORMAT, setup_hash: setupHex.toLowerCase(), validator_key: validatorKey.toLowerCase(),
		x, share: hex(scalarBytes(s)), trustee_key: publicOf(s),
	};
}

// Reads a trustee file's text: a secret file → {kind: 'secret', setupHash, validatorKey,
// coefficients}; a share file → {kind: 'share', setupHash, validatorKey, x, share,
// trustee_key}. Throws an Error saying what is wrong.
export function readTrusteeFile(textContent) {
	let doc;
	try {
		doc = JSON.parse(textContent);
	} catch {
		throw new Error('The file is not JSON, so it is not a trustee file.');
	}
	const format = doc && typeof doc === 'object' ? doc.format : null;
	if (format !== SECRET_FORMAT && format !== SHARE_FORMAT)
		throw new Error(`The file is not a trustee file ("${SECRET_FORMAT}" or "${SHARE_FORMAT}").`);
	if (!isHex(doc.setup_hash, HASH_LEN) || !isHex(doc.validator_key, KEY_LEN))
		throw new Error('The file\'s setup_hash or validator_key is damaged.');
	const base = { setupHash: doc.setup_hash.toLowerCase(), validatorKey: doc.validator_key.toLowerCase() };
	const scalar = (s) => {
		const v = scalarFrom(s);
		if (v === 0n) throw new RangeError('zero');
		return v;
	};
	if (format === SECRET_FORMAT) {
		const cs = doc.coefficients;
		if (!Array.isArray(cs) || cs.length < 2 || cs.length > MAX_QUORUM) throw new Error('The secret file holds no polynomial.');
		try {
			return { kind: 'secret', ...base, coefficients: cs.map(scalar) };
		} catch {
			throw new Error('A coefficient in the secret file is not a scalar.');
		}
	}
	let share;
	try {
		share = scalar(doc.share);
	} catch {
		throw new Error('The share file\'s share is not a scalar.');
	}
	if (!Number.isInteger(doc.x) || doc.x < 1 || doc.x > MAX_QUORUM) throw new Error('The share file\'s x is not a trustee\'s place.');
	if (publicOf(share) !== String(doc.trustee_key).toLowerCase()) throw new Error('The share file\'s share does not give its trustee key.');
	return { kind: 'share', ...base, x: doc.x, share, trusteeKey: publicOf(share) };
}

// ---- decryption shares ----

// The decryption share of this trustee (share s_j, key K_j hex) over the aggregates α_i
// (hex points, position order): D_i = s_j·α_i with the proof a = w·G, b = w·α_i,
// c = Hs(…), v = w − c·s_j. nonces (tests only): the w_i. Returns {share (6.1 JSON without
// signature), payload, txid}.
export function makeDecryption({ electionId, validatorKey, throughHeight, s, trusteeKey: Kj, alphas, nonces = null }) {
	if (!isHex(electionId, HASH_LEN) || !isHex(validatorKey, KEY_LEN)) throw new TypeError('election id or validator key');
	if (!Number.isSafeInteger(throughHeight) || throughHeight < 1) throw new RangeError('through_height must be ≥ 1');
	const eid = unhex(electionId, HASH_LEN);
	const key = unhex(validatorKey, KEY_LEN);
	const KjBytes = pointBytes(pointFrom(Kj));
	if (publicOf(s) !== hex(KjBytes)) throw new Error('s_j·G is not K_j: this share is not the trustee\'s');
	const shares = alphas.map((alphaHex, i) => {
		const alpha = pointFrom(alphaHex);
		const D = alpha.multiply(s);
		const w = nonces ? nonces[i] : randomScalar();
		const c = hs(TAG_DECRYPTION_PROOF, eid, key, u16(i), KjBytes, pointBytes(alpha), pointBytes(D),
			pointBytes(G.multiply(w)), pointBytes(alpha.multiply(w)));
		return { d: hex(pointBytes(D)), c: hex(scalarBytes(c)), v: hex(scalarBytes(mod(w - c * s))) };
	});
	const share = { election_id: electionId.toLowerCase(), validator_key: validatorKey.toLowerCase(), through_height: throughHeight, shares };
	const payload = decryptionPayload(share);
	return { share, payload, txid: hex(sha256(payload)) };
}

export async function signDecryption(made, privateKey) {
	return { ...made.share, signature: hex(await sign(privateKey, made.payload)) };
}

// ---- the chain a decryption share is computed over ----

// secrecy = tag || u8(quorum) || u8(n_trustees)
export function secrecyEntry(quorum, nTrustees) {
	return concat(tag(TAG_SECRECY), u8(quorum), u8(nTrustees));
}

// A secret genesis's leaves: election, candidates, validators, secrecy, trustees, voters.
export function secretGenesisLeaves(g) {
	const s = g.secrecy;
	return [electionEntry(g.election), ...g.candidates.map(candidateEntry), ...g.validators.map(validatorEntry),
		secrecyEntry(s.quorum, s.trustees.length), ...s.trustees.map(trusteeEntryBytes), ...g.voters.map(voterEntry)];
}

// Whether b's header hashes to its hash, and its merkle root is over leaves.
async function hashesOk(leaves, b) {
	return (await blockHash(b)).hash === String(b.hash).toLowerCase() &&
		hex(await root(leaves)) === String(b.merkle_root).toLowerCase();
}

// What a trustee checks before it decrypts anything: the chain export (its JSON) is the
// election's (genesis hash = genesisHash), the genesis holds this trustee's own signed
// entry and is bound to the setup that entry names (setup_hash recomputed), every block
// up to the seal links to the one before, has its header's hash, its proof of work and
// its merkle root over its leaves, and carries the threshold of genesis validators'
// approvals. Only then are α_i = Σ A_i over blocks 1 … seal − 1 taken from it: a share
// over any other α could decrypt something that is not the sealed tally.
// Returns {ok, problem (words), alphas (hex), throughHeight, genesis, k, ballots}.
export async function sealedAggregate(exportDoc, { genesisHash, me }) {
	const fail = (problem) => ({ ok: false, problem });
	const blocks = exportDoc && Array.isArray(exportDoc.blocks) ? exportDoc.blocks : null;
	if (!blocks || !blocks.length) return fail('the export holds no blocks');
	const g = blocks[0];
	if (!g.secrecy || !Array.isArray(g.secrecy.trustees)) return fail('the genesis is not a secret election\'s');
	if (String(g.hash).toLowerCase() !== String(genesisHash).toLowerCase()) return fail('the genesis is not the election\'s');
	let leaves;
	try {
		leaves = secretGenesisLeaves(g);
	} catch {
		return fail('the genesis is malformed');
	}
	if (!(await hashesOk(leaves, g))) return fail('the genesis hash or merkle root does not match its entries');
	const mine = g.secrecy.trustees.find((t) => String(t.validator_key).toLowerCase() === me.toLowerCase());
	if (!mine) return fail('this key is not one of the genesis\'s trustees');
	if (!(await verifyTrusteeEntry(mine)).ok) return fail('this trustee\'s entry in the genesis does not verify');
	if (setupHash(g.election, g.candidates, g.validators) !== mine.setup_hash.toLowerCase())
		return fail('the genesis is not the setup this trustee signed for');
	const k = g.candidates.length;
	let alpha = Array.from({ length: k }, () => Point.ZERO);
	let ballots = 0;
	for (let h = 1; h < blocks.length; h++) {
		const b = blocks[h];
		const prev = blocks[h - 1];
		if (b.height !== h || String(b.prev_hash).toLowerCase() !== String(prev.hash).toLowerCase())
			return fail(`block ${h} does not follow block ${h - 1}`);
		try {
			leaves = secretLeaves(b);
		} catch {
			return fail(`block ${h} is malformed`);
		}
		if (!(await hashesOk(leaves, b))) return fail(`block ${h}'s hash or merkle root does not match`);
		if (b.difficulty !== g.election.difficulty || leadingZeroBits(unhex(b.hash, HASH_LEN)) < b.difficulty) return fail(`block ${h}'s proof of work does not hold`);
		if ((await checkApprovals(b, g.validators)).valid < g.election.threshold) return fail(`block ${h} lacks the threshold of approvals`);
		if (b.seal) {
			if (String(b.seal.election_id).toLowerCase() !== String(g.hash).toLowerCase()) return fail('the seal names another election');
			if (h < 2) return fail('the seal is at height 1: no ballot to decrypt');
			return { ok: true, problem: null, alphas: alpha.map((A) => hex(pointBytes(A))), throughHeight: h - 1, genesis: g, k, ballots };
		}
		for (const v of b.votes || []) {
			if (!Array.isArray(v.ciphertexts) || v.ciphertexts.length !== k) return fail(`a ballot in block ${h} has the wrong count`);
			try {
				alpha = alpha.map((A, i) => A.add(pointFrom(v.ciphertexts[i].a)));
			} catch {
				return fail(`a ballot in block ${h} has a ciphertext that is no point`);
			}
			ballots++;
		}
	}
	return fail('the seal is not committed yet');
}

// The trustee's x in the ceremony (1-based place of its key among the validators), or 0.
export function placeOf(ceremony, me) {
	const t = (ceremony.trustees || []).find((e) => String(e.validator_key).toLowerCase() === me.toLowerCase());
	return t ? t.x : 0;
}
