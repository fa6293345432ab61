// Registration: voter ID + one-time code → a key pair made here; the public key goes to
// POST /api/register, the private key stays in IndexedDB (non-extractable) and in the
// key file the voter downloads.

import './shell.js';
import { get, post } from './api.js';
import { generateKey } from './crypto.js';
import { saveKey, loadKey } from './keystore.js';
import { $, say, explain, busy, downloadLink, shortHex, requireCrypto } from './ui.js';

const form = $('register-form');
const button = $('register-button');
const formError = $('form-error');

function fieldError(input, message) {
	say(formError, 'err', message);
	input.setAttribute('aria-invalid', 'true');
	input.focus();
}

form.addEventListener('submit', async (ev) => {
	ev.preventDefault();
	say(formError, 'err', '');
	for (const i of form.querySelectorAll('input')) i.removeAttribute('aria-invalid');
	const voterId = $('voter-id').value.trim();
	const code = $('code').value.trim();
	if (!voterId) return fieldError($('voter-id'), 'Enter your voter ID.');
	if (!code) return fieldError($('code'), 'Enter your one-time code.');

	busy(button, true, 'Making your key…');
	try {
		const key = await generateKey();
		await post('/api/register', { voter_id: voterId, code, public_key: key.publicHex });
		// Saved only once the server took it: a key for a refused registration is useless.
		let saved = true;
		try {
			await saveKey('voter', key.privateKey, key.publicHex);
		} catch {
			saved = false;
		}
		$('done-key').textContent = key.publicHex;
		const name = `chainvote-key-${voterId.replace(/[^A-Za-z0-9_-]/g, '_')}.json`;
		const link = downloadLink(name, JSON.stringify(key.keyFile, null, 1) + '\n', 'application/json', 'Download my key file');
		link.id = 'key-download';
		$('download-slot').replaceChildren(link);
		if (!saved) say($('save-warning'), 'warn', 'This browser would not save your key: download the key file now, you need it to vote.');
		$('saved-text').hidden = !saved;
		$('form-card').hidden = true;
		$('done').hidden = false;
		$('done').focus();
	} catch (e) {
		say(formError, 'err', explain(e, {
			bad_code: 'That voter ID and one-time code do not match, or the code has already been used. Check both and try again.',
			bad_state: 'Registration is closed: the election has already opened.',
			exists: 'This key is already registered.',
			bad_key: 'The key made by this browser was refused. Try again, or use another browser.',
		}));
	} finally {
		busy(button, false);
	}
});

async function main() {
	const existing = await loadKey('voter');
	if (existing)
		say($('existing'), 'warn', `This browser already holds a voter key (${shortHex(existing.publicHex)}). Registering replaces it here; keep its key file if you still need it.`);
	try {
		const e = await get('/api/election');
		if (e.state && e.state !== 'setup')
			say($('state'), 'warn', e.state === 'open'
				? 'The election is open, so registration has closed. If you registered already, go to the voting page.'
				: 'The election is closed.');
	} catch {
		/* the form still works; the server has the last word */
	}
}

if (requireCrypto('make a voter key')) main();
