// Administration page (behind nginx's allow-list and the admin's signed-in session):
// election settings, candidates, validators, the eligibility import with its one-time
// codes, the voters' states with recovery (a new code, a key revoked), and opening and
// closing the election, each step confirmed; which election (the default one at /admin/,
// another at /admin/e/{slug}/), creating one and archiving one; signing out and moving
// the sign-in to a new authenticator secret (QR code drawn here as SVG).

import '/js/shell.js';
import { get, put, del, post, electionSlug, electionPage } from '/js/api.js';
import qrcode from '/vendor/qrcode-generator/qrcode.mjs';
import { isHex } from '/js/encode.js';
import { changesPanel } from '/js/changes.js';
import { $, h, clear, say, explain, busy, downloadLink, hexCode, shortHex } from '/js/ui.js';

let state = 'setup';
let pending = null; // the action awaiting confirmation
let opener = null; // the button that asked, to take the focus back on Cancel

const ADMIN_TEXTS = {
	bad_state: 'Not possible now: the election is no longer being set up.',
	bad_election: 'The settings break a rule (threshold at least 2 and at most the number of validators, texts at most 200 bytes).',
	bad_key: 'That is not a valid P-256 public key.',
	exists: 'It exists already.',
	not_found: 'It does not exist.',
	archived: 'The election is archived: nothing in it changes any more.',
	registered: 'This voter has registered a key: revoke the key instead.',
	not_registered: 'This voter has no key registered: give a new code instead.',
	already_voted: 'This voter has voted: the key stays.',
	weak_code: 'That code is too easy to guess.',
};

const SLUG = /^[a-z0-9-]{1,32}$/;
const here = electionSlug() || 'default';
const adminPage = (slug) => (slug === 'default' ? '/admin/' : `/admin/e/${slug}/`);

