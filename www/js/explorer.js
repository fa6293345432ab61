// Chain explorer: the chain as a list, one block (votes, approvals, or the genesis
// election), one vote by txid, and one voter's key; views are addressed by the URL
// fragment (#block=H, #tx=…, #voter=…) so that links and the back button work. A secret
// election's blocks show its ballots (their ciphertexts, and their proofs checked here
// against the election key) and its trustees' decryption shares: never a choice, which
// no block holds in the clear.

import './shell.js';
import { get, blocksOf } from './api.js';
import { isHex } from './encode.js';
import { checkBlock, checkApprovals, checkReceipt, checkBallot, isSecretBlock } from './verify.js';
import { electionKey } from './ballot.js';
import { $, h, clear, say, explain, facts, hexCode, when, checkItem, shortHex, requireCrypto } from './ui.js';

const PAGE = 15;
let election = null;
let tipHeight = null;
let genesis = null;

async function loadTip() {
	try {
		election = await get('/api/election');
	} catch (e) {
		$('tip').textContent = 'The election could not be loaded: ' + explain(e);
		return;
	}
	tipHeight = election.height ?? election.tip_height ?? null;
	if (tipHeight === null) {
		try {
			const r = await get('/api/results');
			tipHeight = r.height ?? null;
		} catch {
			tipHeight = null;
		}
	}
	const tip = $('tip');
	clear(tip).append(h('strong', {}, election.title || 'Election'), ` · ${election.state || ''}`);
	if (tipHeight !== null) tip.append(` · chain height ${tipHeight}`);
	if (election.genesis_hash) tip.append(' · genesis ', hexCode(election.genesis_hash));
}

async function getGenesis() {
	if (!genesis) genesis = await get('/api/blocks/0');
	return genesis;
}

// A secret election's key K and number of candidates from its genesis, to check ballots'
// proofs here; {} for an open election or a genesis not at hand.
function secretKey() {
	if (!genesis || !genesis.secrecy) return {};
	try {
		return { K: electionKey(genesis), k: (genesis.candidates || []).length };
	} catch {
		return {};
	}
}

// A ballot's ciphertexts (A_i, B_i per candidate position, ascending ids), folded.
function ciphertextsView(b) {
	const cands = ((genesis && genesis.candidates) || []).slice().sort((x, y) => x.id - y.id);
	return h('details', { class: 'ciphertexts' }, h('summary', {}, `${(b.ciphertexts || []).length} ciphertexts`),
		h('ol', { start: '0' }, (b.ciphertexts || []).map((ct, i) => h('li', {},
			cands[i] ? `${cands[i].name}: ` : '', 'A ', hexCode(ct.a), ' B ', hexCode(ct.b)))));
}

// What checkBallot said of a ballot's proofs, as a badge.
function proofBadge(r) {
	if (!r) return h('span', { class: 'badge' }, 'checking…');
	if (!r.signature) return h('span', { class: 'badge err' }, 'bad signature');
	if (r.proofs === 'valid') return h('span', { class: 'badge ok' }, 'proofs valid');
	if (r.proofs === 'not checked') return h('span', { class: 'badge warn' }, 'proofs not checked');
	return h('span', { class: 'badge err' }, r.proofs);
}

function candidateName(id) {
	const list = (election && election.candidates) || (genesis && genesis.candidates) || [];
	const c = list.find((x) => x.id === id);
	return c ? c.name : `candidate ${id}`;
}

function validatorName(key) {
	const list = (election && election.validators) || (genesis && genesis.validators) || [];
	const v = list.find((x) => String(x.key).toLowerCase() === String(key).toLowerCase());
	return v ? v.name : null;
}

// The route being shown: a view that an earlier route's lookup renders late (a slow answer
// after the reader moved on) goes nowhere instead of replacing the current one.
let gen = 0;

// Shows a view for route rg (the gen its show function started under).
function view(rg, title, ...children) {
	if (rg !== gen) return h('div');
	const v = clear($('view'));
	v.append(h('section', { class: 'card', 'aria-labelledby': 'view-h' }, h('h2', { id: 'view-h' }, title), ...children));
	return v;
}

