// Keeps a signing key in this browser's IndexedDB: the private key as a non-extractable
// CryptoKey (the page can sign with it but nothing can read it out) beside its public
// key hex. One key per role ("voter", "validator").

const DB_NAME = 'chainvote';
const STORE = 'keys';

function open() {
	return new Promise((resolve, reject) => {
		const req = indexedDB.open(DB_NAME, 1);
		req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'role' });
		req.onsuccess = () => resolve(req.result);
		req.onerror = () => reject(req.error);
	});
}

function run(mode, fn) {
	return open().then((db) => new Promise((resolve, reject) => {
		const tx = db.transaction(STORE, mode);
		const req = fn(tx.objectStore(STORE));
		tx.oncomplete = () => {
			db.close();
			resolve(req.result);
		};
		tx.onerror = () => {
			db.close();
			reject(tx.error);
		};
		tx.onabort = () => {
			db.close();
			reject(tx.error);
		};
	}));
}

// Stores {privateKey, publicHex} for role, replacing any key held for it; ecdhKey (the
// trustee page's ECDH form of the same key, also non-extractable) beside it when given.
export function saveKey(role, privateKey, publicHex, ecdhKey = null) {
	const rec = { role, privateKey, publicHex, saved: Date.now() };
	if (ecdhKey) rec.ecdhKey = ecdhKey;
	return run('readwrite', (s) => s.put(rec));
}

// The {privateKey, publicHex} stored for role (with ecdhKey when one was saved), or null.
// Never throws: a browser without IndexedDB (or a private window that refuses it) simply
// has no stored key.
export async function loadKey(role) {
	try {
		const rec = await run('readonly', (s) => s.get(role));
		if (!rec || !rec.privateKey || !rec.publicHex) return null;
		const key = { privateKey: rec.privateKey, publicHex: rec.publicHex };
		if (rec.ecdhKey) key.ecdhKey = rec.ecdhKey;
		return key;
	} catch {
		return null;
	}
}

export function forgetKey(role) {
	return run('readwrite', (s) => s.delete(role));
}
