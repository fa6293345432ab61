// Hashing and signing in the page with WebCrypto: SHA-256, ECDSA P-256 with raw 64-byte
// r||s signatures (WebCrypto's own form), and the key file shared with the command line
// tool: {"format":"chainvote-key/1","public_key":"04…","private_key":{JWK}}.

import { hex, unhex, concat, isHex, KEY_LEN, SIG_LEN } from './encode.js';

const subtle = globalThis.crypto.subtle;
const ECDSA = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGN = { name: 'ECDSA', hash: 'SHA-256' };
export const KEY_FORMAT = 'chainvote-key/1';

export async function sha256(bytes) {
	return new Uint8Array(await subtle.digest('SHA-256', bytes));
}

// A public key from its 65-byte uncompressed hex; rejects points not on the curve.
export async function importPublicKey(keyHex) {
	const raw = unhex(keyHex, KEY_LEN);
	if (raw[0] !== 4) throw new Error('public key is not an uncompressed point');
	return subtle.importKey('raw', raw, ECDSA, true, ['verify']);
}

// True when sig (64 bytes r||s, hex or bytes) is keyHex's signature of msg. Any
// malformed input (bad hex, a key off the curve) is an invalid signature, not an error.
export async function verify(keyHex, sig, msg) {
	try {
		const key = await importPublicKey(keyHex);
		const s = typeof sig === 'string' ? unhex(sig, SIG_LEN) : sig;
		if (s.length !== SIG_LEN) return false;
		return await subtle.verify(SIGN, key, s, msg);
	} catch {
		return false;
	}
}

// A 64-byte r||s signature of msg with a private CryptoKey.
export async function sign(privateKey, msg) {
	return new Uint8Array(await subtle.sign(SIGN, privateKey, msg));
}

function b64urlToBytes(s) {
	if (typeof s !== 'string' || !/^[A-Za-z0-9_-]*$/.test(s)) throw new Error('not base64url');
	const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4);
	const bin = atob(b64);
	return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

function bytesToB64url(bytes) {
	let bin = '';
	for (const b of bytes) bin += String.fromCharCode(b);
	return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// The 04||X||Y hex of a JWK's public point.
export function jwkPublicHex(jwk) {
	const x = b64urlToBytes(jwk.x);
	const y = b64urlToBytes(jwk.y);
	if (x.length !== 32 || y.length !== 32) throw new Error('key coordinates are not 32 bytes');
	return hex(concat(Uint8Array.of(4), x, y));
}

// A JWK for a P-256 key from the public hex and (optionally) the private scalar hex.
export function jwkFromHex(publicHex, privateHex) {
	const raw = unhex(publicHex, KEY_LEN);
	const jwk = { kty: 'EC', crv: 'P-256', x: bytesToB64url(raw.slice(1, 33)), y: bytesToB64url(raw.slice(33)) };
	if (privateHex !== undefined) jwk.d = bytesToB64url(unhex(privateHex, 32));
	return jwk;
}

// A fresh key pair. Returns {privateKey (non-extractable CryptoKey), publicHex, keyFile}
// where keyFile is the JSON object to offer for download: the only copy of the private
// key that ever leaves WebCrypto.
export async function generateKey() {
	const pair = await subtle.generateKey(ECDSA, true, ['sign', 'verify']);
	const jwk = await subtle.exportKey('jwk', pair.privateKey);
	const publicHex = jwkPublicHex(jwk);
	const keyFile = {
		format: KEY_FORMAT,
		public_key: publicHex,
		private_key: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, d: jwk.d },
	};
	const privateKey = await subtle.importKey('jwk', keyFile.private_key, ECDSA, false, ['sign']);
	return { privateKey, publicHex, keyFile };
}

// Reads a key file (its text). Returns {privateKey (non-extractable), publicHex}, and with
// ecdh also ecdhKey: the same private key for ECDH (deriveBits, non-extractable), which a
// trustee opens the shares sealed to its validator key with (www/js/ceremony.js). Throws
// an Error whose message says what is wrong with the file.
export async function importKeyFile(textContent, { ecdh = false } = {}) {
	let doc;
	try {
		doc = JSON.parse(textContent);
	} catch {
		throw new Error('The file is not JSON, so it is not a ChainVote key file.');
	}
	if (!doc || typeof doc !== 'object' || doc.format !== KEY_FORMAT)
		throw new Error('The file is not a ChainVote key file (format "chainvote-key/1").');
	const jwk = doc.private_key;
	if (!jwk || jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.d !== 'string')
		throw new Error('The key file holds no P-256 private key.');
	if (!isHex(doc.public_key, KEY_LEN)) throw new Error('The key file\'s public key is not 65 bytes of hex.');
	const publicHex = doc.public_key.toLowerCase();
	let fromJwk;
	try {
		fromJwk = jwkPublicHex(jwk);
	} catch {
		throw new Error('The key file\'s private key is damaged.');
	}
	if (fromJwk !== publicHex) throw new Error('The key file\'s public and private keys do not match.');
	let privateKey;
	try {
		privateKey = await subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, d: jwk.d },
			ECDSA, false, ['sign']);
	} catch {
		throw new Error('The key file\'s private key is not a valid P-256 key.');
	}
	// Importing does not prove d matches (x, y): a signature that verifies does.
	const probe = new TextEncoder().encode('chainvote/key-check');
	if (!(await verify(publicHex, await sign(privateKey, probe), probe)))
		throw new Error('The key file\'s private key does not belong to its public key.');
	if (!ecdh) return { privateKey, publicHex };
	const ecdhKey = await subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, d: jwk.d },
		{ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
	return { privateKey, publicHex, ecdhKey };
}

// Number of leading zero bits of a hash read as a big-endian number.
export function leadingZeroBits(bytes) {
	let n = 0;
	for (const b of bytes) {
		if (b === 0) {
			n += 8;
			continue;
		}
		return n + Math.clz32(b) - 24;
	}
	return n;
}
