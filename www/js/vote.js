// The voting page: key (IndexedDB or file) → ballot → confirmation → the vote signed
// here and posted → the service's signed acceptance checked and kept with the vote (in
// local storage and as a receipt file to download) → a receipt tracked live until its
// block is committed, then the inclusion proof, block hash, proof of work and approvals
// checked in this page.

import { get, post } from './api.js';
import { hex, votePayload, isHex } from './encode.js';
import { sha256, sign } from './crypto.js';
import { checkReceipt, checkApprovals, checkAcceptance } from './verify.js';
import { keyPanel } from './keypanel.js';
import { $, h, clear, say, explain, busy, poll, checkItem, downloadLink, requireCrypto } from './ui.js';

let election = null;
let key = null;
let choice = null;
let stopTracking = null;
let validatorsCache = null;
let ballotShape = '';

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
	const shape = JSON.stringify([election && election.state, election && election.candidates, key && key.publicHex]);
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
	if (election.state !== 'open') why = `Voting is not possible now: the election ${STATE_TEXT[election.state] || 'is not open.'}`;
	else if (!key) why = 'Load your key (step 1) to vote.';
	else {
		const prior = savedReceipt(key.publicHex);
		if (prior) why = 'This browser already cast a vote with this key; its receipt is shown below.';
	}
	say(note, 'info', why);
	const disabled = election.state !== 'open' || !key;
	for (const i of choices.querySelectorAll('input')) i.disabled = disabled;
	review.disabled = disabled;
}

async function loadElection() {
	try {
		election = await get('/api/election');
		const line = $('election-line');
		clear(line);
		line.append(h('strong', {}, election.title || 'The election'), ' ', STATE_TEXT[election.state] || '');
		say($('election-error'), 'err', '');
	} catch (e) {
		$('election-line').textContent = '';
		say($('election-error'), 'err', 'The election could not be loaded: ' + explain(e));
	}
	renderBallot();
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

// The receipt file (the same JSON `chainvote vote --receipt-out` writes): the vote as
// signed here and the service's acceptance of it. `chainvote verify --receipts DIR`
// reads a directory of these.
function receiptFile(vote, txid, acceptance) {
	return { format: 'chainvote-receipt/1', vote: { ...vote, txid }, acceptance };
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
		if (r.status !== lastStatus) {
			lastStatus = r.status;
			status.textContent = 'Pending: your vote is waiting in the pool for a miner to put it in a block and for the validators to approve it. This page updates by itself.';
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
			timestamp: Math.floor(Date.now() / 1000),
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
		say(castError, 'err', message);
		if (e.code === 'already_voted') {
			const prior = savedReceipt(key.publicHex);
			if (prior) {
				$('confirm-card').hidden = true;
				track(prior.txid, prior);
			}
		}
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
		renderBallot();
		if (k && !fromHash()) {
			const prior = savedReceipt(k.publicHex);
			if (prior && isHex(prior.txid, 32)) track(prior.txid, prior);
		}
	});
	const t = fromHash();
	if (t) track(t, savedFor(t));
	// the state changes when the admin opens or closes the election
	setInterval(() => {
		if (document.visibilityState === 'visible' && $('confirm-card').hidden) loadElection();
	}, 15000);
	document.title = `Vote — ${election ? election.title : 'ChainVote'}`;
}

if (requireCrypto('sign or send a vote')) main();
