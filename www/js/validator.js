// Validator dashboard: lists the proposals (GET /api/proposals, a summary each), fetches
// each one (GET /api/proposals/{hash}), re-checks its block in the browser, shows the
// server's checks (the rules' verdict stored at admission) beside them, and signs approvals or rejections
// with the validator's key here. Refreshes itself; committed blocks drop off. Also makes
// a validator key pair (the key file of `chainvote keygen`), and flags proposals that
// have waited longer than a limit set on the page since the service received them.

import './shell.js';
import { get, post } from './api.js';
import { hex, approvalMessage, rejectionMessage, text as encodeText } from './encode.js';
import { sign, generateKey } from './crypto.js';
import { checkBlock } from './verify.js';
import { keyPanel } from './keypanel.js';
import { changesPanel } from './changes.js';
import { $, h, clear, say, explain, busy, poll, checkItem, shortHex, when, facts, hexCode, requireCrypto, downloadLink } from './ui.js';

let key = null;
let election = null;
const cards = new Map(); // block hash → {el, parts, localResult}
const REFRESH_MS = 4000;
const WAIT_KEY = 'chainvote-validator-wait-limit';
const WAIT_DEFAULT = 60;

// The alert's limit in seconds: the page's setting (kept in localStorage), else 60.
function waitLimit() {
	const v = Number($('wait-limit').value);
	return Number.isInteger(v) && v >= 1 && v <= 86400 ? v : WAIT_DEFAULT;
}

function ago(seconds) {
	if (seconds < 120) return `${seconds} s`;
	if (seconds < 7200) return `${Math.floor(seconds / 60)} min`;
	return `${Math.floor(seconds / 3600)} h`;
}

// Each card's waiting time since the service received its block, and the page's alert
// naming those past the limit. Runs every second and after each refresh.
function updateWaits() {
	const limit = waitLimit();
	const now = Math.floor(Date.now() / 1000);
	const late = [];
	for (const card of cards.values()) {
		if (typeof card.receivedAt !== 'number') continue;
		const waited = Math.max(0, now - card.receivedAt);
		const over = waited > limit;
		const w = card.parts.wait;
		w.textContent = over ? `Waiting ${ago(waited)}: longer than ${limit} s` : `Waiting ${ago(waited)}`;
		w.className = 'badge wait' + (over ? ' err' : '');
		card.el.classList.toggle('overdue', over);
		if (over) late.push(card);
	}
	const alert = $('props-alert');
	if (!late.length) return say(alert, 'warn', '');
	const oldest = late.reduce((a, b) => (a.receivedAt <= b.receivedAt ? a : b));
	// no ticking number here: an alert is announced again whenever its text changes
	const text = late.length === 1
		? `The proposal for block ${oldest.height} has waited longer than ${limit} s for a verdict.`
		: `${late.length} proposals have waited longer than ${limit} s for a verdict.`;
	if (alert.hidden || alert.textContent !== text) say(alert, 'warn', text);
}

function validatorName(k) {
	const v = election && (election.validators || []).find((x) => String(x.key).toLowerCase() === String(k).toLowerCase());
	return v ? v.name : null;
}

function candidateName(id) {
	const c = election && (election.candidates || []).find((x) => x.id === id);
	return c ? c.name : String(id);
}

function showRole() {
	const role = $('key-role');
	for (const c of cards.values()) {
		c.noteFromAction = false; // another key: the last action's message is not its own
		updateActions(c, c.last);
	}
	if (!key || !election || !Array.isArray(election.validators) || !election.validators.length) {
		role.hidden = true;
		return;
	}
	const name = validatorName(key.publicHex);
	say(role, name ? 'ok' : 'warn', name ? `This key is the election's validator "${name}".` : 'This key is not one of this election\'s validators: the server will refuse its verdicts.');
}

const SERVER_LABELS = {
	version: 'Version 1',
	height: 'Height follows the chain tip',
	link: 'Links to the chain tip (prev_hash)',
	difficulty: 'Difficulty is the election\'s',
	pow: 'Proof of work',
	hash: 'Stated hash is the header\'s hash',
	timestamp: 'Timestamp in range',
	vote_count: 'Number of votes allowed',
	merkle: 'Merkle root matches the leaves',
	seal: 'Nothing follows a seal, and a seal keeps its rules',
	rules: 'Every block rule (1–5)',
};