// The public pages' links go to this election's pages.
for (const a of document.querySelectorAll('nav a[href$=".html"]'))
	a.href = electionPage(here, a.getAttribute('href').replace(/^\//, ''));

async function loadElections() {
	const ul = clear($('el-list'));
	try {
		const doc = await get('/api/elections');
		for (const e of doc.elections || []) {
			const link = h('a', { href: adminPage(e.slug) }, e.title || e.slug);
			if (e.slug === here) link.setAttribute('aria-current', 'page');
			ul.append(h('li', { 'data-slug': e.slug }, link, ` (${e.slug}) · ${e.final ? 'final' : e.state}${e.archived ? ' · archived' : ''}`));
		}
	} catch (e) {
		say($('el-msg'), 'err', 'The elections could not be listed: ' + explain(e));
	}
}

// Unix seconds from a datetime-local value (local time), 0 when empty.
function toUnix(v) {
	if (!v) return 0;
	const t = new Date(v).getTime();
	return Number.isFinite(t) ? Math.floor(t / 1000) : NaN;
}

function fromUnix(s) {
	if (!s) return '';
	const d = new Date(s * 1000);
	const p = (n) => String(n).padStart(2, '0');
	return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

let changes = null;

async function load() {
	let a = null;
	let pub = null;
	try {
		a = await get('/admin/api/election');
	} catch (e) {
		if (e.status === 401) return signInAgain();
		if (e.code !== 'not_found') say($('load-error'), 'err', 'The election settings could not be loaded: ' + explain(e));
	}
	try {
		pub = await get('/api/election');
	} catch {
		pub = null;
	}
	const doc = { ...(pub || {}), ...(a || {}) };
	state = doc.state || 'setup';
	const line = $('state-line');
	clear(line).append(a || pub ? h('strong', {}, doc.title || 'Untitled election') : 'No election yet: save the settings below to create it.',
		a || pub ? ` · ${state === 'setup' ? 'being set up' : state}` : '');
	if (doc.genesis_hash) line.append(' · genesis ', hexCode(doc.genesis_hash));

	if (a || pub) {
		$('s-title').value = doc.title ?? '';
		$('s-threshold').value = doc.threshold ?? 2;
		$('s-difficulty').value = doc.difficulty ?? 16;
		$('s-max').value = doc.max_block_votes ?? 64;
		$('s-opens').value = fromUnix(doc.opens);
		$('s-closes').value = fromUnix(doc.closes);
		$('s-hidden').checked = !!doc.results_after_close;
	} else {
		$('s-threshold').value = 2;
		$('s-difficulty').value = 16;
		$('s-max').value = 64;
	}
	renderCandidates(doc.candidates || []);
	renderValidators(doc.validators || []);
	const counts = [];
	const c = doc.counts || {};
	for (const [k, label] of [['eligible', 'eligible voters'], ['registered', 'registered'], ['voters', 'keys on the roll']]) {
		const v = c[k] ?? (k === 'voters' ? doc.roll_size : undefined);
		if (typeof v === 'number') counts.push(`${v} ${label}`);
	}
	$('roll-counts').textContent = counts.length ? counts.join(' · ') + '.' : '';

	const setup = state === 'setup';
	for (const f of ['settings', 'cand-form', 'val-form', 'elig-form', 'keys-form'])
		for (const el of $(f).querySelectorAll('input, button, textarea')) el.disabled = !setup;
	for (const b of document.querySelectorAll('#candidates button, #validators button')) b.disabled = !setup;
	await loadVoters();
	$('open-button').disabled = !setup;
	$('close-button').disabled = state !== 'open';
	// changes of the parameters: once the genesis is sealed (docs/GOVERNANCE.md)
	if (!setup && !changes) changes = changesPanel($('changes'), { mode: 'admin' });
	$('open-text').textContent = state === 'setup'
		? 'Opening seals the settings, candidates, validators and the roll into the genesis block. Nothing of them can change afterwards, and registration ends.'
		: state === 'open' ? 'The election is open. Closing it ends voting for good.' : 'The election is closed.';
}

function renderCandidates(list) {
	const body = clear($('candidates').tBodies[0]);
	if (!list.length) body.append(h('tr', {}, h('td', { colspan: 3 }, 'No candidates yet.')));
	for (const c of [...list].sort((x, y) => x.id - y.id)) {
		const remove = h('button', { type: 'button', class: 'secondary small', 'aria-label': `Remove candidate ${c.name}` }, 'Remove');
		remove.addEventListener('click', () => act($('cand-msg'), () => del(`/admin/api/candidates/${c.id}`), `Removed ${c.name}.`));
		body.append(h('tr', {}, h('td', { class: 'num' }, String(c.id)), h('td', {}, c.name), h('td', {}, remove)));
	}
}

function renderValidators(list) {
	const body = clear($('validators').tBodies[0]);
	if (!list.length) body.append(h('tr', {}, h('td', { colspan: 3 }, 'No validators yet.')));
	for (const v of list) {
		const remove = h('button', { type: 'button', class: 'secondary small', 'aria-label': `Remove validator ${v.name}` }, 'Remove');
		remove.addEventListener('click', () => act($('val-msg'), () => del(`/admin/api/validators/${v.key}`), `Removed ${v.name}.`));
		body.append(h('tr', {}, h('td', {}, v.name), h('td', {}, h('code', { class: 'hex', title: v.key }, shortHex(v.key, 8, 4))), h('td', {}, remove)));
	}
}

// Runs one admin request, reports it in msgEl, and reloads the page's data.
async function act(msgEl, fn, okText, button, onError) {
	say(msgEl, 'info', '');
	if (button) busy(button, true);
	try {
		const r = await fn();
		say(msgEl, 'ok', typeof okText === 'function' ? okText(r) : okText);
		await load();
		return r;
	} catch (e) {
		if (e.status === 401) return signInAgain();
		say(msgEl, 'err', explain(e, ADMIN_TEXTS));
		if (onError) onError(e);
		return null;
	} finally {
		if (button) busy(button, false);
	}
}

function intField(id, min, max, name) {
	const v = Number($(id).value);
	if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name} must be a whole number from ${min} to ${max}.`);
	return v;
}

$('settings').addEventListener('submit', async (ev) => {
	ev.preventDefault();
	const msg = $('settings-msg');
	let body;
	try {
		const title = $('s-title').value.trim();
		if (!title) throw new Error('Give the election a title.');
		body = {
			title,
			threshold: intField('s-threshold', 2, 255, 'The approvals to commit a block'),
			difficulty: intField('s-difficulty', 0, 255, 'The proof of work'),
			max_block_votes: intField('s-max', 1, 4294967295, 'The votes per block'),
			opens: toUnix($('s-opens').value),
			closes: toUnix($('s-closes').value),
			results_after_close: $('s-hidden').checked,
		};
		if (Number.isNaN(body.opens) || Number.isNaN(body.closes)) throw new Error('The opening or closing time is not a valid date.');
		if (body.opens && body.closes && body.closes <= body.opens) throw new Error('Voting must close after it opens.');
	} catch (e) {
		say(msg, 'err', e.message);
		return;
	}
	await act(msg, () => put('/admin/api/election', body), 'Settings saved.', $('settings-save'));
});

$('cand-form').addEventListener('submit', async (ev) => {
	ev.preventDefault();
	const msg = $('cand-msg');
	const id = Number($('c-id').value);
	const name = $('c-name').value.trim();
	if (!Number.isInteger(id) || id < 1 || id > 4294967295) return say(msg, 'err', 'A candidate id is a whole number from 1.');
	if (!name) return say(msg, 'err', 'Give the candidate a name.');
	const r = await act(msg, () => put(`/admin/api/candidates/${id}`, { name }), `Candidate ${id} is ${name}.`);
	if (r !== null) {
		$('c-id').value = id + 1;
		$('c-name').value = '';
		$('c-name').focus();
	}
});

$('v-file').addEventListener('change', async () => {
	const f = $('v-file').files[0];
	if (!f) return;
	try {
		const doc = JSON.parse(await f.text());
		if (!isHex(doc.public_key, 65)) throw new Error();
		$('v-key').value = doc.public_key.toLowerCase();
		say($('val-msg'), 'info', 'Public key read from the file.');
	} catch {
		say($('val-msg'), 'err', 'That file is not a ChainVote key file.');
	}
	$('v-file').value = '';
});

$('val-form').addEventListener('submit', async (ev) => {
	ev.preventDefault();
	const msg = $('val-msg');
	const key = $('v-key').value.trim().toLowerCase();
	const name = $('v-name').value.trim();
	if (!isHex(key, 65) || !key.startsWith('04')) return say(msg, 'err', 'A public key is 130 hex characters starting with 04.');
	if (!name) return say(msg, 'err', 'Give the validator a name.');
	const r = await act(msg, () => put(`/admin/api/validators/${key}`, { name }), `Validator ${name} added.`);
	if (r !== null) {
		$('v-key').value = '';
		$('v-name').value = '';
	}
});

// Voters from CSV text: "voter_id" or "voter_id,code" per line; a header line is skipped.
export function parseVoters(textContent) {
	const voters = [];
	const lines = textContent.split(/\r?\n/);
	lines.forEach((line, i) => {
		const t = line.trim();
		if (!t || t.startsWith('#')) return;
		const cells = t.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
		if (i === 0 && /^voter_?id$/i.test(cells[0])) return;
		if (!cells[0]) throw new Error(`Line ${i + 1} has no voter ID.`);
		if (cells.length > 2) throw new Error(`Line ${i + 1} has more than two fields.`);
		const v = { voter_id: cells[0] };
		if (cells[1]) v.code = cells[1];
		voters.push(v);
	});
	return voters;
}

function csvCell(s) {
	return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

$('elig-form').addEventListener('submit', async (ev) => {
	ev.preventDefault();
	const msg = $('elig-msg');
	let voters;
	try {
		const f = $('e-file').files[0];
		const src = f ? await f.text() : $('e-text').value;
		voters = parseVoters(src);
		if (!voters.length) throw new Error('There are no voters in the file or the box.');
	} catch (e) {
		say(msg, 'err', e.message);
		return;
	}
	let r = await act(msg, () => post('/admin/api/eligible', { voters }), (ans) => {
		const skipped = ans && Array.isArray(ans.skipped) ? ans.skipped.length : 0;
		return `${ans && ans.voters ? ans.voters.length : voters.length} voters imported.` +
			(skipped ? ` ${skipped} already known, skipped: ${ans.skipped.join(', ')}.` : '');
	}, $('elig-submit'), (e) => {
		// an import that stopped part-way still answers the codes of the voters it added
		if (e.body && Array.isArray(e.body.voters) && e.body.voters.length) r = e.body;
	});
	if (!r || !Array.isArray(r.voters) || !r.voters.length) return;
	const rows = r.voters;
	clear($('codes-table').tBodies[0]).append(...rows.map((v) => h('tr', {}, h('td', {}, v.voter_id), h('td', {}, v.code))));
	const csv = 'voter_id,code\n' + rows.map((v) => `${csvCell(v.voter_id)},${csvCell(v.code)}`).join('\n') + '\n';
	const link = downloadLink('registration-codes.csv', csv, 'text/csv', 'Download the codes (CSV)');
	link.id = 'codes-link';
	$('codes-download').replaceChildren(link);
	$('codes').hidden = false;
	$('codes').focus();
	$('e-file').value = '';
	$('e-text').value = '';
});

$('keys-form').addEventListener('submit', async (ev) => {
	ev.preventDefault();
	const msg = $('keys-msg');
	const keys = $('k-text').value.split(/[\s,]+/).map((k) => k.trim().toLowerCase()).filter(Boolean);
	const bad = keys.find((k) => !isHex(k, 65) || !k.startsWith('04'));
	if (!keys.length) return say(msg, 'err', 'Paste at least one public key.');
	if (bad) return say(msg, 'err', `Not a public key: ${bad.slice(0, 20)}… (130 hex characters starting with 04).`);
	const r = await act(msg, () => post('/admin/api/voters', { keys }),
		(ans) => `${ans && ans.added !== undefined ? ans.added : keys.length} keys put on the roll` + (ans && ans.skipped ? `, ${ans.skipped} already there.` : '.'));
	if (r !== null) $('k-text').value = '';
});

// ---- voters and recovery ----

const VOTER_PAGE = 50;
const STATE_TEXT = { unused: 'code unused', registered: 'registered', voted: 'voted' };
const voterPages = ['']; // the "after" of each page seen, so that Previous can go back
let voterPending = null;

async function loadVoters() {
	const after = voterPages[voterPages.length - 1];
	let r;
	try {
		r = await get(`/admin/api/eligible?limit=${VOTER_PAGE}` + (after ? `&after=${encodeURIComponent(after)}` : ''));
	} catch (e) {
		if (e.code !== 'not_found') say($('voter-msg'), 'err', 'The voters could not be loaded: ' + explain(e, ADMIN_TEXTS));
		return;
	}
	const c = r.counts || {};
	$('voter-counts').textContent = `${c.eligible ?? 0} eligible: ${c.unused ?? 0} with the code unused, ${c.registered ?? 0} registered, ${c.voted ?? 0} voted.`;
	const body = clear($('voters-table').tBodies[0]);
	if (!r.voters.length) body.append(h('tr', {}, h('td', { colspan: 4 }, 'No eligible voters yet.')));
	for (const v of r.voters) {
		const actions = h('td', {});
		if (state === 'setup' && v.state === 'unused') {
			const b = h('button', { type: 'button', class: 'secondary small', 'aria-label': `New code for ${v.voter_id}` }, 'New code');
			b.addEventListener('click', () => askVoter(
				`Give ${v.voter_id} a new code? The current code stops working.`,
				() => recover('reissue', v.voter_id)));
			actions.append(b);
		}
		if (state === 'setup' && v.state === 'registered') {
			const b = h('button', { type: 'button', class: 'danger small', 'aria-label': `Revoke the key of ${v.voter_id}` }, 'Revoke key');
			b.addEventListener('click', () => askVoter(
				`Revoke the key of ${v.voter_id}? It leaves the roll and can never vote; ${v.voter_id} gets a new code to register another key.`,
				() => recover('revoke', v.voter_id)));
			actions.append(b);
		}
		body.append(h('tr', { dataset: { voter: v.voter_id, state: v.state } },
			h('td', {}, v.voter_id), h('td', {}, STATE_TEXT[v.state] || v.state),
			h('td', {}, v.public_key ? h('code', { class: 'hex', title: v.public_key }, shortHex(v.public_key, 8, 4)) : '—'),
			actions));
	}
	$('voters-prev').disabled = voterPages.length < 2;
	$('voters-next').disabled = !r.next;
	$('voters-next').dataset.after = r.next || '';
}

async function recover(action, voterId) {
	const r = await act($('voter-msg'), () => post(`/admin/api/eligible/${action}`, { voter_id: voterId }),
		action === 'revoke' ? `The key of ${voterId} is revoked. Send the new code below to the voter.`
			: `${voterId} has a new code. Send it to the voter.`);
	if (!r || !r.code) return;
	clear($('new-code-table').tBodies[0]).append(h('tr', {}, h('td', {}, r.voter_id), h('td', {}, r.code)));
	$('new-code').hidden = false;
	$('new-code').focus();
}

function askVoter(textContent, action) {
	voterPending = action;
	$('voter-confirm-text').textContent = textContent;
	$('voter-confirm').hidden = false;
	$('voter-confirm-no').focus(); // never on the button that acts
}

$('voter-confirm-no').addEventListener('click', () => {
	$('voter-confirm').hidden = true;
	voterPending = null;
});
$('voter-confirm-yes').addEventListener('click', async () => {
	const action = voterPending;
	voterPending = null;
	$('voter-confirm').hidden = true;
	if (action) await action();
});
$('voters-next').addEventListener('click', () => {
	if (!$('voters-next').dataset.after) return;
	voterPages.push($('voters-next').dataset.after);
	loadVoters();
});
$('voters-prev').addEventListener('click', () => {
	if (voterPages.length > 1) voterPages.pop();
	loadVoters();
});

// Asks before an action that cannot be undone; the focus starts on Cancel, so that a
// stray Enter or Space never carries it out.
function ask(textContent, action, yesLabel = 'Yes') {
	pending = action;
	opener = document.activeElement;
	$('confirm-text').textContent = textContent;
	$('confirm-yes').textContent = yesLabel;
	$('confirm').hidden = false;
	$('confirm-no').focus();
}

// The close's confirmation: what closing does, with the votes still pending now (they
// are committed after the close, and only then can the seal make the result final).
async function askClose() {
	let n = null;
	try {
		const a = await get('/admin/api/election');
		n = a && a.counts ? a.counts.pending : null;
	} catch {
		n = null;
	}
	const pendingLine = typeof n !== 'number' ? 'The number of votes still pending could not be read.'
		: n === 0 ? 'No vote is pending: every accepted vote is in the chain.'
		: `${n} vote${n === 1 ? ' is' : 's are'} still pending (accepted, not yet in a committed block).`;
	ask(`Close the election now? ${pendingLine} Closing means: no new vote is accepted from now on; ` +
		'the votes pending at the close are still committed to the chain by the miners and validators; ' +
		'then the seal block is mined and approved, and makes the result final. This cannot be undone.',
	() => act($('state-msg'), () => post('/admin/api/close', {}), 'The election is closed.'), 'Close the election');
}

$('el-form').addEventListener('submit', async (ev) => {
	ev.preventDefault();
	const slug = $('el-slug').value.trim(), title = $('el-title').value.trim();
	if (!SLUG.test(slug)) return say($('el-msg'), 'err', 'A short name is 1 to 32 characters of a-z, 0-9 and -.');
	if (!title) return say($('el-msg'), 'err', 'Give the election a title.');
	const r = await act($('el-msg'), () => post('/admin/api/elections', { slug, title }), 'Created.', $('el-create'));
	if (r !== null) location.assign(adminPage(slug));
});
$('archive-button').addEventListener('click', () => ask(
	'Archive this election? Only one still being set up or one whose result is final can be archived; it then changes no more and leaves the home page\'s list.',
	() => act($('state-msg'), () => post('/admin/api/archive', {}), 'The election is archived.')));
$('open-button').addEventListener('click', () => ask(
	'Open the election now? The settings, candidates, validators and roll are sealed in the genesis block and cannot change; registration ends.',
	() => act($('state-msg'), () => post('/admin/api/open', {}), 'The election is open.'), 'Open the election'));
$('close-button').addEventListener('click', askClose);
function cancel() {
	$('confirm').hidden = true;
	pending = null;
	(opener && !opener.disabled ? opener : $('open-button')).focus();
}
$('confirm-no').addEventListener('click', cancel);
$('confirm').addEventListener('keydown', (ev) => {
	if (ev.key === 'Escape') cancel();
});
$('confirm-yes').addEventListener('click', async () => {
	const action = pending;
	pending = null;
	$('confirm').hidden = true;
	if (action) await action();
	$('state-msg').focus?.();
});

// The session ended (15 minutes idle, 8 hours at most, or signed out elsewhere).
function signInAgain() {
	location.assign('/admin/login.html');
	return null;
}

$('sign-out').addEventListener('click', async () => {
	try {
		await del('/admin/api/session');
	} finally {
		location.assign('/admin/login.html');
	}
});

// text as a QR code: an SVG of dark modules, built node by node (no markup strings).
function qrSvg(text) {
	const qr = qrcode(0, 'M');
	qr.addData(text);
	qr.make();
	const n = qr.getModuleCount();
	const ns = 'http://www.w3.org/2000/svg';
	const svg = document.createElementNS(ns, 'svg');
	svg.setAttribute('viewBox', `-4 -4 ${n + 8} ${n + 8}`);
	svg.setAttribute('width', String((n + 8) * 5));
	svg.setAttribute('height', String((n + 8) * 5));
	svg.setAttribute('role', 'img');
	svg.setAttribute('aria-label', 'QR code of the otpauth URI below');
	const bg = document.createElementNS(ns, 'rect');
	for (const [k, v] of [['x', -4], ['y', -4], ['width', n + 8], ['height', n + 8], ['fill', '#fff']]) bg.setAttribute(k, String(v));
	svg.append(bg);
	let d = '';
	for (let r = 0; r < n; r++)
		for (let c = 0; c < n; c++)
			if (qr.isDark(r, c)) d += `M${c} ${r}h1v1h-1z`;
	const path = document.createElementNS(ns, 'path');
	path.setAttribute('d', d);
	path.setAttribute('fill', '#000');
	svg.append(path);
	return svg;
}

$('mfa-start').addEventListener('click', async () => {
	const msg = $('mfa-msg');
	say(msg, 'info', '');
	try {
		const r = await post('/admin/api/mfa/rotate');
		clear($('mfa-qr')).append(qrSvg(r.otpauth_uri));
		$('mfa-secret').textContent = r.secret;
		$('mfa-uri').textContent = r.otpauth_uri;
		$('mfa-new').hidden = false;
		$('mfa-codes').hidden = true;
		$('mfa-code').focus();
	} catch (e) {
		if (e.status === 401) return signInAgain();
		say(msg, 'err', explain(e));
	}
});

$('mfa-form').addEventListener('submit', async (ev) => {
	ev.preventDefault();
	const msg = $('mfa-msg');
	const code = $('mfa-code').value.trim();
	if (!/^[0-9]{6}$/.test(code)) return say(msg, 'err', 'Enter the 6 digits the app shows for the new secret.');
	try {
		const r = await post('/admin/api/mfa/confirm', { code });
		$('mfa-new').hidden = true;
		$('mfa-code').value = '';
		const list = clear($('mfa-codes-list'));
		for (const c of r.recovery_codes || []) list.append(h('li', {}, h('code', {}, c)));
		$('mfa-codes').hidden = false;
		say(msg, 'ok', 'The new secret is in use. Sign in with the app from now on.');
		$('mfa-codes').focus();
	} catch (e) {
		if (e.status === 401) return signInAgain();
		say(msg, 'err', explain(e, { bad_code: 'That is not a code of the new secret: check the app and try the next code.' }));
	}
});


loadElections();
load();
