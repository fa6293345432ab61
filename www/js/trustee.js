// Trustee page: a validator's part in a secret election's key ceremony and decryption,
// every step of `chainvote trustee` in the browser. The validator key (keypanel, role
// 'trustee', with its ECDH form) signs and opens shares here; the secret polynomial and
// s_j live in this page and in the files the trustee saves (the CLI's formats), never on
// the service. The math and formats are www/js/ceremony.js; this file drives the steps
// against GET /api/ceremony, POST /api/ceremony/{entries,shares,checks},
// GET /api/ceremony/shares/{key}, GET /api/chain/export and POST /api/decryptions.

import './shell.js';
import { get, post, ApiError } from './api.js';
import * as cer from './ceremony.js';
import { keyPanel } from './keypanel.js';
import { $, h, clear, say, explain, busy, poll, checkItem, shortHex, facts, hexCode, requireCrypto, downloadLink } from './ui.js';

const REFRESH_MS = 5000;

let key = null; // {privateKey, ecdhKey, publicHex}
let election = null; // GET /api/election
let ceremony = null; // GET /api/ceremony
let localSetup = null; // setup_hash recomputed here from the election shown
let secret = null; // {setupHash, validatorKey, coefficients}: the polynomial
let share = null; // {setupHash, validatorKey, x, share, trusteeKey}: s_j
let pending = null; // {entry (unsigned), saved}: made here, not posted yet
let working = false;

const lower = (s) => String(s || '').toLowerCase();
const me = () => (key ? key.publicHex.toLowerCase() : '');
const myRow = () => (ceremony && key ? (ceremony.trustees || []).find((t) => lower(t.validator_key) === me()) : null);
const entries = () => (ceremony ? ceremony.trustees.filter((t) => t.entry).map((t) => t.entry) : []);
const allEntriesIn = () => !!ceremony && ceremony.trustees.length > 0 && ceremony.trustees.every((t) => t.entry);
const setupOk = () => !!ceremony && localSetup === lower(ceremony.setup_hash);
const inSetup = () => !!election && election.state === 'setup';

// The loaded secret is this trustee's, for this setup, and is the entry posted (C_0 = a_0·G).
function secretMatches() {
	const row = myRow();
	return !!(secret && ceremony && secret.validatorKey === me() && secret.setupHash === lower(ceremony.setup_hash) &&
		row && row.entry && lower(row.entry.commitments[0]) === cer.publicOf(secret.coefficients[0]) &&
		row.entry.commitments.length === secret.coefficients.length);
}

function nameOf(k) {
	const t = ceremony && ceremony.trustees.find((x) => lower(x.validator_key) === lower(k));
	return t ? `${t.name} (x = ${t.x})` : shortHex(k);
}

function updateActions() {
	const row = myRow();
	const ready = !working && key && row;
	$('secret-make').disabled = !(ready && inSetup() && setupOk() && !row.entry && !pending);
	$('entry-post').disabled = !(ready && pending && pending.saved && inSetup() && !row.entry);
	const unsent = row && ceremony.trustees.filter((t) => t.x !== row.x &&
		!ceremony.shares.some((s) => lower(s.sender) === me() && lower(s.recipient) === lower(t.validator_key)));
	$('shares-send').disabled = !(ready && inSetup() && allEntriesIn() && secretMatches() && unsent.length);
	$('shares-check').disabled = !(ready && allEntriesIn() && secretMatches());
	$('decrypt-post').disabled = !(ready && election && election.final && (share || secretMatches()));
	const role = $('key-role');
	if (!key || !ceremony) {
		role.hidden = true;
	} else {
		role.hidden = false;
		role.textContent = row
			? `This key is trustee x = ${row.x} (${row.name}) of this election.`
			: 'This key is not one of this election\'s validators, so it is not a trustee here.';
		role.className = row ? 'msg ok' : 'msg warn';
	}
}