// true, false, or null when the rules did not judge the vote (a check before it failed)
function voteOk(r) {
	if (r.result === null) return null;
	if (r.result !== undefined) return r.result === 'ok';
	return !(r.ok === false || r.valid === false || r.error);
}

// The server's checks (GET /api/proposals/{hash} "checks"): per header rule true, false
// or null (not judged), the
// leading zero bits, "votes" (one object per vote) and "rules" (the overall verdict).
// Unknown keys are still shown, so nothing the server says is hidden.
function serverChecks(checks) {
	const items = [];
	const perVote = new Map();
	if (!checks || typeof checks !== 'object') return { items, perVote };
	for (const [name, v] of Object.entries(checks)) {
		const label = SERVER_LABELS[name] || name.replace(/_/g, ' ');
		if (name === 'leading_zero_bits') continue;
		if (v === null) items.push(checkItem(null, label, 'not judged: an earlier check failed'));
		else if (typeof v === 'boolean')
			items.push(checkItem(v, label, name === 'pow' && typeof checks.leading_zero_bits === 'number' ? `${checks.leading_zero_bits} leading zero bits` : ''));
		else if (Array.isArray(v)) {
			v.forEach((r, i) => {
				if (r && typeof r === 'object') perVote.set(r.txid || i, r);
			});
			const bad = v.filter((r) => r && typeof r === 'object' && voteOk(r) !== true).length;
			items.push(checkItem(bad === 0, name === 'votes' ? 'Every vote passes the vote rules' : label,
				`${v.length - bad} of ${v.length} valid`));
		} else if (v && typeof v === 'object') {
			const ok = v.ok !== undefined ? !!v.ok : v.valid !== undefined ? !!v.valid : null;
			const detail = ok ? '' : [v.message || v.error || v.code || '', typeof v.vote === 'number' ? `(vote ${v.vote + 1})` : ''].join(' ').trim();
			items.push(checkItem(ok, label, detail));
		} else items.push(h('li', { class: 'check' }, h('span', { class: 'mark', 'aria-hidden': 'true' }, '•'), `${label}: ${v}`));
	}
	return { items, perVote };
}

// Verdicts as one list, from "verdicts" or from the "approvals"/"rejections" lists.
function verdictsOf(p) {
	if (Array.isArray(p.verdicts)) return p.verdicts;
	const out = [];
	if (Array.isArray(p.approvals)) for (const a of p.approvals) out.push({ ...a, approve: true });
	if (Array.isArray(p.rejections)) for (const r of p.rejections) out.push({ ...r, approve: false });
	return out;
}

function approvalCount(p) {
	if (typeof p.n_approvals === 'number') return p.n_approvals;
	if (typeof p.approvals === 'number') return p.approvals;
	return verdictsOf(p).filter((v) => v.approve).length;
}

function verdictList(p) {
	const vs = verdictsOf(p);
	if (!vs.length) return h('p', { class: 'hint' }, 'No verdicts yet.');
	return h('ul', { class: 'verdicts' }, vs.map((v) => h('li', {},
		h('strong', {}, v.name || validatorName(v.validator_key) || shortHex(v.validator_key)), ': ',
		v.approve ? h('span', { class: 'badge ok' }, 'approved') : h('span', { class: 'badge err' }, 'rejected'),
		!v.approve && v.reason ? ` — “${v.reason}”` : '')));
}

function progress(n, threshold) {
	return h('span', { class: 'progress', 'aria-hidden': 'true' },
		Array.from({ length: Math.max(threshold || 0, n) }, (_, i) => h('span', { class: i < n ? 'on' : '' })));
}

function myVerdict(p) {
	if (!key) return null;
	return verdictsOf(p).find((v) => String(v.validator_key).toLowerCase() === key.publicHex) || null;
}

