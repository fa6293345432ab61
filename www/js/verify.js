// The checks a page runs itself on public JSON, each as {ok, label, detail}: a block's
// hash, proof of work, merkle root, vote signatures and duplicate voters (a secret
// election's block: its ballots' signatures and proofs, its decryption shares'
// signatures); its approvals; a vote's or ballot's receipt inclusion proof; and the
// service's signed acceptance of a vote. The server's word is never taken for these.

import { hex, unhex, votePayload, voteLeaf, blockLeaves, blockHeader, approvalMessage, acceptanceMessage, isHex, changeMessage } from './encode.js';
import { sha256, verify, leadingZeroBits } from './crypto.js';
import { root, verifyInclusion } from './merkle.js';
import { ballotPayload, ballotLeaf, decryptionPayload, decryptionLeaf, secretLeaves, verifyBallot } from './ballot.js';

const item = (ok, label, detail = '') => ({ ok, label, detail });

// Recomputes a block's hash from its header. Returns {hash (hex) or null, error}.
export async function blockHash(block) {
	try {
		return { hash: hex(await sha256(blockHeader(block))), error: null };
	} catch (e) {
		return { hash: null, error: e.message };
	}
}

// Whether a block is a secret election's (DESIGN 6.1: its blocks have "decryptions").
export const isSecretBlock = (block) => Array.isArray(block.decryptions);

// Whether an item of "votes" is a ballot (encrypted) rather than a vote.
export const isBallot = (item) => !!item && Array.isArray(item.ciphertexts);

// A ballot's own checks: {txid, ok (signature and, with K, proofs), signature, proofs}
// with proofs 'valid', 'not checked' (no K) or the failed check's code and position.
export async function checkBallot(b, K, k) {
	let txid = b.txid || '';
	let signature = false;
	let payload = null;
	try {
		payload = ballotPayload(b);
		txid = hex(await sha256(payload));
		signature = await verify(b.voter_key, b.signature, payload);
	} catch {
		signature = false;
	}
	let proofs = 'not checked';
	if (K && payload) {
		const v = verifyBallot(b, K, k);
		proofs = v.ok ? 'valid' : v.problem + (v.position !== null ? ` at position ${v.position}` : '');
	}
	return { txid, signature, proofs, ok: signature && proofs !== 'not checked' ? proofs === 'valid' : signature };
}

// The item checks of a secret election's block: each ballot's signature and, with
// opts.K, its proofs; each decryption share's signature (its proofs need the ballots'
// sums, which `chainvote verify` recomputes from the whole chain); no voter twice.
async function checkSecretItems(block, opts, checks) {
	const ballots = Array.isArray(block.votes) ? block.votes : [];
	const shares = block.decryptions;
	const voteResults = [];
	for (const b of ballots) {
		const r = await checkBallot(b, opts.K, opts.k);
		if (opts.electionId && b.election_id !== opts.electionId) r.ok = false;
		voteResults.push({ ...r, voter_key: b.voter_key });
	}
	if (ballots.length) {
		const bad = voteResults.filter((r) => !r.ok).length;
		checks.push(item(bad === 0, opts.K ? 'Every ballot\'s signature and proofs verify' : 'Every ballot signature verifies',
			bad === 0 ? `${ballots.length} of ${ballots.length} valid` : `${bad} of ${ballots.length} invalid`));
		const keys = ballots.map((b) => String(b.voter_key).toLowerCase());
		const dups = keys.length - new Set(keys).size;
		checks.push(item(dups === 0, 'No voter casts two ballots in the block',
			dups === 0 ? '' : `${dups} ballot${dups === 1 ? '' : 's'} by a voter with another`));
	}
	const shareResults = [];
	for (const d of shares) {
		let ok = false;
		try {
			ok = await verify(d.validator_key, d.signature, decryptionPayload(d));
		} catch {
			ok = false;
		}
		shareResults.push({ ok, validator_key: d.validator_key });
	}
	if (shares.length) {
		const bad = shareResults.filter((r) => !r.ok).length;
		checks.push(item(bad === 0, 'Every decryption share\'s signature verifies',
			bad === 0 ? `${shares.length} of ${shares.length} valid` : `${bad} of ${shares.length} invalid`));
	}
	if (!ballots.length && !shares.length)
		checks.push(item(false, 'The block holds ballots or decryption shares', 'it holds neither'));
	return { voteResults, shareResults };
}