async function renderCeremony() {
	const facts_ = $('cer-facts');
	clear(facts_);
	const rows = clear($('cer-rows'));
	if (!election || !ceremony) return;
	if (election.ballots !== 'secret') {
		$('cer-table').hidden = true;
		$('cer-status').textContent = 'This election\'s ballots are open (public): it has no trustees and no key ceremony.';
		return;
	}
	localSetup = cer.setupHash(election, election.candidates || [], election.validators || []);
	const complete = ceremony.complete;
	const state = election.state === 'setup' ? (complete ? 'complete: the admin can open the election' : 'in progress')
		: election.final ? 'done; the election is sealed: trustees post their decryption shares'
			: `done; the election is ${election.state}`;
	$('cer-status').textContent = `Ceremony ${state} · updated ${new Date().toLocaleTimeString()}`;
	$('cer-status').dataset.complete = complete ? '1' : '0';
	const setup = setupOk()
		? h('span', {}, hexCode(ceremony.setup_hash), ' ✓ recomputed here from the title, settings, candidates and validators')
		: h('span', {}, hexCode(ceremony.setup_hash), ' ✗ not the hash of the setup this page shows: do not sign for it');
	facts_.append(facts([
		['Election', election.title],
		['Candidates', (election.candidates || []).map((c) => c.name).join(', ')],
		['Quorum', `${ceremony.quorum} of ${ceremony.trustees.length} trustees decrypt`],
		['setup_hash', setup],
		['Complaints', String(ceremony.complaints)],
		['Voided runs', String(ceremony.voided)],
	]));
	for (const t of ceremony.trustees) {
		let entry = 'not yet';
		if (t.entry) {
			const v = await cer.verifyTrusteeEntry(t.entry, ceremony.setup_hash);
			entry = v.ok ? '✓ posted, proofs checked here' : `✗ ${v.problem}`;
		}
		const mine = lower(t.validator_key) === me();
		rows.append(h('tr', { class: mine ? 'mine' : null, dataset: { key: t.validator_key } },
			h('td', {}, String(t.x)), h('td', {}, t.name, mine ? ' (you)' : '', ' ', hexCode(t.validator_key)),
			h('td', { class: 'entry' }, entry), h('td', {}, String(t.shares_sent)), h('td', {}, String(t.shares_received)),
			h('td', {}, String(t.confirmed)), h('td', {}, String(t.complaints))));
	}
	$('cer-table').hidden = false;
}

function renderSecret() {
	const st = $('secret-status');
	if (share) {
		st.textContent = `Your share s_j (x = ${share.x}) is loaded: s_j·G = ${shortHex(share.trusteeKey)}.`;
	} else if (secret) {
		const ok = secretMatches();
		const row = myRow();
		st.textContent = ok ? `Your secret polynomial (${secret.coefficients.length} coefficients) is loaded; it matches your posted entry.`
			: row && !row.entry && ceremony && secret.setupHash === lower(ceremony.setup_hash)
				? 'Your secret polynomial is loaded, but no entry of yours is posted.'
				: 'The loaded secret file is not the one of your posted entry for this setup (another key, or the setup or ceremony changed).';
	} else {
		st.textContent = 'No trustee secret loaded.';
	}
}

async function refresh() {
	try {
		election = await get('/api/election');
		ceremony = await get('/api/ceremony');
		say($('cer-error'), 'err', '');
	} catch (e) {
		say($('cer-error'), 'err', 'The ceremony could not be loaded: ' + explain(e));
		$('cer-status').textContent = 'Not loaded.';
		return;
	}
	await renderCeremony();
	renderSecret();
	updateActions();
}

async function step(button, label, fn) {
	working = true;
	updateActions();
	busy(button, true, label);
	try {
		await fn();
	} finally {
		busy(button, false);
		working = false;
		await refresh();
	}
}

// ---- 1. the secret and the entry ----

function makeSecret() {
	const row = myRow();
	const coefficients = cer.drawPolynomial(ceremony.quorum);
	secret = { setupHash: lower(ceremony.setup_hash), validatorKey: me(), coefficients };
	share = null;
	pending = { entry: cer.makeTrusteeEntry({ setupHash: ceremony.setup_hash, validatorKey: me(), coefficients }), saved: false };
	const link = downloadLink(`chainvote-trustee-${row.x}-${ceremony.setup_hash.slice(0, 8)}.secret.json`,
		JSON.stringify(cer.secretFile(ceremony.setup_hash, me(), coefficients), null, 1) + '\n', 'application/json',
		'Download my secret file');
	link.id = 'secret-download';
	link.addEventListener('click', () => {
		pending.saved = true;
		updateActions();
	});
	$('secret-download-slot').replaceChildren(link);
	$('secret-made').hidden = false;
	say($('entry-msg'), 'info', 'Save the secret file, then post your entry.');
	renderSecret();
	updateActions();
}

async function postEntry() {
	const msg = $('entry-msg');
	await step($('entry-post'), 'Posting…', async () => {
		try {
			await post('/api/ceremony/entries', await cer.signTrusteeEntry(pending.entry, key.privateKey));
			pending = null;
			$('secret-made').hidden = true;
			say(msg, 'ok', 'Your trustee entry is posted. When every trustee\'s entry is in, send your shares.');
		} catch (e) {
			say(msg, 'err', 'Your entry was not taken: ' + explain(e, {
				exists: 'An entry of yours is posted already.',
				trustee_setup_hash: 'The setup changed while you were making it: reload and make a new polynomial.',
			}));
		}
	});
}

