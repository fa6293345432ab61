// Changes of the parameters in force during an open election (docs/GOVERNANCE.md) on a
// page: the committed and waiting changes with who has signed (GET /api/changes), a form
// to propose one, and a Sign button on each waiting change. On the validator dashboard a
// change is signed with the validator's key in this browser (only the signature is
// sent); on the admin page the administrator drafts one with no signature, for the
// validators to sign. A change is for one block height; once threshold validators have
// signed, the miners offer it as that block, alone, and validators approve it as any.

import { get, post } from './api.js';
import { hex, isHex, changeMessage } from './encode.js';
import { sign } from './crypto.js';
import { h, clear, say, explain, busy, poll, shortHex, when } from './ui.js';

const STATUS = {
	committed: 'in force',
	pending: 'gathering signatures',
	ready: 'signed by enough validators: the next block',
	missed: 'missed its block: propose it again',
};

const REASONS = {
	stale: 'That block height has passed: propose the change again.',
	sealed: 'The election is sealed: nothing changes any more.',
	closed: 'The election has closed: its closing time no longer changes.',
	exists: 'Already proposed or signed.',
	not_found: 'That change is no longer waiting (committed, or its height passed).',
	change_signatures: 'This key is not a validator in force, or has signed already.',
	bad_signature: 'The signature did not verify: is this the right key?',
};

function describe(c, names) {
	if (c.kind === 'closes') return `Closing time → ${when(c.closes)}`;
	if (c.kind === 'difficulty') return `Mining difficulty → ${c.difficulty}`;
	const who = names.get(c.old_key) || shortHex(c.old_key);
	return `${who}'s validator key → ${shortHex(c.new_key)}`;
}

