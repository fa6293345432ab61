// Small DOM helpers shared by the pages: building elements without innerHTML (so that
// server text is never parsed as markup), status messages, friendly error texts, dates,
// downloads and polling that pauses while the tab is hidden.

import { ApiError } from './api.js';

export const $ = (id) => document.getElementById(id);

// h('p', {class: 'x', text: 'hi', on: {click: f}}, child…): children are nodes or strings.
export function h(tag, attrs = {}, ...children) {
	const svg = tag.startsWith('svg:');
	const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4)) : document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === undefined || v === null || v === false) continue;
		if (k === 'text') el.textContent = v;
		else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
		else if (k === 'dataset') Object.assign(el.dataset, v);
		else el.setAttribute(k, v === true ? '' : String(v));
	}
	for (const c of children.flat()) {
		if (c === undefined || c === null || c === false) continue;
		el.append(c instanceof Node ? c : document.createTextNode(String(c)));
	}
	return el;
}

// WebCrypto (crypto.subtle) exists only in a secure context: a page served over HTTPS or
// from localhost. Served over plain HTTP under any other name a page can neither sign,
// hash nor check a proof, so it must say so first instead of looking ready.
export function cryptoProblem(g = globalThis) {
	if (!g.isSecureContext)
		return 'This page was not loaded over a secure connection (HTTPS), so the browser does not let it use cryptography.';
	if (!g.crypto || !g.crypto.subtle)
		return 'This browser does not offer the cryptography (WebCrypto) this page needs.';
	return '';
}

// Checks cryptoProblem first thing on a page that needs it. When there is a problem, a
// banner before <main> says plainly that the page cannot `what` and why, with the HTTPS
// address when the page came over plain HTTP; with hide, <main> is hidden so that no form
// looks ready (a page that only checks proofs stays readable). Returns true when fine.
export function requireCrypto(what, { hide = true } = {}) {
	const why = cryptoProblem();
	if (!why) return true;
	const main = document.querySelector('main');
	const banner = h('div', { class: 'msg err', role: 'alert', id: 'insecure-context' },
		h('strong', { text: `This page cannot ${what}.` }), ' ', why);
	if (location.protocol === 'http:') {
		const secure = 'https://' + location.host + location.pathname + location.search + location.hash;
		banner.append(' Open it at ', h('a', { href: secure, text: secure }),
			' instead, or ask the election office for the right address.');
	}
	main.before(banner);
	if (hide) main.hidden = true;
	return false;
}

export function clear(el) {
	while (el.firstChild) el.removeChild(el.firstChild);
	return el;
}

// Shows message in el with a kind (ok, err, info, warn); an empty message hides el.
export function say(el, kind, message) {
	el.classList.remove('ok', 'err', 'info', 'warn');
	if (!message) {
		el.hidden = true;
		el.textContent = '';
		return;
	}
	el.classList.add('msg', kind);
	el.textContent = message;
	el.hidden = false;
}

const MESSAGES = {
	network: 'The server could not be reached. Check your connection and try again.',
	rate_limited: 'Too many requests just now. Wait a few seconds and try again.',
	unavailable: 'The service is not answering right now. Try again in a moment.',
	busy: 'The server is busy. Try again in a moment.',
	already_voted: 'This key has already voted. Each voter votes once, and the first vote stands.',
	not_open: 'The election is not open for voting.',
	closed: 'The election is closed: no more votes are accepted.',
	not_on_roll: 'This key is not on the electoral roll. Use the key you registered with, or contact the election office.',
	bad_code: 'The voter ID or the one-time code is wrong, or the code has been used already.',
	bad_signature: 'The signature did not verify. Check that you loaded the right key.',
	unknown_candidate: 'That candidate is not on the ballot.',
	vote_time: 'Your device\'s clock seems to be wrong: the vote\'s time is outside the voting window.',
	wrong_election: 'This vote is for another election. Reload the page and try again.',
	not_validator: 'This key is not one of the election\'s validators.',
	equivocation: 'This validator already approved another block at this height.',
	duplicate_approval: 'This validator\'s verdict on the block is already recorded.',
	too_large: 'The request is too large.',
};

// A sentence for the person using the page; overrides maps codes to page-specific texts.
export function explain(err, overrides = {}) {
	if (err instanceof ApiError) {
		const text = overrides[err.code] || MESSAGES[err.code] || err.message || 'Something went wrong.';
		return text;
	}
	return (err && err.message) || String(err);
}

export function shortHex(s, head = 10, tail = 6) {
	if (typeof s !== 'string' || s.length <= head + tail + 1) return s;
	return `${s.slice(0, head)}…${s.slice(-tail)}`;
}

// A <code> with a hash or key: shortened on screen, whole in its title and copy text.
export function hexCode(s, { short = true } = {}) {
	return h('code', { class: 'hex', title: s }, short ? shortHex(s) : s);
}

export function when(unix) {
	if (!unix) return 'not set';
	const d = new Date(unix * 1000);
	return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

// A link that downloads text as a file; the blob URL lives as long as the page.
export function downloadLink(filename, content, type, label) {
	const url = URL.createObjectURL(new Blob([content], { type }));
	return h('a', { href: url, download: filename, class: 'button' }, label);
}

export function busy(button, on, label) {
	if (on) {
		button.dataset.label = button.textContent;
		if (label) button.textContent = label;
		button.disabled = true;
		button.setAttribute('aria-busy', 'true');
	} else {
		if (button.dataset.label) button.textContent = button.dataset.label;
		button.disabled = false;
		button.removeAttribute('aria-busy');
	}
}

// Calls fn now and then every ms while the page is visible; returns a stop function.
// Runs never overlap: a slow answer delays the next call instead of piling up.
export function poll(fn, ms) {
	let timer = null;
	let stopped = false;
	const tick = async () => {
		timer = null;
		if (stopped) return;
		if (document.visibilityState !== 'hidden') {
			try {
				await fn();
			} catch {
				/* each page shows its own errors; polling carries on */
			}
		}
		if (!stopped) timer = setTimeout(tick, ms);
	};
	const onVisible = () => {
		if (document.visibilityState === 'visible' && timer !== null) {
			clearTimeout(timer);
			tick();
		}
	};
	document.addEventListener('visibilitychange', onVisible);
	tick();
	return () => {
		stopped = true;
		if (timer !== null) clearTimeout(timer);
		document.removeEventListener('visibilitychange', onVisible);
	};
}

// A definition list from [term, value] pairs; values may be nodes.
export function facts(pairs) {
	return h('dl', { class: 'facts' }, pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

// A check line: a pass/fail mark (as text, not only colour) and a description.
export function checkItem(ok, label, detail) {
	const mark = ok === null ? '…' : ok ? '✓' : '✗';
	const word = ok === null ? 'checking' : ok ? 'passed' : 'failed';
	return h('li', { class: 'check ' + (ok === null ? 'pending' : ok ? 'pass' : 'fail') },
		h('span', { class: 'mark', 'aria-hidden': 'true' }, mark),
		h('span', { class: 'what' }, h('span', { class: 'visually-hidden' }, word + ': '),
			h('span', { class: 'check-label' }, label), detail ? h('span', { class: 'detail' }, ' ', detail) : null));
}