async function loadTrusteeFile() {
	const input = $('secret-file');
	const f = input.files && input.files[0];
	say($('secret-error'), 'err', '');
	if (!f) return;
	try {
		if (f.size > 65536) throw new Error('That file is too large to be a trustee file.');
		const doc = cer.readTrusteeFile(await f.text());
		if (key && doc.validatorKey !== me()) throw new Error('That file belongs to another trustee\'s key.');
		if (doc.kind === 'secret') {
			secret = doc;
			pending = null;
			$('secret-made').hidden = true;
		} else {
			share = doc;
		}
	} catch (e) {
		say($('secret-error'), 'err', e.message || String(e));
	} finally {
		input.value = '';
	}
	renderSecret();
	updateActions();
}

// ---- 2. shares ----

async function sendShares() {
	const msg = $('shares-msg');
	const list = clear($('shares-list'));
	await step($('shares-send'), 'Sealing and sending…', async () => {
		let sent = 0;
		let failed = 0;
		for (const t of ceremony.trustees) {
			const to = lower(t.validator_key);
			if (to === me() || ceremony.shares.some((s) => lower(s.sender) === me() && lower(s.recipient) === to)) continue;
			try {
				const { share: sh } = await cer.sealShare({
					setupHash: ceremony.setup_hash, sender: me(), privateKey: key.privateKey, recipient: to,
					value: cer.polyEval(secret.coefficients, t.x),
				});
				await post('/api/ceremony/shares', sh);
				sent++;
				list.append(checkItem(true, `Share sealed to ${nameOf(to)} and sent`));
			} catch (e) {
				if (e instanceof ApiError && e.code === 'exists') continue;
				failed++;
				list.append(checkItem(false, `Share to ${nameOf(to)} not sent`, explain(e)));
			}
		}
		say(msg, failed ? 'err' : 'ok', failed ? `${failed} share${failed === 1 ? '' : 's'} could not be sent.`
			: `${sent} share${sent === 1 ? '' : 's'} sent. Now check the shares sent to you as they arrive.`);
	});
}

// Opens every share addressed to this trustee and checks it against its sender's entry.
// Returns [{sender, value (BigInt) or null, good, why}] in the service's order.
async function openReceived() {
	const doc = await get(`/api/ceremony/shares/${me()}`);
	const x = myRow().x;
	const out = [];
	for (const sh of doc.shares || []) {
		const sender = lower(sh.sender);
		const entry = ceremony.trustees.find((t) => lower(t.validator_key) === sender && t.entry);
		let good = false;
		let why = '';
		let value = null;
		if (!entry) why = 'the sender has no entry';
		else if (lower(sh.setup_hash) !== lower(ceremony.setup_hash)) why = 'made for another setup';
		else {
			const o = await cer.openShare(sh, me(), key.ecdhKey);
			if (!o.ok) why = { bad_signature: 'the sender\'s signature does not verify', sealed_open: 'it does not open with this key', bad_key: 'its ephemeral key is no point' }[o.problem] || o.problem;
			else if (!cer.shareMatches(o.value, entry.entry.commitments, x)) why = 'the value does not match the sender\'s commitments';
			else {
				good = true;
				value = o.value;
			}
		}
		out.push({ sender, value, good, why });
	}
	return out;
}

// s_j from the received values, checked against K_j. Returns the share record or throws.
function combine(received) {
	const x = myRow().x;
	const s = cer.combineShares(cer.polyEval(secret.coefficients, x), received.map((r) => r.value));
	const Kj = cer.trusteeKey(entries(), x);
	if (cer.publicOf(s) !== Kj) throw new Error('s_j·G is not K_j: the shares do not add up.');
	return { setupHash: lower(ceremony.setup_hash), validatorKey: me(), x, share: s, trusteeKey: Kj };
}

function offerShareFile() {
	const link = downloadLink(`chainvote-trustee-${share.x}-${share.setupHash.slice(0, 8)}.share.json`,
		JSON.stringify(cer.shareFile(share.setupHash, share.validatorKey, share.x, share.share), null, 1) + '\n',
		'application/json', 'Download my share file');
	link.id = 'share-download';
	$('share-download-slot').replaceChildren(link);
}

