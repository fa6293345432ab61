// The service worker: keeps the static shell (the public pages, their scripts, style and
// icons) so that the pages install as an app and open without a network. It never
// stores an API answer or anything under /admin/ (those always go to the network, and
// fail there when offline: the page says so), and it never sees a key (keys stay in the
// page's IndexedDB or in the voter's file). Online, every shell file is fetched afresh
// first, so a new page is served as soon as it is published; the copy is for offline.

const CACHE = 'chainvote-shell-4';
const SHELL = [
	'/',
	'/index.html',
	'/register.html',
	'/vote.html',
	'/results.html',
	'/explorer.html',
	'/validator.html',
	'/trustee.html',
	'/css/site.css',
	'/favicon.svg',
	'/manifest.webmanifest',
	'/icons/icon.svg',
	'/icons/icon-192.png',
	'/icons/icon-512.png',
	'/js/api.js',
	'/js/ballot.js',
	'/js/ceremony.js',
	'/js/changes.js',
	'/js/crypto.js',
	'/js/encode.js',
	'/js/explorer.js',
	'/js/home.js',
	'/js/keypanel.js',
	'/js/keystore.js',
	'/js/merkle.js',
	'/js/register.js',
	'/js/results.js',
	'/js/shell.js',
	'/js/trustee.js',
	'/js/ui.js',
	'/js/validator.js',
	'/js/verify.js',
	'/js/vote.js',
	// @noble/curves and @noble/hashes, which ballot.js imports (tools/vendor.sh)
	'/vendor/noble-curves/nist.js',
	'/vendor/noble-curves/utils.js',
	'/vendor/noble-curves/abstract/curve.js',
	'/vendor/noble-curves/abstract/der.js',
	'/vendor/noble-curves/abstract/fft.js',
	'/vendor/noble-curves/abstract/frost.js',
	'/vendor/noble-curves/abstract/hash-to-curve.js',
	'/vendor/noble-curves/abstract/modular.js',
	'/vendor/noble-curves/abstract/oprf.js',
	'/vendor/noble-curves/abstract/weierstrass.js',
	'/vendor/noble-hashes/_md.js',
	'/vendor/noble-hashes/_u64.js',
	'/vendor/noble-hashes/hmac.js',
	'/vendor/noble-hashes/legacy.js',
	'/vendor/noble-hashes/sha2.js',
	'/vendor/noble-hashes/sha3.js',
	'/vendor/noble-hashes/utils.js',
];
const SHELL_PATHS = new Set(SHELL);

self.addEventListener('install', (event) => {
	event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
	event.waitUntil(caches.keys()
		.then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
		.then(() => self.clients.claim()));
});

self.addEventListener('fetch', (event) => {
	const req = event.request;
	const url = new URL(req.url);
	// only this origin's shell, by GET; everything else is the browser's own business
	if (req.method !== 'GET' || url.origin !== self.location.origin || !SHELL_PATHS.has(url.pathname)) return;
	event.respondWith((async () => {
		const cache = await caches.open(CACHE);
		try {
			const res = await fetch(req, { cache: 'no-cache' });
			if (res.ok && res.type === 'basic') await cache.put(url.pathname, res.clone());
			return res;
		} catch (e) {
			const kept = await cache.match(url.pathname);
			if (kept) return kept;
			throw e;
		}
	})());
});