// Checks of a block with votes, or of the seal block (height ≥ 1); a secret election's
// block with ballots or decryption shares. opts.difficulty: the election's difficulty;
// opts.electionId: the genesis hash; opts.K, opts.k: a secret election's key (hex) and
// number of candidates, to check its ballots' proofs.
// Returns {checks: [...], voteResults: [{txid, ok}], shareResults: [{ok}], ok}.
export async function checkBlock(block, opts = {}) {
	const checks = [];
	const { hash, error } = await blockHash(block);
	checks.push(hash === null
		? item(false, 'Block hash recomputed from the header', 'the header cannot be encoded: ' + error)
		: item(hash === block.hash, 'Block hash recomputed from the header',
			hash === block.hash ? '' : `computed ${hash}, block says ${block.hash}`));

	if (hash !== null) {
		const zeros = leadingZeroBits(unhex(hash));
		const want = opts.difficulty ?? block.difficulty;
		checks.push(item(zeros >= want && block.difficulty === want, 'Proof of work',
			`${zeros} leading zero bits, ${want} needed` + (block.difficulty !== want ? ` (block claims difficulty ${block.difficulty})` : '')));
	}

	const votes = Array.isArray(block.votes) ? block.votes : [];
	const secret = isSecretBlock(block);
	let leaves = null;
	try {
		leaves = secret ? secretLeaves(block) : blockLeaves(block);
	} catch (e) {
		checks.push(item(false, secret ? 'Ballots and shares are well formed' : 'Votes are well formed', e.message));
	}
	if (leaves) {
		const r = hex(await root(leaves));
		const n = secret ? votes.length + block.decryptions.length : votes.length;
		const what = block.seal ? 'the seal' : block.change ? 'the change' : secret
			? (block.decryptions.length ? `${n} decryption share${n === 1 ? '' : 's'}` : `${n} ballot${n === 1 ? '' : 's'}`)
			: `${votes.length} vote${votes.length === 1 ? '' : 's'}`;
		checks.push(item(r === block.merkle_root, 'Merkle root over the leaves',
			r === block.merkle_root ? what : `computed ${r}, block says ${block.merkle_root}`));
	}
	if (block.seal) {
		// the seal's own rules that one block shows (DESIGN section 2, "The close")
		const s = block.seal;
		const mine = !opts.electionId || s.election_id === opts.electionId;
		const beside = votes.length + (secret ? block.decryptions.length : 0);
		checks.push(item(mine && beside === 0 && s.closed_at <= block.timestamp,
			'The seal closes this election, alone in its block',
			!mine ? 'the seal names another election' : beside ? `${beside} items beside the seal`
				: s.closed_at > block.timestamp ? `closed_at ${s.closed_at} is after the block's timestamp` : `closed at ${s.closed_at}`));
		return { checks, voteResults: [], shareResults: [], ok: checks.every((c) => c.ok), hash };
	}
	if (secret) {
		const { voteResults, shareResults } = await checkSecretItems(block, opts, checks);
		return { checks, voteResults, shareResults, ok: checks.every((c) => c.ok), hash };
	}

	if (block.change) {
		// a change block (docs/GOVERNANCE.md): the change alone, this election's, in force
		// from the next height, every co-signature over its message (whether the signers
		// are validators in force and enough of them, the server's checks say)
		const c = block.change;
		const sigs = Array.isArray(c.signatures) ? c.signatures : [];
		let sigsOk = false;
		try {
			const msg = changeMessage(c);
			sigsOk = sigs.length > 0 && (await Promise.all(sigs.map((s) => verify(s.validator_key, s.signature, msg)))).every(Boolean);
		} catch {
			sigsOk = false;
		}
		const mine = !opts.electionId || c.election_id === opts.electionId;
		checks.push(item(mine && votes.length === 0 && !block.seal && c.effective_height === block.height + 1,
			'The change is this election\'s, alone in its block, in force from the next block',
			!mine ? 'the change names another election' : votes.length ? `${votes.length} votes beside the change`
				: `${c.kind}, in force from ${c.effective_height}`));
		checks.push(item(sigsOk, 'Every co-signature of the change verifies', `${sigs.length} signatures`));
		return { checks, voteResults: [], ok: checks.every((c2) => c2.ok), hash };
	}

	const voteResults = [];
	for (const v of votes) {
		let ok = false;
		let txid = v.txid || '';
		try {
			const payload = votePayload(v);
			txid = hex(await sha256(payload));
			ok = await verify(v.voter_key, v.signature, payload);
			if (opts.electionId && v.election_id !== opts.electionId) ok = false;
		} catch {
			ok = false;
		}
		voteResults.push({ txid, ok, voter_key: v.voter_key, candidate_id: v.candidate_id });
	}
	const bad = voteResults.filter((r) => !r.ok).length;
	checks.push(item(bad === 0 && votes.length > 0, 'Every vote signature verifies',
		votes.length === 0 ? 'the block has no votes' : bad === 0 ? `${votes.length} of ${votes.length} valid` : `${bad} of ${votes.length} invalid`));

	const seen = new Set();
	const dups = new Set();
	for (const v of votes) {
		const k = String(v.voter_key).toLowerCase();
		if (seen.has(k)) dups.add(k);
		seen.add(k);
	}
	checks.push(item(dups.size === 0, 'No voter votes twice in the block',
		dups.size === 0 ? '' : `${dups.size} voter${dups.size === 1 ? '' : 's'} with more than one vote`));

	return { checks, voteResults, shareResults: [], ok: checks.every((c) => c.ok), hash };
}