const blockLink = (height, label) => h('a', { href: `#block=${height}` }, label ?? `#${height}`);
const txLink = (txid) => h('a', { href: `#tx=${txid}`, title: txid }, h('code', { class: 'hex' }, shortHex(txid, 8, 4)));
const voterLink = (key) => h('a', { href: `#voter=${key}`, title: key }, h('code', { class: 'hex' }, shortHex(key, 8, 4)));
const backToList = () => h('p', {}, h('a', { href: '#' }, '← All blocks'));

async function showList(from) {
	const rg = gen;
	if (tipHeight === null) {
		view(rg, 'Blocks', h('p', {}, 'The chain has no blocks yet: it starts when the election opens.'));
		return;
	}
	const top = from === undefined ? tipHeight : Math.min(from, tipHeight);
	const start = Math.max(0, top - PAGE + 1);
	let blocks;
	try {
		blocks = blocksOf(await get(`/api/blocks?from=${start}&limit=${top - start + 1}`));
	} catch (e) {
		view(rg, 'Blocks', h('p', { class: 'msg err', role: 'alert' }, 'The blocks could not be loaded: ' + explain(e)));
		return;
	}
	blocks.sort((a, b) => b.height - a.height);
	const rows = blocks.map((b) => h('tr', {},
		h('td', { class: 'num' }, blockLink(b.height, String(b.height))),
		h('td', {}, h('a', { href: `#block=${b.height}`, title: b.hash }, h('code', { class: 'hex' }, shortHex(b.hash)))),
		h('td', { class: 'num' }, b.height === 0 ? 'genesis' : b.seal ? 'seal'
			: (b.decryptions || []).length ? `${b.decryptions.length} shares` : String((b.votes || []).length)),
		h('td', { class: 'num' }, b.height === 0 ? '—' : String((b.approvals || []).length)),
		h('td', {}, when(b.timestamp))));
	const pager = h('div', { class: 'pager' });
	if (top < tipHeight) pager.append(h('a', { class: 'button secondary small', href: `#list=${Math.min(tipHeight, top + PAGE)}` }, '← Newer'));
	if (start > 0) pager.append(h('a', { class: 'button secondary small', href: `#list=${start - 1}` }, 'Older →'));
	view(rg, `Blocks ${start}–${top}`,
		h('div', { class: 'table-wrap' }, h('table', { id: 'blocks' },
			h('caption', { class: 'visually-hidden' }, 'Blocks, newest first'),
			h('thead', {}, h('tr', {}, h('th', { scope: 'col', class: 'num' }, 'Height'), h('th', { scope: 'col' }, 'Hash'),
				h('th', { scope: 'col', class: 'num' }, 'Votes'), h('th', { scope: 'col', class: 'num' }, 'Approvals'), h('th', { scope: 'col' }, 'Time'))),
			h('tbody', {}, rows))),
		pager);
}

function genesisView(b) {
	const e = b.election || {};
	const voters = b.voters || [];
	return [
		facts([
			['Hash', hexCode(b.hash, { short: false })],
			['Merkle root', hexCode(b.merkle_root, { short: false })],
			['Opened', when(b.timestamp)],
		]),
		h('h3', {}, 'Election'),
		facts([
			['Title', e.title],
			['Approvals to commit', String(e.threshold)],
			['Difficulty', `${e.difficulty} bits`],
			['Votes per block', `at most ${e.max_block_votes}`],
			['Opens', when(e.opens)],
			['Closes', when(e.closes)],
			['Roll size', `${voters.length} voter${voters.length === 1 ? '' : 's'}`],
		]),
		h('h3', {}, 'Candidates'),
		h('ul', { id: 'genesis-candidates' }, (b.candidates || []).map((c) => h('li', {}, `${c.id}. ${c.name}`))),
		h('h3', {}, 'Validators'),
		h('ul', {}, (b.validators || []).map((v) => h('li', {}, h('strong', {}, v.name), ' ', hexCode(v.key)))),
		...(b.secrecy ? [
			h('h3', {}, 'Secret ballots'),
			h('p', { id: 'genesis-secrecy' }, `Ballots are encrypted under the election key; any ${b.secrecy.quorum} of the `
				+ `${(b.secrecy.trustees || []).length} trustees below decrypt the tally after the seal, and no fewer can.`),
			h('ul', {}, (b.secrecy.trustees || []).map((t) => h('li', {},
				h('strong', {}, validatorName(t.validator_key) || 'Trustee'), ' ', hexCode(t.validator_key)))),
		] : []),
		h('details', {}, h('summary', {}, `The roll (${voters.length} keys)`),
			h('ul', {}, voters.map((k) => h('li', {}, voterLink(k))))),
	];
}