function updateActions(card, p) {
	if (!p) return;
	const mine = myVerdict(p);
	const { approve, reject, reason, note } = card.parts;
	const disabled = !key || !!mine;
	approve.disabled = disabled;
	reject.disabled = disabled;
	reason.disabled = disabled;
	// a message from the person's own last action stays until the next action
	if (card.busy || card.noteFromAction) return;
	if (!key) say(note, 'info', 'Load your validator key to approve or reject.');
	else if (mine) say(note, mine.approve ? 'ok' : 'warn', mine.approve ? 'You approved this block.' : `You rejected this block${mine.reason ? `: “${mine.reason}”` : '.'}`);
	else say(note, 'info', '');
}

async function verdict(card, approveIt) {
	const hash = card.hash;
	const { approve, reject, reason, note } = card.parts;
	const why = reason.value.trim();
	if (!approveIt) {
		if (!why) {
			card.noteFromAction = true;
			say(note, 'err', 'Say why you reject the block (up to 200 bytes).');
			reason.setAttribute('aria-invalid', 'true');
			reason.focus();
			return;
		}
		try {
			encodeText(why);
		} catch {
			card.noteFromAction = true;
			say(note, 'err', 'The reason is too long: at most 200 bytes.');
			reason.focus();
			return;
		}
	}
	reason.removeAttribute('aria-invalid');
	const button = approveIt ? approve : reject;
	card.busy = true;
	card.noteFromAction = true;
	busy(button, true, approveIt ? 'Signing…' : 'Signing…');
	try {
		const msg = approveIt ? approvalMessage(hash) : rejectionMessage(hash, why);
		const signature = hex(await sign(key.privateKey, msg));
		if (approveIt) {
			const r = await post(`/api/proposals/${hash}/approvals`, { validator_key: key.publicHex, signature });
			say(note, 'ok', r && r.committed
				? `Approved. That was approval ${r.approvals} of ${r.threshold}: the block is committed.`
				: `Approved (${r ? r.approvals : '?'} of ${r ? r.threshold : '?'} approvals).`);
		} else {
			await post(`/api/proposals/${hash}/rejections`, { validator_key: key.publicHex, signature, reason: why });
			reason.value = '';
			say(note, 'warn', 'Rejection recorded.');
		}
		await refresh();
	} catch (e) {
		say(note, 'err', explain(e, {
			not_found: 'This proposal is gone: it was committed or replaced by another block at its height.',
			stale: 'This proposal is stale: another block at its height was committed.',
		}));
	} finally {
		card.busy = false;
		busy(button, false);
		if (cards.has(hash)) updateActions(card, card.last);
	}
}

function newCard(p) {
	const b = p.block;
	const hash = b.hash;
	const id = 'p-' + hash.slice(0, 16);
	const approve = h('button', { type: 'button', class: 'approve' }, 'Approve block');
	const reason = h('input', { type: 'text', id: id + '-reason', maxlength: 200, autocomplete: 'off' });
	const reject = h('button', { type: 'button', class: 'danger reject' }, 'Reject');
	const note = h('p', { class: 'msg', role: 'status', hidden: true });
	const badge = h('span', { class: 'badge' });
	const wait = h('span', { class: 'badge wait' });
	const verdicts = h('div', {});
	const server = h('ul', { class: 'checks server-checks' });
	const local = h('ul', { class: 'checks local-checks' }, checkItem(null, 'Checking in this browser…'));
	const votesBody = h('tbody', {});
	const el = h('article', { class: 'card proposal', id, 'aria-labelledby': id + '-h', dataset: { hash } },
		h('header', {}, h('h3', { id: id + '-h' }, b.seal ? `Proposal for block ${b.height}: the seal` : b.change ? `Proposal for block ${b.height}: a change (${b.change.kind})` : `Proposal for block ${b.height}`), badge, ' ', wait),
		facts([
			['Hash', hexCode(hash)],
			['Previous', hexCode(b.prev_hash)],
			b.seal ? ['Seal', `closes the election, closed ${when(b.seal.closed_at)}; approve it only when the election is closed and every vote pending at the close is committed (the server refuses it before)`]
				: ['Votes', String((b.votes || []).length)],
			['Mined', when(b.timestamp)],
			['Difficulty', `${b.difficulty} bits, nonce ${b.nonce}`],
		]),
		h('h4', {}, 'Checks in your browser'), local,
		h('h4', {}, 'The server\'s checks'), server,
		h('details', {}, h('summary', {}, (b.votes || []).length === 1 ? 'The vote' : `The ${(b.votes || []).length} votes`),
			h('div', { class: 'table-wrap' }, h('table', {},
				h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Receipt'), h('th', { scope: 'col' }, 'Voter'),
					h('th', { scope: 'col' }, 'Candidate'), h('th', { scope: 'col' }, 'Signature (browser)'), h('th', { scope: 'col' }, 'Server'))),
				votesBody))),
		h('h4', {}, 'Verdicts'), verdicts,
		h('div', { class: 'actions' }, approve),
		h('div', { class: 'row' },
			h('div', { class: 'field' }, h('label', { for: id + '-reason' }, 'Reason for rejecting'), reason),
			h('div', { class: 'field' }, reject)),
		note);
	const card = { el, hash, height: b.height, receivedAt: typeof p.received_at === 'number' ? p.received_at : undefined, parts: { approve, reject, reason, note, badge, wait, verdicts, server, local, votesBody }, local: null, last: p, busy: false };
	approve.addEventListener('click', () => verdict(card, true));
	reject.addEventListener('click', () => verdict(card, false));
	reason.addEventListener('keydown', (ev) => {
		if (ev.key === 'Enter') {
			ev.preventDefault();
			verdict(card, false);
		}
	});
	// The block never changes under its hash, so the browser's checks run once.
	checkBlock(b, { difficulty: election && election.difficulty, electionId: election && election.genesis_hash }).then((r) => {
		card.local = r;
		clear(local).append(...r.checks.map((c) => checkItem(c.ok, c.label, c.detail)));
		fillVotes(card);
	});
	return card;
}

