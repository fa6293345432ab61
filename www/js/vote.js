// The voting page: key (IndexedDB or file) → the key checked against the roll (a key
// that is not on it, or has voted, is told so and offered no ballot) → ballot →
// confirmation → the vote signed here, stamped with the service's time, and posted → the service's signed acceptance checked and kept with the vote (in
// local storage and as a receipt file to download) → a receipt tracked live until its
// block is committed, then the inclusion proof, block hash, proof of work and approvals
// checked in this page. In a secret election (DESIGN section 6) the choice is encrypted
// and proved here (ballot.js) and the voter casts it or checks its encryption (the
// Benaloh challenge of 6.2): a checked ballot reveals its randomness, is never sent, and
// a fresh one is prepared.

import './shell.js';
import { get, post, serverNow, clockSkew } from './api.js';
import { hex, votePayload, isHex } from './encode.js';
import { sha256, sign } from './crypto.js';
import { checkReceipt, checkApprovals, checkAcceptance } from './verify.js';
import { keyPanel } from './keypanel.js';
import { $, h, clear, say, explain, busy, poll, checkItem, downloadLink, requireCrypto } from './ui.js';
import { electionKey, makeBallot, signBallot, checkOpening, challengeFile } from './ballot.js';

let election = null;
let key = null;
let choice = null;
let stopTracking = null;
let validatorsCache = null;
let ballotShape = '';
// A secret election's key and candidates in position order (from the genesis), once
// known; and the ballot prepared for the current choice ({ballot, payload, txid,
// opening, choiceId, sent}), which is either cast or checked, never both.
let secret = null;
let prepared = null;
// What the service said of the loaded key (GET /api/voters/{key}): null while not
// asked yet; {refused: 'not_on_roll' | 'already_voted', txid} when no ballot is offered.
let roll = null;

const STATE_TEXT = {
	setup: 'is not open yet: voters are still registering.',
	open: 'is open for voting.',
	closed: 'is closed.',
};

function receiptKey(publicHex) {
	return 'chainvote-receipt-' + publicHex;
}

function savedReceipt(publicHex) {
	try {
		return JSON.parse(localStorage.getItem(receiptKey(publicHex)) || 'null');
	} catch {
		return null;
	}
}

// What this browser kept of the vote with this txid by the loaded key, or null.
function savedFor(txid) {
	const prior = key ? savedReceipt(key.publicHex) : null;
	return prior && prior.txid === txid ? prior : null;
}

function candidateName(id) {
	const c = election && (election.candidates || []).find((x) => x.id === id);
	return c ? c.name : `candidate ${id}`;
}

function renderBallot() {
	const note = $('ballot-note');
	const choices = $('choices');
	const review = $('review-button');
	// Rebuilt only when something changed, so a refresh never drops a pick or the focus.
	const shape = JSON.stringify([election && election.state, election && election.candidates, key && key.publicHex, roll]);
	if (shape === ballotShape) return;
	ballotShape = shape;
	const current = choices.querySelector('input[name=candidate]:checked');
	const keep = current ? current.value : choice ? String(choice.id) : null;
	clear(choices);
	if (!election) return;
	for (const c of election.candidates || []) {
		const id = `cand-${c.id}`;
		const input = h('input', { type: 'radio', name: 'candidate', id, value: c.id });
		if (keep === String(c.id)) input.checked = true;
		choices.append(h('label', { class: 'choice', for: id }, input, h('span', {}, c.name)));
	}
	let why = '';
	let disabled = election.state !== 'open' || !key;
	const refused = !!(roll && roll.refused);
	if (election.state !== 'open') why = `Voting is not possible now: the election ${STATE_TEXT[election.state] || 'is not open.'}`;
	else if (!key) why = 'Load your key (step 1) to vote.';
	else if (!roll) {
		why = 'Checking your key against the electoral roll…';
		disabled = true;
	} else if (refused) {
		why = roll.refused === 'not_on_roll' ? 'No ballot: this key is not on the electoral roll (see step 1).'
			: 'No ballot: this key has already voted (see step 1).';
		disabled = true;
	} else {
		const prior = savedReceipt(key.publicHex);
		if (prior) why = 'This browser already cast a vote with this key; its receipt is shown below.';
	}
	say(note, 'info', why);
	// a refused key is offered no ballot at all, not just a greyed one
	$('ballot').hidden = refused;
	for (const i of choices.querySelectorAll('input')) i.disabled = disabled;
	review.disabled = disabled;
}