async function showBlock(ref) {
	const rg = gen;
	let b;
	try {
		b = await get('/api/blocks/' + ref);
	} catch (e) {
		view(rg, 'Block', h('p', { class: 'msg err', role: 'alert' }, e.code === 'not_found' ? `There is no block ${ref} in the chain.` : explain(e)), backToList());
		return;
	}
	if (b.height === 0) {
		genesis = b;
		view(rg, 'Genesis block (height 0)', ...genesisView(b), backToList());
		return;
	}
	await getGenesis().catch(() => null);
	const checks = h('ul', { class: 'checks' }, checkItem(null, 'Checking in your browser…'));
	const votes = b.votes || [];
	const secret = isSecretBlock(b);
	const proofCells = votes.map(() => h('td', {}, proofBadge(null)));
	const nav = h('p', { class: 'pager' },
		blockLink(b.height - 1, `← Block ${b.height - 1}`),
		tipHeight !== null && b.height < tipHeight ? blockLink(b.height + 1, `Block ${b.height + 1} →`) : null);
	view(rg, `Block ${b.height}`,
		facts([
			['Hash', hexCode(b.hash, { short: false })],
			['Previous', h('a', { href: `#block=${b.height - 1}` }, hexCode(b.prev_hash, { short: false }))],
			['Merkle root', hexCode(b.merkle_root, { short: false })],
			['Mined', when(b.timestamp)],
			['Difficulty', `${b.difficulty} bits`],
			['Nonce', String(b.nonce)],
		]),
		h('h3', {}, 'Checks in your browser'), checks,
		...(b.seal ? [
			h('h3', {}, 'The seal'),
			h('p', { id: 'block-seal' }, `This block closes the election on the chain: it closed ${when(b.seal.closed_at)}. `
				+ (secret ? 'No ballot is stamped after that and the ballot box is final; the trustees\' decryption shares follow.'
					: 'No vote is stamped after that, no block follows this one, and the tally is final.')),
		] : secret ? secretItems(b, proofCells) : [
			h('h3', {}, `Votes (${votes.length})`),
			h('div', { class: 'table-wrap' }, h('table', { id: 'block-votes' },
				h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Receipt'), h('th', { scope: 'col' }, 'Voter'),
					h('th', { scope: 'col' }, 'Candidate'), h('th', { scope: 'col' }, 'Time'))),
				h('tbody', {}, votes.map((v) => h('tr', {}, h('td', {}, v.txid ? txLink(v.txid) : '—'), h('td', {}, voterLink(v.voter_key)),
					h('td', {}, candidateName(v.candidate_id)), h('td', {}, when(v.timestamp))))))),
		]),
		h('h3', {}, `Approvals (${(b.approvals || []).length})`),
		h('ul', {}, (b.approvals || []).map((a) => h('li', {}, h('strong', {}, validatorName(a.validator_key) || 'Unknown validator'), ' ', hexCode(a.validator_key)))),
		nav, backToList());
	const g = genesis || {};
	const r = await checkBlock(b, { difficulty: g.election && g.election.difficulty, electionId: g.hash, ...secretKey() });
	const ap = await checkApprovals(b, g.validators, g.election && g.election.threshold);
	clear(checks).append(...[...r.checks, ...ap.checks].map((c) => checkItem(c.ok, c.label, c.detail)));
	if (secret) r.voteResults.forEach((res, i) => proofCells[i] && clear(proofCells[i]).append(proofBadge(res)));
}