// Checks a block's approvals against the validator set. Returns {valid, checks}.
export async function checkApprovals(block, validators, threshold) {
	const known = new Map((validators || []).map((v) => [String(v.key).toLowerCase(), v.name]));
	const counted = new Set();
	const bad = [];
	const approvals = Array.isArray(block.approvals) ? block.approvals : [];
	for (const a of approvals) {
		const k = String(a.validator_key).toLowerCase();
		const ok = (known.size === 0 || known.has(k)) && !counted.has(k) &&
			isHex(block.hash, 32) && (await verify(k, a.signature, approvalMessage(block.hash)));
		if (ok) counted.add(k);
		else bad.push(k);
	}
	const names = [...counted].map((k) => known.get(k) || k.slice(0, 12) + '…');
	const checks = [item(bad.length === 0 && approvals.length > 0, 'Approval signatures verify',
		`${counted.size} valid${bad.length ? `, ${bad.length} not valid` : ''}${names.length ? ': ' + names.join(', ') : ''}`)];
	if (threshold !== undefined)
		checks.push(item(counted.size >= threshold, 'Enough approvals', `${counted.size} of the ${threshold} needed`));
	return { valid: counted.size, checks };
}

// Checks a committed receipt (GET /api/votes/{txid}) against its block
// (GET /api/blocks/{height}). voterKey: the voter's own key (hex) when this page knows it.
// The vote checked is the block's own copy at the receipt's index, and it is the voter's
// when its payload hashes to the txid and its signature verifies under the voter's key.
// Signature bytes are never compared with the ones this page signed: the txid does not
// cover the signature, and (r, n-s) verifies as well as (r, s), so a miner may commit
// either form of the same vote. A secret election's receipt names a ballot (its choice
// stays encrypted) or a trustee's decryption share: the same checks hold of the block's
// item. Returns a list of checks.
export async function checkReceipt(txid, receipt, block, voterKey = null) {
	const checks = [];
	const secret = isSecretBlock(block);
	// a trustee's decryption share (its answer has "decryption"): the same checks among
	// the block's shares, by the trustee's key
	const share = secret && !!receipt.decryption;
	const votes = share ? block.decryptions : Array.isArray(block.votes) ? block.votes : [];
	const index = receipt.index;
	const vote = Number.isInteger(index) && index >= 0 && index < votes.length ? votes[index] : null;
	const what = share ? 'decryption share' : secret ? 'ballot' : 'vote';
	const payloadOf = share ? decryptionPayload : secret ? ballotPayload : votePayload;
	const leafOf = share ? decryptionLeaf : secret ? ballotLeaf : voteLeaf;
	const signer = (v) => (share ? v.validator_key : v.voter_key);
	let payload = null;
	try {
		if (!vote) throw new Error(`block ${block.height} has no ${what} at index ${index}`);
		payload = payloadOf(vote);
	} catch (e) {
		checks.push(item(false, `The block holds a well-formed ${what} at the receipt's place`, e.message));
		return checks;
	}
	const computed = hex(await sha256(payload));
	checks.push(item(computed === txid, `The block's ${what} is the one the receipt number names`,
		computed === txid ? '' : `its payload hashes to ${computed}`));
	if (voterKey) {
		const mine = String(signer(vote)).toLowerCase() === String(voterKey).toLowerCase();
		checks.push(item(mine, `The ${what} is by your key`));
	}
	checks.push(item(await verify(voterKey || signer(vote), vote.signature, payload),
		`The ${share ? 'trustee' : 'voter'}'s signature on the ${what} verifies`));

	const { hash } = await blockHash(block);
	checks.push(item(hash !== null && hash === block.hash && hash === receipt.block_hash,
		`Block ${block.height}'s hash recomputed from its header`, hash === receipt.block_hash ? '' : 'does not match the receipt'));
	if (hash !== null) {
		const zeros = leadingZeroBits(unhex(hash));
		checks.push(item(zeros >= block.difficulty, 'Proof of work', `${zeros} leading zero bits, ${block.difficulty} needed`));
	}

	let proofOk = false;
	try {
		proofOk = Array.isArray(receipt.path) && isHex(block.merkle_root, 32) &&
			(await verifyInclusion(leafOf(vote), receipt.index, receipt.tree_size,
				receipt.path.map((p) => unhex(p, 32)), unhex(block.merkle_root, 32)));
	} catch {
		proofOk = false;
	}
	// a secret block holds one kind of leaf: the receipt's items are all of them
	const others = !secret ? 0 : share ? (block.votes || []).length : block.decryptions.length;
	if (receipt.tree_size !== votes.length || others) proofOk = false;
	checks.push(item(proofOk, `Inclusion proof: the ${what} is in the block's Merkle tree`,
		`leaf ${receipt.index} of ${receipt.tree_size}, ${receipt.path ? receipt.path.length : 0} hashes`));
	return checks;
}

// Checks the service's acceptance of vote txid (the "acceptance" of POST /api/votes'
// answer) under the key GET /api/election publishes. True only when well formed, for
// this txid, by that key, and the signature verifies.
export async function checkAcceptance(acceptance, txid, serviceKey) {
	try {
		if (!acceptance || acceptance.txid !== txid || !isHex(serviceKey, 65) ||
			acceptance.service_key !== String(serviceKey).toLowerCase() ||
			!Number.isSafeInteger(acceptance.accepted_at) || acceptance.accepted_at < 0)
			return false;
		return await verify(serviceKey, acceptance.signature, acceptanceMessage(txid, acceptance.accepted_at));
	} catch {
		return false;
	}
}