async function loadElection() {
	try {
		const before = election && election.state;
		election = await get('/api/election');
		if (election.ballots === 'secret' && election.genesis_hash && !secret) secret = await loadSecret();
		// opened since the key was loaded: the roll is fixed now, ask about the key
		if (key && before && before !== election.state && election.state === 'open') checkRoll(key);
		const line = $('election-line');
		clear(line);
		line.append(h('strong', {}, election.title || 'The election'), ' ', STATE_TEXT[election.state] || '');
		say($('election-error'), 'err', '');
		showClock();
	} catch (e) {
		$('election-line').textContent = '';
		say($('election-error'), 'err', 'The election could not be loaded: ' + explain(e));
	}
	renderBallot();
}

// The election key K = Σ C_j,0 from the genesis's trustee entries (the service's
// GET /api/election does not state it), and the candidates in genesis (position) order.
async function loadSecret() {
	const g = await get('/api/blocks/0');
	if (!g || g.hash !== election.genesis_hash) throw new Error('the genesis block is not the election\'s');
	return { K: electionKey(g), candidates: g.candidates };
}

// Encrypts and proves the current choice; shows the fingerprint and the two ways on.
async function prepareSecret() {
	const status = $('secret-status');
	$('secret-ready').hidden = true;
	say($('secret-error'), 'err', '');
	status.textContent = 'Encrypting your ballot in this browser…';
	// let the line paint before the work, which holds the thread for a moment
	await new Promise((resolve) => setTimeout(resolve, 0));
	const position = secret.candidates.findIndex((c) => c.id === choice.id);
	const t0 = performance.now();
	prepared = makeBallot({
		K: secret.K, electionId: election.genesis_hash, voterKey: key.publicHex,
		timestamp: Math.floor(serverNow() / 1000), k: secret.candidates.length, choice: position,
	});
	const ms = performance.now() - t0;
	prepared.choiceId = choice.id;
	prepared.sent = false;
	$('secret-card').dataset.prepareMs = ms.toFixed(1);
	$('secret-name').textContent = choice.name;
	$('secret-fingerprint').textContent = prepared.txid;
	$('secret-check').disabled = false;
	status.textContent = `Ballot ready (encrypted and proved in ${Math.round(ms)} ms).`;
	$('secret-ready').hidden = false;
}

// The challenge: reveals the prepared ballot's randomness, checks it here, offers the
// file for `chainvote check-ballot`, and prepares a fresh ballot. The checked ballot is
// dropped: never signed, never sent.
async function checkSecret() {
	const spoiled = prepared;
	if (!spoiled || spoiled.sent) return;
	prepared = null;
	const out = $('secret-checked');
	clear(out);
	const res = checkOpening(spoiled.ballot, secret.K, spoiled.opening, secret.candidates);
	const shown = secret.candidates.find((c) => c.id === spoiled.choiceId);
	const good = res.ok && res.candidate.id === spoiled.choiceId && res.fingerprint === spoiled.txid;
	out.append(h('h3', {}, 'The checked ballot (not sent)'),
		h('p', { class: good ? 'msg ok' : 'msg err', id: 'secret-check-result' }, good
			? `This page's check: the ballot with fingerprint ${spoiled.txid.slice(0, 16)}… encrypted ${shown.name}, the choice shown.`
			: 'This page\'s check FAILED: the ballot did not encrypt the choice shown. Do not cast on this device; tell the election office. ' + res.problems.join(' ')),
		h('p', {}, 'Its randomness, revealed (m is 1 for the chosen candidate):'),
		h('ul', { class: 'checks', id: 'secret-opening' }, spoiled.opening.map((o, i) =>
			h('li', { dataset: { m: String(o.m) } }, `${secret.candidates[i].name}: m = ${o.m}, r = `, h('code', { class: 'hex' }, o.r)))),
		h('p', {}, 'To check it on a second device: ', h('code', {}, 'chainvote check-ballot FILE'), ' with this file.'),
		h('div', { class: 'actions' }, downloadLink(`chainvote-challenge-${spoiled.txid.slice(0, 12)}.json`,
			JSON.stringify(challengeFile(spoiled, secret.K, secret.candidates, spoiled.choiceId), null, 1),
			'application/json', 'Download the challenge file')));
	out.hidden = false;
	await prepareSecret();
	$('secret-status').textContent = `A fresh ballot is ready, with a new fingerprint. ${$('secret-status').textContent}`;
}