function fillVotes(card) {
	const b = card.last.block;
	const { perVote } = serverChecks(card.last.checks);
	const body = clear(card.parts.votesBody);
	(b.votes || []).forEach((v, i) => {
		const mine = card.local ? card.local.voteResults[i] : null;
		const txid = (mine && mine.txid) || v.txid || '';
		const srv = perVote.get(txid) || perVote.get(i);
		const ok = srv ? voteOk(srv) : null;
		const srvText = !srv || ok === null ? '—' : ok ? '✓ ok' : `✗ ${srv.result || srv.error || 'invalid'}`;
		body.append(h('tr', {},
			h('td', {}, hexCode(txid)), h('td', {}, hexCode(v.voter_key)), h('td', {}, candidateName(v.candidate_id)),
			h('td', {}, mine ? (mine.ok ? '✓ valid' : '✗ invalid') : '…'), h('td', {}, srvText)));
	});
}

function updateCard(card, p, threshold) {
	card.last = p;
	const n = approvalCount(p);
	const { badge, verdicts, server } = card.parts;
	clear(badge).append(progress(n, threshold), ` ${n} of ${threshold} approvals`);
	badge.className = 'badge ' + (n >= threshold ? 'ok' : '');
	clear(verdicts).append(verdictList(p));
	const { items } = serverChecks(p.checks);
	clear(server).append(...(items.length ? items : [h('li', { class: 'check' }, 'The server sent no checks.')]));
	if (card.local) fillVotes(card);
	updateActions(card, p);
}

async function gone(card) {
	try {
		const b = await get('/api/blocks/' + card.height);
		return b.hash === card.hash ? `Block ${card.height} (${shortHex(card.hash)}) is committed.` : `Proposal ${shortHex(card.hash)} was discarded: another block was committed at height ${card.height}.`;
	} catch {
		return `Proposal ${shortHex(card.hash)} left the list.`;
	}
}