// A secret election's block items: its ballots (receipt, voter, ciphertexts, proofs as
// checked here, time) or its trustees' decryption shares. proofCells: the ballots' proof
// cells, filled once checked.
function secretItems(b, proofCells) {
	const votes = b.votes || [];
	const shares = b.decryptions || [];
	if (shares.length) {
		return [
			h('h3', {}, `Decryption shares (${shares.length})`),
			h('p', {}, `Each trustee's share of the decryption of the ballots in blocks 1 to ${shares[0].through_height}, `
				+ 'with its proofs; once the quorum\'s shares are in the chain anyone can compute the tally (chainvote verify does).'),
			h('div', { class: 'table-wrap' }, h('table', { id: 'block-decryptions' },
				h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Receipt'), h('th', { scope: 'col' }, 'Trustee'),
					h('th', { scope: 'col', class: 'num' }, 'Through block'), h('th', { scope: 'col', class: 'num' }, 'Shares'))),
				h('tbody', {}, shares.map((d) => h('tr', {}, h('td', {}, d.txid ? txLink(d.txid) : '—'),
					h('td', {}, h('strong', {}, validatorName(d.validator_key) || 'Trustee'), ' ', hexCode(d.validator_key)),
					h('td', { class: 'num' }, blockLink(d.through_height, String(d.through_height))),
					h('td', { class: 'num' }, String((d.shares || []).length))))))),
		];
	}
	return [
		h('h3', {}, `Ballots (${votes.length})`),
		h('p', {}, 'Secret ballots: each holds one encryption per candidate and proofs that exactly one of them is a 1. '
			+ 'The choice is not in the chain; this page checks the proofs against the election key.'),
		h('div', { class: 'table-wrap' }, h('table', { id: 'block-ballots' },
			h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Receipt'), h('th', { scope: 'col' }, 'Voter'),
				h('th', { scope: 'col' }, 'Ciphertexts'), h('th', { scope: 'col' }, 'Proofs'), h('th', { scope: 'col' }, 'Time'))),
			h('tbody', {}, votes.map((v, i) => h('tr', {}, h('td', {}, v.txid ? txLink(v.txid) : '—'), h('td', {}, voterLink(v.voter_key)),
				h('td', {}, ciphertextsView(v)), proofCells[i], h('td', {}, when(v.timestamp))))))),
	];
}

async function showTx(txid) {
	const rg = gen;
	let r;
	try {
		r = await get('/api/votes/' + txid);
	} catch (e) {
		if (e.code === 'not_found') return false;
		view(rg, 'Vote', h('p', { class: 'msg err', role: 'alert' }, explain(e)), backToList());
		return true;
	}
	const v = r.vote || r.ballot || r.decryption || {};
	const status = r.status === 'committed'
		? h('span', { class: 'badge ok' }, `committed in block ${r.height}`)
		: h('span', { class: 'badge warn' }, r.status || 'unknown');
	const proof = h('ul', { class: 'checks' });
	if (r.ballot || r.decryption) {
		await showSecretTx(rg, txid, r, status, proof);
		return true;
	}
	view(rg, 'Vote', facts([
		['Receipt (txid)', hexCode(txid, { short: false })],
		['Status', status],
		['Candidate', candidateName(v.candidate_id)],
		['Voter', voterLink(v.voter_key)],
		['Cast', when(v.timestamp)],
		['Block', r.status === 'committed' ? blockLink(r.height, `Block ${r.height}`) : 'not yet in a block'],
		['Position', r.status === 'committed' ? `leaf ${r.index} of ${r.tree_size}` : '—'],
	]), r.status === 'committed' ? h('h3', {}, 'Inclusion proof, checked in your browser') : null, proof, backToList());
	if (r.status === 'committed') {
		proof.append(checkItem(null, 'Checking…'));
		const block = await get('/api/blocks/' + r.height);
		clear(proof).append(...(await checkReceipt(txid, r, block)).map((c) => checkItem(c.ok, c.label, c.detail)));
	}
	return true;
}

// A secret election's txid: a ballot (its ciphertexts and its proofs checked here, never a
// choice) or a trustee's decryption share; then, committed, its inclusion proof.
async function showSecretTx(rg, txid, r, status, proof) {
	await getGenesis().catch(() => null);
	const committed = r.status === 'committed';
	const where = [
		['Block', committed ? blockLink(r.height, `Block ${r.height}`) : 'not yet in a block'],
		['Position', committed ? `leaf ${r.index} of ${r.tree_size}` : '—'],
	];
	if (r.decryption) {
		const d = r.decryption;
		view(rg, 'Decryption share', facts([
			['Receipt (txid)', hexCode(txid, { short: false })],
			['Status', status],
			['Trustee', h('span', {}, h('strong', {}, validatorName(d.validator_key) || 'Trustee'), ' ', hexCode(d.validator_key))],
			['Decrypts', `the ballots of blocks 1 to ${d.through_height}`],
			...where,
		]), committed ? h('h3', {}, 'Inclusion proof, checked in your browser') : null, proof,
		h('p', {}, 'The share\'s own proofs need the sums of every ballot before the seal: chainvote verify checks them over the whole chain.'),
		backToList());
	} else {
		const b = r.ballot;
		const { K, k } = secretKey();
		const badge = h('span', {}, proofBadge(null));
		view(rg, 'Ballot', facts([
			['Receipt (txid)', hexCode(txid, { short: false })],
			['Status', status],
			['Choice', 'secret: encrypted under the election key (counted only in the decrypted tally)'],
			['Voter', voterLink(b.voter_key)],
			['Cast', when(b.timestamp)],
			['Proofs', badge],
			...where,
		]), h('h3', {}, 'Ciphertexts'), ciphertextsView(b),
		committed ? h('h3', {}, 'Inclusion proof, checked in your browser') : null, proof, backToList());
		clear(badge).append(proofBadge(await checkBallot(b, K, k)));
	}
	if (committed) {
		proof.append(checkItem(null, 'Checking…'));
		const block = await get('/api/blocks/' + r.height);
		clear(proof).append(...(await checkReceipt(txid, r, block)).map((c) => checkItem(c.ok, c.label, c.detail)));
	}
}