// Signs the prepared ballot and posts it.
async function castSecret() {
	if (!prepared) return;
	const button = $('secret-cast');
	say($('secret-error'), 'err', '');
	busy(button, true, 'Signing and sending…');
	// once sent (even if refused), this ballot is never revealed
	prepared.sent = true;
	$('secret-check').disabled = true;
	try {
		const ballot = await signBallot(prepared, key.privateKey);
		const ans = await post('/api/votes', ballot);
		if (ans && ans.txid && ans.txid !== prepared.txid) throw new Error('The server answered with a different receipt number than this page computed.');
		const saved = { txid: prepared.txid, candidate_id: prepared.choiceId, vote: ballot, acceptance: (ans && ans.acceptance) || null };
		try {
			localStorage.setItem(receiptKey(key.publicHex), JSON.stringify(saved));
		} catch {
			/* the receipt is on screen; saving it is a convenience */
		}
		$('secret-card').hidden = true;
		$('ballot-card').hidden = true;
		history.replaceState(null, '', `#txid=${saved.txid}`);
		track(saved.txid, saved).focus();
	} catch (e) {
		say($('secret-error'), 'err', (e.code === 'secret_not_served' ? '' : 'Your ballot was not cast: ') + explain(e, {
			secret_not_served: 'Your ballot was not cast: this service does not accept secret ballots yet (it answered secret_not_served). Nothing was recorded; try again later.',
			already_voted: 'This key has already voted. Each voter votes once, and the first vote stands.',
			not_on_roll: 'This key is not on the electoral roll, so it cannot vote.',
		}));
	} finally {
		busy(button, false);
	}
}

// Says so when this device's clock is more than two minutes off the service's: the vote
// is stamped with the service's time anyway (serverNow), so the clock does not matter.
function showClock() {
	const skew = clockSkew();
	if (skew === null || Math.abs(skew) <= 120000) return say($('clock-note'), 'info', '');
	const minutes = Math.round(Math.abs(skew) / 60000);
	const amount = minutes >= 2880 ? `${Math.round(minutes / 1440)} days`
		: minutes >= 120 ? `${Math.round(minutes / 60)} hours` : `${minutes} minutes`;
	say($('clock-note'), 'info', `This device's clock is ${amount} ${skew > 0 ? 'ahead of' : 'behind'} the election service's. Your vote is stamped with the service's time, so it still counts.`);
}

// Shows what the service said of the loaded key (an answer of GET /api/voters/{key}):
// not on the roll, or voted already (its vote tracked below), or free to vote. With
// focus, the line takes the focus: it answers what the person just tried.
function applyRoll(r, focus) {
	const line = $('roll-status');
	if (!r.on_roll) {
		roll = { refused: 'not_on_roll' };
		say(line, 'err', 'This key is not on the electoral roll, so it cannot vote. Load the key you registered with, or contact the election office.');
	} else if (r.status && r.status !== 'not_voted') {
		roll = { refused: 'already_voted', txid: r.txid || null };
		const where = r.status === 'committed' ? ` Its vote is committed in block ${r.height}.`
			: r.status === 'pending' ? ' Its vote is pending.' : '';
		say(line, 'err', `This key has already voted. Each voter votes once, and the first vote stands.${where}` +
			(r.txid ? ' Its receipt is shown below.' : ''));
		const shown = fromHash();
		if (r.txid && (!shown || shown === r.txid)) track(r.txid, savedFor(r.txid));
	} else {
		roll = { ok: true };
		say(line, 'err', '');
	}
	renderBallot();
	if (focus && !line.hidden) line.focus();
}