// The panel inside root. mode 'validator' (getKey() gives the key loaded on the page, or
// null) or 'admin'. Returns {refresh}.
export function changesPanel(root, { mode, getKey = () => null }) {
	const kind = h('select', { id: 'ch-kind' },
		h('option', { value: 'closes' }, 'Closing time'),
		h('option', { value: 'difficulty' }, 'Mining difficulty'),
		h('option', { value: 'validator_key' }, 'A validator\'s key (lost or leaked)'));
	const closes = h('input', { id: 'ch-closes', type: 'datetime-local', step: '1' });
	const difficulty = h('input', { id: 'ch-difficulty', type: 'number', min: '0', max: '255', step: '1', inputmode: 'numeric' });
	const oldKey = h('select', { id: 'ch-old' });
	const newKey = h('input', { id: 'ch-new', type: 'text', spellcheck: 'false', autocomplete: 'off', 'aria-describedby': 'ch-new-hint' });
	const height = h('input', { id: 'ch-height', type: 'number', min: '1', step: '1', inputmode: 'numeric', 'aria-describedby': 'ch-height-hint' });
	const propose = h('button', { type: 'submit', id: 'ch-propose' }, mode === 'admin' ? 'Draft the change' : 'Sign and propose the change');
	const msg = h('p', { id: 'ch-msg', role: 'status', hidden: true });
	const status = h('p', { id: 'ch-status', role: 'status' }, 'Loading…');
	const list = h('ul', { id: 'ch-list', class: 'changes' });
	const field = (label, input, hint, hintId) => h('div', { class: 'field', dataset: { for: input.id } },
		h('label', { for: input.id }, label), input, hint ? h('span', { class: 'hint', id: hintId }, hint) : null);
	const fields = {
		closes: field('New closing time (your local time)', closes),
		difficulty: field('New difficulty (leading zero bits, 0 for energy-free)', difficulty),
		validator_key: h('div', {}, field('The validator whose key is replaced', oldKey),
			field('Its new public key', newKey, '130 hex digits: the public key of a key pair the validator made on a clean device.', 'ch-new-hint')),
	};
	const form = h('form', { id: 'ch-form', novalidate: true }, field('What changes', kind),
		fields.closes, fields.difficulty, fields.validator_key,
		field('For block', height, 'The block height that carries the change (it is in force from the next one). Empty: the next block.', 'ch-height-hint'),
		h('div', { class: 'actions' }, propose), msg);
	clear(root).append(status, list, h('h3', {}, mode === 'admin' ? 'Draft a change' : 'Propose a change'), form);

	let doc = null;
	let election = null;
	const names = new Map();
	const showKind = () => {
		for (const [k, el] of Object.entries(fields)) el.hidden = k !== kind.value;
	};
	kind.addEventListener('change', showKind);
	showKind();

	function render() {
		names.clear();
		for (const v of doc.validators) names.set(v.key, v.name || shortHex(v.key));
		const keep = oldKey.value;
		clear(oldKey).append(...doc.validators.map((v) => h('option', { value: v.key }, v.name || shortHex(v.key))));
		if (keep) oldKey.value = keep;
		height.placeholder = String(doc.height);
		const key = getKey();
		const mine = key && doc.validators.some((v) => v.key === key.publicHex);
		status.textContent = doc.changes.length
			? `Next block ${doc.height}; a change needs ${doc.threshold} validators' signatures.`
			: `No changes so far. A change needs ${doc.threshold} validators' signatures.`;
		clear(list);
		for (const c of doc.changes) {
			const signers = c.signers.map((s) => s.name || shortHex(s.validator_key));
			const signed = key && c.signers.some((s) => s.validator_key === key.publicHex);
			const item = h('li', { class: 'change', dataset: { id: c.id, status: c.status } },
				h('strong', {}, describe(c.change, names)), ' ',
				h('span', { class: 'status' }, `(${STATUS[c.status] || c.status}, block ${c.height})`),
				h('br'),
				h('span', { class: 'signers' }, `${c.n_signatures} of ${doc.threshold} signatures`,
					signers.length ? `: ${signers.join(', ')}` : ''));
			if (mode === 'validator' && (c.status === 'pending' || c.status === 'ready')) {
				const button = h('button', { type: 'button', class: 'secondary small', 'aria-label': `Sign: ${describe(c.change, names)}` }, 'Sign');
				const note = h('span', { class: 'note', role: 'status' });
				button.disabled = !mine || signed;
				if (signed) note.textContent = ' You signed it.';
				else if (!key) note.textContent = ' Load your validator key to sign.';
				button.addEventListener('click', () => signChange(c, button, note));
				item.append(' ', button, note);
			}
			list.append(item);
		}
	}

	async function refresh() {
		try {
			[doc, election] = await Promise.all([get('/api/changes'), election ? election : get('/api/election')]);
			render();
		} catch (e) {
			status.textContent = 'The changes could not be loaded: ' + explain(e);
		}
	}

	async function signChange(c, button, note) {
		const key = getKey();
		busy(button, true, 'Signing…');
		try {
			const signature = hex(await sign(key.privateKey, changeMessage(c.change)));
			const r = await post(`/api/changes/${c.id}/signatures`, { validator_key: key.publicHex, signature });
			note.textContent = ` Signed (${r.n_signatures} of ${doc.threshold}).`;
			await refresh();
		} catch (e) {
			busy(button, false);
			note.textContent = ' ' + explain(e, REASONS);
		}
	}

	// The change the form describes, or a sentence saying what is missing.
	function fromForm() {
		const c = { kind: kind.value };
		if (c.kind === 'closes') {
			const t = Date.parse(closes.value);
			if (!closes.value || Number.isNaN(t)) return 'Give the new closing time.';
			c.closes = Math.floor(t / 1000);
		} else if (c.kind === 'difficulty') {
			const d = Number(difficulty.value);
			if (difficulty.value === '' || !Number.isInteger(d) || d < 0 || d > 255) return 'The difficulty is a whole number from 0 to 255.';
			c.difficulty = d;
		} else {
			const k = newKey.value.trim().toLowerCase();
			if (!isHex(k, 65) || !k.startsWith('04')) return 'The new key is a public key: 130 hex digits starting 04.';
			c.old_key = oldKey.value;
			c.new_key = k;
		}
		if (height.value !== '') {
			const n = Number(height.value);
			if (!Number.isInteger(n) || n < 1) return 'The block height is a whole number.';
			c.height = n;
		}
		return c;
	}

	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const c = fromForm();
		if (typeof c === 'string') {
			say(msg, 'err', c);
			return;
		}
		const key = getKey();
		if (mode === 'validator' && !key) {
			say(msg, 'err', 'Load your validator key first: the change is proposed with its signature.');
			return;
		}
		busy(propose, true, mode === 'admin' ? 'Drafting…' : 'Signing…');
		try {
			let r;
			if (mode === 'admin') {
				r = await post('/admin/api/changes', c);
			} else {
				const blockHeight = c.height ?? doc.height;
				delete c.height;
				const change = { election_id: election.genesis_hash, effective_height: blockHeight + 1, ...c };
				const signature = hex(await sign(key.privateKey, changeMessage(change)));
				r = await post('/api/changes', { ...change, signatures: [{ validator_key: key.publicHex, signature }] });
			}
			say(msg, 'ok', mode === 'admin'
				? 'Drafted. The validators sign it on their dashboard (or with chainvote change sign).'
				: `Proposed with your signature (${r.n_signatures} of ${doc.threshold}).`);
			await refresh();
		} catch (e) {
			say(msg, 'err', explain(e, REASONS));
		} finally {
			busy(propose, false);
		}
	});

	poll(refresh, 4000);
	return { refresh };
}