// A voter's standing from the public lookup (on the roll; the one vote, pending or in
// a block); the vote itself is then shown from its receipt, so it is checked the same way.
async function showVoter(key) {
	const rg = gen;
	key = key.toLowerCase();
	const out = h('div', {}, h('p', { role: 'status' }, 'Looking up this key…'));
	view(rg, 'Voter', facts([['Key', hexCode(key, { short: false })]]), out, backToList());
	let r;
	try {
		r = await get('/api/voters/' + key);
	} catch (e) {
		clear(out).append(h('p', { class: 'msg err' }, explain(e)));
		return;
	}
	clear(out).append(h('p', {}, r.on_roll ? h('span', { class: 'badge ok' }, 'on the roll') : h('span', { class: 'badge err' }, 'not on the roll')));
	if (r.status === 'not_voted') out.append(h('p', {}, 'No vote from this key, pending or in the chain.'));
	else if (r.ballot) out.append(h('p', {}, 'Cast a secret ballot (its choice is encrypted), ',
		r.status === 'pending' ? 'waiting in the pool for a block' : blockLink(r.height, `in block ${r.height}`), ' · receipt ', txLink(r.txid), '.'));
	else if (r.status === 'pending') out.append(h('p', {}, 'Voted for ', h('strong', {}, candidateName(r.vote.candidate_id)), '; the vote is waiting in the pool for a block. Receipt ', txLink(r.txid), '.'));
	else out.append(h('p', {}, 'Voted for ', h('strong', {}, candidateName(r.vote.candidate_id)), ' in ', blockLink(r.height, `block ${r.height}`), ' · receipt ', txLink(r.txid), '.'));
}

async function search(q) {
	q = q.trim();
	say($('search-error'), 'err', '');
	if (/^\d+$/.test(q)) location.hash = `block=${q}`;
	else if (isHex(q, 65)) location.hash = `voter=${q.toLowerCase()}`;
	else if (isHex(q, 32)) location.hash = `find=${q.toLowerCase()}`;
	else {
		say($('search-error'), 'err', 'Enter a block height, a 64-character receipt or block hash, or a 130-character voter key.');
		$('search').focus();
	}
}

async function route() {
	const rg = ++gen;
	const m = /^#(\w+)=([0-9a-fA-F]+|\d+)$/.exec(location.hash);
	const [kind, arg] = m ? [m[1], m[2]] : ['list', undefined];
	if (kind === 'block') await showBlock(arg);
	else if (kind === 'tx') {
		if (!(await showTx(arg))) view(rg, 'Vote', h('p', { class: 'msg err', role: 'alert' }, 'No vote with this receipt number is known.'), backToList());
	} else if (kind === 'voter') await showVoter(arg);
	else if (kind === 'find') {
		// a 32-byte hash is a receipt or a block hash: try the vote first
		if (!(await showTx(arg))) await showBlock(arg.toLowerCase());
	} else await showList(arg === undefined ? undefined : Number(arg));
	if (m) $('view').focus();
}

async function main() {
	$('search-form').addEventListener('submit', (ev) => {
		ev.preventDefault();
		search($('search').value);
	});
	window.addEventListener('hashchange', route);
	await loadTip();
	await route();
}

requireCrypto('check proofs of votes and blocks', { hide: false });
main();