// Asks the service about key k once it is loaded (while the election is past setup).
async function checkRoll(k) {
	roll = null;
	say($('roll-status'), 'err', '');
	if (!k || !election || election.state === 'setup') {
		roll = k ? { ok: true } : null;
		renderBallot();
		return;
	}
	renderBallot();
	let r;
	try {
		r = await get('/api/voters/' + k.publicHex);
	} catch (e) {
		if (key !== k) return;
		// the service checks the roll again when the vote arrives: the ballot stays
		roll = { unchecked: true };
		say($('roll-status'), 'warn', 'Your key could not be checked against the electoral roll just now: ' + explain(e) + ' You can still vote; the service checks it when your vote arrives.');
		renderBallot();
		return;
	}
	if (key === k) applyRoll(r, false);
}

// The validator set and threshold, from the election answer or else the genesis block.
async function validatorSet() {
	if (validatorsCache) return validatorsCache;
	let validators = election && election.validators;
	let threshold = election && election.threshold;
	if (!Array.isArray(validators) || threshold === undefined) {
		const g = await get('/api/blocks/0');
		validators = g.validators;
		threshold = g.election && g.election.threshold;
	}
	validatorsCache = { validators, threshold };
	return validatorsCache;
}

function showCheckList(target, checks) {
	target.append(h('ul', { class: 'checks' }, checks.map((c) => checkItem(c.ok, c.label, c.detail))));
}

// The receipt file (the same JSON `chainvote vote --receipt-out` writes): the vote (a
// secret election's: the ballot, under "ballot") as signed here and the service's
// acceptance of it. `chainvote verify --receipts DIR` reads a directory of these.
function receiptFile(vote, txid, acceptance) {
	const kind = Array.isArray(vote.ciphertexts) ? 'ballot' : 'vote';
	return { format: 'chainvote-receipt/1', [kind]: { ...vote, txid }, acceptance };
}

// Shows the acceptance kept with the receipt: when the service accepted the vote, whether
// its signature checks out under the published key, and the receipt file to download.
async function showAcceptance(txid, saved) {
	const line = $('receipt-accepted');
	const slot = $('receipt-download');
	clear(slot);
	line.hidden = true;
	if (!saved || !saved.acceptance || !saved.vote) return;
	const ok = election && (await checkAcceptance(saved.acceptance, txid, election.service_key));
	line.hidden = false;
	line.className = ok ? 'msg ok' : 'msg err';
	line.textContent = ok
		? `Accepted by the service at ${new Date(saved.acceptance.accepted_at * 1000).toLocaleString()}; its signature checks out. Keep the receipt file: it proves the service took your vote.`
		: 'The service\'s acceptance of this vote does not check out under its published key. Keep the receipt file and tell the election office.';
	slot.append(downloadLink(`chainvote-receipt-${txid.slice(0, 12)}.json`,
		JSON.stringify(receiptFile(saved.vote, txid, saved.acceptance), null, 1), 'application/json',
		'Download your receipt file'));
}

async function showCommitted(txid, r, voterKey) {
	const status = $('receipt-status');
	const proof = $('receipt-proof');
	status.textContent = `Committed in block ${r.height}. Checking the proof in this page…`;
	const block = await get('/api/blocks/' + r.height);
	const checks = await checkReceipt(txid, r, block, voterKey);
	const { validators, threshold } = await validatorSet();
	const ap = await checkApprovals(block, validators, threshold);
	checks.push(...ap.checks);
	const allOk = checks.every((c) => c.ok);
	clear(proof);
	if (allOk) {
		proof.append(h('div', { class: 'msg ok', id: 'in-chain' },
			h('p', { class: 'big' }, 'Your vote is in the chain'),
			h('p', {}, `Block ${block.height}, approved by ${ap.valid} validator${ap.valid === 1 ? '' : 's'} (${threshold} needed). `,
				'This page recomputed the block hash and checked the inclusion proof against the block\'s Merkle root itself.')));
		status.textContent = `Verified: your vote is in block ${block.height}.`;
	} else {
		proof.append(h('div', { class: 'msg err', id: 'proof-failed' },
			h('p', { class: 'big' }, 'The proof did not check out'),
			h('p', {}, 'The server says your vote is committed, but a check below failed. Keep your receipt and tell the election office.')));
		status.textContent = 'The proof of your vote failed a check.';
	}
	showCheckList(proof, checks);
	$('explorer-link').href = `/explorer.html#block=${block.height}`;
}