async function refresh() {
	const status = $('props-status');
	let doc;
	try {
		doc = await get('/api/proposals');
		say($('props-error'), 'err', '');
	} catch (e) {
		if (e.code === 'bad_state' || e.code === 'not_found') {
			say($('props-error'), 'err', '');
			status.textContent = e.code === 'bad_state'
				? 'The election has not opened yet: proposals appear here once it is open and miners send blocks.'
				: 'No election has been set up yet.';
			return;
		}
		say($('props-error'), 'err', 'Could not load the proposals: ' + explain(e));
		return;
	}
	// the list is a short summary per proposal; a proposal's block, checks and verdicts
	// are fetched once, and again only when its counts of verdicts change
	const list = Array.isArray(doc.proposals) ? doc.proposals : [];
	const threshold = doc.threshold ?? (election && election.threshold) ?? 2;
	const container = $('proposals');
	const seen = new Set();
	for (const s of list) {
		if (!s || typeof s.hash !== 'string') continue;
		seen.add(s.hash);
		let card = cards.get(s.hash);
		const counts = `${s.n_approvals}/${s.n_rejections}`;
		if (card && card.counts === counts) continue;
		let p;
		try {
			p = await get('/api/proposals/' + s.hash);
		} catch (e) {
			if (e.code !== 'not_found') say($('props-error'), 'err', 'Could not load a proposal: ' + explain(e));
			seen.delete(s.hash);
			continue;
		}
		if (!p || !p.block || p.block.hash !== s.hash) continue;
		if (!card) {
			card = newCard(p);
			cards.set(s.hash, card);
			container.append(card.el);
		}
		card.counts = counts;
		updateCard(card, p, p.threshold ?? threshold);
	}
	for (const [hash, card] of cards) {
		if (seen.has(hash)) continue;
		cards.delete(hash);
		card.el.remove();
		gone(card).then((m) => say($('props-news'), 'ok', m));
	}
	// "height" is the height the proposals compete for: one above the chain's tip
	const tip = typeof doc.height === 'number' ? `Proposals for block ${doc.height}` : '';
	status.textContent = `${tip}${tip ? ' · ' : ''}${list.length} proposal${list.length === 1 ? '' : 's'} · ${threshold} approvals commit a block · updated ${new Date().toLocaleTimeString()}`;
	updateWaits();
	if (!list.length && !container.querySelector('.empty'))
		container.append(h('p', { class: 'empty hint' }, 'No proposals right now. New blocks from the miners appear here by themselves.'));
	else if (list.length) for (const e of container.querySelectorAll('.empty')) e.remove();
}

async function main() {
	try {
		election = await get('/api/election');
	} catch (e) {
		say($('props-error'), 'err', 'The election could not be loaded: ' + explain(e));
	}
	const changes = changesPanel($('changes'), { mode: 'validator', getKey: () => key });
	const panel = await keyPanel('validator', (k) => {
		key = k;
		showRole();
		changes.refresh();
	});
	$('key-make').addEventListener('click', () => makeKey(panel));
	const limit = $('wait-limit');
	try {
		const kept = Number(localStorage.getItem(WAIT_KEY));
		if (Number.isInteger(kept) && kept >= 1 && kept <= 86400) limit.value = String(kept);
	} catch {
		/* no storage: the default */
	}
	limit.addEventListener('input', () => {
		const ok = Number.isInteger(Number(limit.value)) && Number(limit.value) >= 1 && Number(limit.value) <= 86400;
		limit.toggleAttribute('aria-invalid', !ok);
		if (!ok) return;
		try {
			localStorage.setItem(WAIT_KEY, limit.value);
		} catch {
			/* kept for this page only */
		}
		updateWaits();
	});
	setInterval(updateWaits, 1000);
	$('refresh').addEventListener('click', () => refresh());
	poll(refresh, REFRESH_MS);
}

// A new key pair made here: its key file offered for download (the only copy of the
// private key outside WebCrypto), and the key in use on this page.
async function makeKey(panel) {
	const button = $('key-make');
	say($('key-make-error'), 'err', '');
	busy(button, true, 'Making a key…');
	try {
		const made = await generateKey();
		$('key-made-public').textContent = made.publicHex;
		const link = downloadLink(`chainvote-validator-${made.publicHex.slice(2, 14)}.json`,
			JSON.stringify(made.keyFile, null, 1) + '\n', 'application/json', 'Download the key file');
		link.id = 'key-download';
		$('key-download-slot').replaceChildren(link);
		$('key-made').hidden = false;
		await panel.use(made, 'made');
	} catch (e) {
		say($('key-make-error'), 'err', 'No key could be made here: ' + (e.message || String(e)));
	} finally {
		busy(button, false);
	}
}

if (requireCrypto('sign approvals')) main();