async function checkShares() {
	const msg = $('shares-msg');
	const list = clear($('shares-list'));
	await step($('shares-check'), 'Checking…', async () => {
		const n = ceremony.trustees.length;
		let received;
		try {
			received = await openReceived();
		} catch (e) {
			say(msg, 'err', 'The shares sent to you could not be read: ' + explain(e));
			return;
		}
		let complaints = 0;
		let good = 0;
		for (const r of received) {
			const done = ceremony.checks.find((c) => lower(c.trustee) === me() && lower(c.sender) === r.sender);
			if (!r.good || (done && !done.good)) complaints++;
			else good++;
			list.append(checkItem(r.good, `Share from ${nameOf(r.sender)}`, r.good ? 'opens with your key and matches its sender\'s commitments' : r.why));
			if (done || !inSetup()) continue;
			try {
				await post('/api/ceremony/checks', await cer.makeCheck({
					setupHash: ceremony.setup_hash, trustee: me(), sender: r.sender, good: r.good, privateKey: key.privateKey,
				}));
				list.append(checkItem(true, r.good ? `Confirmation of ${nameOf(r.sender)}'s share posted` : `Complaint about ${nameOf(r.sender)}'s share posted`));
			} catch (e) {
				if (!(e instanceof ApiError && e.code === 'exists')) list.append(checkItem(false, `Check of ${nameOf(r.sender)}'s share not posted`, explain(e)));
			}
		}
		if (complaints) {
			say(msg, 'err', `${complaints} complaint${complaints === 1 ? '' : 's'} stand${complaints === 1 ? 's' : ''}: the admin resets the ceremony and every trustee makes a new polynomial.`);
			return;
		}
		if (good < n - 1) {
			say(msg, 'info', `Waiting: ${good} of ${n - 1} shares received and confirmed. Check again when the others have sent theirs.`);
			return;
		}
		try {
			share = combine(received);
		} catch (e) {
			say(msg, 'err', e.message);
			return;
		}
		offerShareFile();
		say(msg, 'ok', `Every share is confirmed. Your share s_j (x = ${share.x}) checks against K_j. Download your share file: you need it (or your secret file) to decrypt after the seal.`);
	});
}

// ---- 3. the decryption share ----

async function postDecryption() {
	const msg = $('decrypt-msg');
	await step($('decrypt-post'), 'Reading the chain…', async () => {
		try {
			if (!share) {
				const received = await openReceived();
				if (received.length !== ceremony.trustees.length - 1 || received.some((r) => !r.good))
					throw new Error('The shares sent to you do not all open and match: your s_j cannot be made from the secret file.');
				share = combine(received);
			}
			const exportDoc = await get('/api/chain/export');
			const agg = await cer.sealedAggregate(exportDoc, { genesisHash: election.genesis_hash, me: me() });
			if (!agg.ok) throw new Error('The chain does not check: ' + agg.problem + '. Nothing was decrypted.');
			const mine = agg.genesis.secrecy.trustees.findIndex((t) => lower(t.validator_key) === me());
			const Kj = cer.trusteeKey(agg.genesis.secrecy.trustees, mine + 1);
			if (cer.publicOf(share.share) !== Kj) throw new Error('Your loaded share is not this election\'s s_j (s_j·G is not K_j).');
			const made = cer.makeDecryption({
				electionId: agg.genesis.hash, validatorKey: me(), throughHeight: agg.throughHeight, s: share.share,
				trusteeKey: Kj, alphas: agg.alphas,
			});
			const doc = await post('/api/decryptions', await cer.signDecryption(made, key.privateKey));
			const p = h('span', {}, `Your decryption share over ${agg.ballots} ballot${agg.ballots === 1 ? '' : 's'} (blocks 1 to ${agg.throughHeight}) is posted: `,
				h('code', { id: 'decrypt-txid', class: 'hex' }, doc.txid));
			say(msg, 'ok', ' ');
			msg.replaceChildren(p);
		} catch (e) {
			if (e instanceof ApiError && e.code === 'decryption_duplicate') say(msg, 'ok', 'Your decryption share is posted already.');
			else say(msg, 'err', e instanceof ApiError ? 'Your decryption share was not taken: ' + explain(e) : e.message || String(e));
		}
	});
}

async function main() {
	await keyPanel('trustee', (k) => {
		key = k;
		if (secret && key && secret.validatorKey !== me()) secret = null;
		if (share && key && share.validatorKey !== me()) share = null;
		renderCeremony().then(() => {
			renderSecret();
			updateActions();
		});
	}, { ecdh: true });
	$('secret-make').addEventListener('click', makeSecret);
	$('entry-post').addEventListener('click', postEntry);
	$('secret-file').addEventListener('change', loadTrusteeFile);
	$('shares-send').addEventListener('click', sendShares);
	$('shares-check').addEventListener('click', checkShares);
	$('decrypt-post').addEventListener('click', postDecryption);
	$('cer-refresh').addEventListener('click', () => refresh());
	poll(refresh, REFRESH_MS);
}

if (requireCrypto('take part in the key ceremony')) main();