// Where a pending vote waits (an answer of GET /api/votes/{txid}): in the pool for a
// miner, or in a proposed block with n of the t approvals that commit it.
function pendingText(r) {
	const props = Array.isArray(r.proposals) ? r.proposals : [];
	if (!props.length)
		return 'Pending: your vote is in the pool, waiting for a miner to put it in a block. This page updates by itself.';
	const best = props.reduce((a, b) => (b.n_approvals > a.n_approvals ? b : a));
	const t = r.threshold ?? (election && election.threshold);
	return `Pending: your vote is in a proposed block ${best.height} with ${best.n_approvals} of ${t} approvals; ` +
		`it is committed when ${t} validators approve. This page updates by itself.`;
}

// Follows receipt txid. saved: what this browser kept of the vote ({txid, candidate_id,
// vote, acceptance}), or null when the receipt number was typed or linked.
function track(txid, saved) {
	if (stopTracking) stopTracking();
	const card = $('receipt-card');
	$('receipt-txid').textContent = txid;
	$('receipt-link').href = `/vote.html#txid=${txid}`;
	$('explorer-link').href = `/explorer.html#tx=${txid}`;
	clear($('receipt-proof'));
	const choiceLine = $('receipt-choice');
	choiceLine.hidden = !saved;
	if (saved) choiceLine.textContent = `You voted for ${candidateName(saved.candidate_id)}.`;
	const mine = saved && saved.txid === txid ? saved : null;
	showAcceptance(txid, mine);
	card.hidden = false;
	const status = $('receipt-status');
	status.textContent = 'Looking up your vote…';
	let lastStatus = '';
	let checking = false;
	stopTracking = poll(async () => {
		if (checking) return;
		let r;
		try {
			r = await get('/api/votes/' + txid);
		} catch (e) {
			status.textContent = e.code === 'not_found'
				? 'No vote with this receipt number is known.'
				: 'Could not reach the server: ' + explain(e) + ' Retrying…';
			return;
		}
		if (r.status === 'committed') {
			checking = true;
			if (stopTracking) stopTracking();
			try {
				await showCommitted(txid, r, mine && mine.vote ? mine.vote.voter_key : null);
			} catch (e) {
				status.textContent = 'Committed, but the proof could not be checked: ' + explain(e);
			}
			return;
		}
		const text = pendingText(r);
		if (text !== lastStatus) {
			lastStatus = text;
			status.textContent = text;
		}
	}, 2500);
	return card;
}

async function cast() {
	const castError = $('cast-error');
	say(castError, 'err', '');
	const button = $('cast-button');
	busy(button, true, 'Signing and sending…');
	try {
		const vote = {
			election_id: election.genesis_hash,
			voter_key: key.publicHex,
			candidate_id: choice.id,
			// the service's time, not this device's: a wrong clock must not cost the vote
			timestamp: Math.floor(serverNow() / 1000),
		};
		const payload = votePayload(vote);
		vote.signature = hex(await sign(key.privateKey, payload));
		const txid = hex(await sha256(payload));
		const ans = await post('/api/votes', vote);
		if (ans && ans.txid && ans.txid !== txid) throw new Error('The server answered with a different receipt number than this page computed.');
		const saved = { txid, candidate_id: vote.candidate_id, vote, acceptance: (ans && ans.acceptance) || null };
		try {
			localStorage.setItem(receiptKey(key.publicHex), JSON.stringify(saved));
		} catch {
			/* the receipt is on screen and offered as a file; saving it is a convenience */
		}
		$('confirm-card').hidden = true;
		$('ballot-card').hidden = true;
		history.replaceState(null, '', `#txid=${txid}`);
		track(txid, saved).focus();
	} catch (e) {
		let message = explain(e, {
			already_voted: 'This key has already voted. Each voter votes once, and the first vote stands.',
			not_on_roll: 'This key is not on the electoral roll, so it cannot vote. Load the key you registered with.',
			not_open: 'The election is not open for voting yet.',
			closed: 'The election has closed; no more votes are accepted.',
		});
		if (e.code === 'already_voted' || e.code === 'not_on_roll') {
			// said where it stays in view (step 1), with the vote that stands, never in
			// the confirmation that closes now
			$('confirm-card').hidden = true;
			let r = null;
			try {
				r = await get('/api/voters/' + key.publicHex);
			} catch {
				const prior = savedReceipt(key.publicHex);
				r = { on_roll: e.code !== 'not_on_roll', status: 'voted', txid: prior ? prior.txid : null };
			}
			applyRoll(r, true);
		} else say(castError, 'err', message);
		if (e.code === 'not_open' || e.code === 'closed') loadElection();
	} finally {
		busy(button, false);
	}
}

