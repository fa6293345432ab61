// What every page shares as an installable app: registers the service worker (/sw.js,
// which keeps the static shell for offline use) and shows a banner while the page is
// offline: the browser says it has no network, or a request to the service failed to
// reach it. The banner goes when an answer comes back or the network returns.

import { h } from './ui.js';

let banner = null;
let unreachable = false;

function render() {
	const offline = navigator.onLine === false || unreachable;
	if (!offline) {
		if (banner) banner.hidden = true;
		return;
	}
	if (!banner) {
		banner = h('div', { class: 'msg warn', role: 'status', id: 'offline' },
			h('strong', {}, 'Offline.'), ' This page cannot reach the election service now: what it shows may be out of date, and nothing can be sent until the connection is back. It updates by itself when it is.');
		const main = document.querySelector('main');
		if (main) main.before(banner);
		else document.body.prepend(banner);
	}
	banner.hidden = false;
}

window.addEventListener('online', () => {
	unreachable = false;
	render();
});
window.addEventListener('offline', render);
window.addEventListener('chainvote:reachable', (ev) => {
	unreachable = !ev.detail;
	render();
});
render();

if ('serviceWorker' in navigator && window.isSecureContext) {
	navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {
		/* the pages work without it; only the offline copy is missing */
	});
}
