// Byte encodings of the chain format (DESIGN section 2): the vote payload, the 96-byte
// block header, genesis entries, approval and rejection messages. Every integer is
// checked for range before it is written; hex is decoded only at the expected length.

const encoder = new TextEncoder();

export const TEXT_MAX = 200;
export const KEY_LEN = 65;
export const HASH_LEN = 32;
export const SIG_LEN = 64;
export const HEADER_LEN = 96;

// Lowercase hex of a byte array.
export function hex(bytes) {
	let s = '';
	for (const b of bytes) s += b.toString(16).padStart(2, '0');
	return s;
}

// Bytes of a hex string; throws unless it is hex and, when len is given, exactly len bytes.
export function unhex(s, len) {
	if (typeof s !== 'string' || s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s))
		throw new TypeError('not a hex string');
	if (len !== undefined && s.length !== len * 2)
		throw new RangeError(`expected ${len} bytes of hex, got ${s.length / 2}`);
	const out = new Uint8Array(s.length / 2);
	for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(i * 2, 2), 16);
	return out;
}

// True when s is lowercase or uppercase hex of exactly len bytes.
export function isHex(s, len) {
	return typeof s === 'string' && s.length === len * 2 && /^[0-9a-fA-F]*$/.test(s);
}

export function concat(...parts) {
	let n = 0;
	for (const p of parts) n += p.length;
	const out = new Uint8Array(n);
	let at = 0;
	for (const p of parts) {
		out.set(p, at);
		at += p.length;
	}
	return out;
}

export function equalBytes(a, b) {
	if (a.length !== b.length) return false;
	let diff = 0;
	for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
	return diff === 0;
}

// An unsigned integer as a BigInt, from a safe Number or a BigInt, checked against bits.
function toBig(v, bits) {
	let big;
	if (typeof v === 'bigint') big = v;
	else if (typeof v === 'number' && Number.isSafeInteger(v)) big = BigInt(v);
	else throw new TypeError('not an integer: ' + v);
	if (big < 0n || big >= 1n << BigInt(bits)) throw new RangeError(`out of range for u${bits}: ${v}`);
	return big;
}

function uint(v, bits) {
	let big = toBig(v, bits);
	const out = new Uint8Array(bits / 8);
	for (let i = out.length - 1; i >= 0; i--) {
		out[i] = Number(big & 0xffn);
		big >>= 8n;
	}
	return out;
}

export const u8 = (v) => uint(v, 8);
export const u16 = (v) => uint(v, 16);
export const u32 = (v) => uint(v, 32);
export const u64 = (v) => uint(v, 64);

// Reads a big-endian unsigned integer as a BigInt.
export function readUint(bytes, at, len) {
	let v = 0n;
	for (let i = 0; i < len; i++) v = (v << 8n) | BigInt(bytes[at + i]);
	return v;
}

// The ASCII bytes of a tag, without length or terminator.
export function tag(s) {
	return encoder.encode(s);
}

// text(s) = u16(len) || utf8 bytes, at most TEXT_MAX bytes.
export function text(s) {
	if (typeof s !== 'string') throw new TypeError('text must be a string');
	const b = encoder.encode(s);
	if (b.length > TEXT_MAX) throw new RangeError(`text longer than ${TEXT_MAX} bytes`);
	return concat(u16(b.length), b);
}

// payload = "chainvote/vote/1" || election_id(32) || voter_key(65) || u32(candidate_id) || u64(timestamp)
export function votePayload(vote) {
	return concat(tag('chainvote/vote/1'), unhex(vote.election_id, HASH_LEN), unhex(vote.voter_key, KEY_LEN),
		u32(vote.candidate_id), u64(vote.timestamp));
}

// leaf = payload || signature
export function voteLeaf(vote) {
	return concat(votePayload(vote), unhex(vote.signature, SIG_LEN));
}

// seal = "chainvote/seal/1" || election_id(32) || u64(closed_at)
export function sealLeaf(seal) {
	return concat(tag('chainvote/seal/1'), unhex(seal.election_id, HASH_LEN), u64(seal.closed_at));
}

const CHANGE_KINDS = { closes: 1, validator_key: 2, difficulty: 3 };

// A change of the parameters in force (docs/GOVERNANCE.md): message =
// "chainvote/change/1" || election_id(32) || u64(effective_height) || u8(kind) || fields,
// what each validator signs.
export function changeMessage(c) {
	const kind = CHANGE_KINDS[c.kind];
	if (!kind) throw new Error(`unknown change kind ${c.kind}`);
	const fields = c.kind === 'closes' ? u64(c.closes)
		: c.kind === 'difficulty' ? u8(c.difficulty)
			: concat(unhex(c.old_key, KEY_LEN), unhex(c.new_key, KEY_LEN));
	return concat(tag('chainvote/change/1'), unhex(c.election_id, HASH_LEN), u64(c.effective_height), u8(kind), fields);
}

// leaf = message || u8(n_signatures) || (validator_key || signature)*
export function changeLeaf(c) {
	const sigs = c.signatures || [];
	return concat(changeMessage(c), u8(sigs.length),
		...sigs.map((s) => concat(unhex(s.validator_key, KEY_LEN), unhex(s.signature, SIG_LEN))));
}

// A block's merkle leaves (height ≥ 1): its votes, then its seal, then its change.
export function blockLeaves(block) {
	const leaves = (Array.isArray(block.votes) ? block.votes : []).map(voteLeaf);
	if (block.seal) leaves.push(sealLeaf(block.seal));
	if (block.change) leaves.push(changeLeaf(block.change));
	return leaves;
}

// u32(version) || u64(height) || prev_hash || merkle_root || u64(timestamp) || u32(difficulty) || u64(nonce)
export function blockHeader(block) {
	const out = concat(u32(block.version), u64(block.height), unhex(block.prev_hash, HASH_LEN),
		unhex(block.merkle_root, HASH_LEN), u64(block.timestamp), u32(block.difficulty), u64(block.nonce));
	if (out.length !== HEADER_LEN) throw new Error('header is not 96 bytes');
	return out;
}

export function approvalMessage(blockHash) {
	return concat(tag('chainvote/approve/1'), unhex(blockHash, HASH_LEN));
}

export function rejectionMessage(blockHash, reason) {
	return concat(tag('chainvote/reject/1'), unhex(blockHash, HASH_LEN), text(reason));
}

// The service's signed acceptance of a vote (docs/ACCEPTANCE.md):
// "chainvote/accept/1" || txid(32) || u64(accepted_at)
export function acceptanceMessage(txid, acceptedAt) {
	return concat(tag('chainvote/accept/1'), unhex(txid, HASH_LEN), u64(acceptedAt));
}

export function electionEntry(e) {
	return concat(tag('chainvote/election/1'), text(e.title), u8(e.threshold), u8(e.difficulty),
		u32(e.max_block_votes), u64(e.opens), u64(e.closes));
}

export function candidateEntry(c) {
	return concat(tag('chainvote/candidate/1'), u32(c.id), text(c.name));
}

export function validatorEntry(v) {
	return concat(tag('chainvote/validator/1'), unhex(v.key, KEY_LEN), text(v.name));
}

export function voterEntry(key) {
	return concat(tag('chainvote/voter/1'), unhex(key, KEY_LEN));
}

// The genesis leaves in the order the public JSON lists them (which is genesis order).
export function genesisEntries(genesis) {
	return [electionEntry(genesis.election), ...genesis.candidates.map(candidateEntry),
		...genesis.validators.map(validatorEntry), ...genesis.voters.map(voterEntry)];
}