function fromHash() {
	const m = /txid=([0-9a-fA-F]{64})/.exec(location.hash);
	return m ? m[1].toLowerCase() : null;
}

async function main() {
	$('ballot').addEventListener('submit', (ev) => {
		ev.preventDefault();
		const picked = $('ballot').querySelector('input[name=candidate]:checked');
		if (!picked) {
			say($('ballot-error'), 'err', 'Choose a candidate first.');
			const first = $('ballot').querySelector('input[name=candidate]');
			if (first) first.focus();
			return;
		}
		say($('ballot-error'), 'err', '');
		choice = (election.candidates || []).find((c) => String(c.id) === picked.value);
		if (secret) {
			$('secret-card').hidden = false;
			clear($('secret-checked'));
			$('secret-checked').hidden = true;
			$('secret-card').focus();
			prepareSecret().catch((e) => say($('secret-error'), 'err', 'The ballot could not be prepared: ' + explain(e)));
			return;
		}
		$('confirm-name').textContent = choice.name;
		$('confirm-card').hidden = false;
		say($('cast-error'), 'err', '');
		$('confirm-card').focus();
	});
	$('back-button').addEventListener('click', () => {
		$('confirm-card').hidden = true;
		const picked = $('ballot').querySelector('input[name=candidate]:checked');
		(picked || $('review-button')).focus();
	});
	$('cast-button').addEventListener('click', cast);
	$('secret-cast').addEventListener('click', castSecret);
	$('secret-check').addEventListener('click', () => checkSecret().catch((e) => say($('secret-error'), 'err', explain(e))));
	$('secret-back').addEventListener('click', () => {
		// a ballot not cast is dropped; the next choice is encrypted afresh
		prepared = null;
		$('secret-card').hidden = true;
		const picked = $('ballot').querySelector('input[name=candidate]:checked');
		(picked || $('review-button')).focus();
	});
	$('track-form').addEventListener('submit', (ev) => {
		ev.preventDefault();
		const t = $('track-txid').value.trim().toLowerCase();
		if (!isHex(t, 32)) {
			say($('track-error'), 'err', 'A receipt number is 64 characters of 0-9 and a-f.');
			$('track-txid').focus();
			return;
		}
		say($('track-error'), 'err', '');
		location.hash = `txid=${t}`;
	});
	window.addEventListener('hashchange', () => {
		const t = fromHash();
		if (t) track(t, savedFor(t)).focus();
	});

	await loadElection();
	await keyPanel('voter', (k) => {
		key = k;
		if (k && !fromHash()) {
			const prior = savedReceipt(k.publicHex);
			if (prior && isHex(prior.txid, 32)) track(prior.txid, prior);
		}
		checkRoll(k);
	});
	const t = fromHash();
	if (t) track(t, savedFor(t));
	// the state changes when the admin opens or closes the election
	setInterval(() => {
		if (document.visibilityState === 'visible' && $('confirm-card').hidden && $('secret-card').hidden) loadElection();
	}, 15000);
	document.title = `Vote — ${election ? election.title : 'ChainVote'}`;
}

if (requireCrypto('sign or send a vote')) main();
