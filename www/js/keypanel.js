// The "your key" panel of the vote and validator pages: finds the key saved in this
// browser, or reads a key file the person picks (optionally saving it), and tells the
// page which key is in use. Markup: #key-status, #key-file, #key-remember, #key-forget,
// #key-error (see vote.html).

import { importKeyFile } from './crypto.js';
import { saveKey, loadKey, forgetKey } from './keystore.js';
import { $, h, clear, say, shortHex } from './ui.js';

// Calls onKey({privateKey, publicHex, source}) whenever a key is loaded, onKey(null)
// when it is forgotten. Returns a promise that settles after the saved key was looked
// for, with {use(key, from)}: makes key ({privateKey, publicHex}; from 'made' for one
// just generated here) the key in use, saved in the browser when "remember" is ticked.
// With ecdh (the trustee page) every key also carries ecdhKey, and a saved key without
// one counts as none.
export async function keyPanel(role, onKey, { ecdh = false } = {}) {
	const status = $('key-status');
	const file = $('key-file');
	const remember = $('key-remember');
	const forget = $('key-forget');
	const error = $('key-error');

	const show = (key, source) => {
		clear(status);
		if (!key) {
			status.append('No key loaded yet. Load your key file below.');
			forget.hidden = true;
			return;
		}
		const from = { browser: 'Using the key saved in this browser: ', made: 'Using the key just made here: ' };
		status.append(from[source] || 'Using the key from your file: ',
			h('code', { class: 'hex', title: key.publicHex, id: 'key-public' }, shortHex(key.publicHex, 14, 8)));
		forget.hidden = source !== 'browser';
	};

	const use = async (key, from = 'file') => {
		let source = from;
		if (remember.checked) {
			await saveKey(role, key.privateKey, key.publicHex, key.ecdhKey);
			source = 'browser';
		}
		show(key, source);
		onKey({ privateKey: key.privateKey, publicHex: key.publicHex, ecdhKey: key.ecdhKey, source });
	};

	file.addEventListener('change', async () => {
		say(error, 'err', '');
		const f = file.files && file.files[0];
		if (!f) return;
		try {
			if (f.size > 16384) throw new Error('That file is too large to be a key file.');
			await use(await importKeyFile(await f.text(), { ecdh }), 'file');
		} catch (e) {
			say(error, 'err', e.message || String(e));
		} finally {
			file.value = '';
		}
	});

	forget.addEventListener('click', async () => {
		await forgetKey(role);
		show(null);
		onKey(null);
		file.focus();
	});

	let saved = await loadKey(role);
	if (saved && ecdh && !saved.ecdhKey) saved = null;
	show(saved, 'browser');
	if (saved) onKey({ ...saved, source: 'browser' });
	return { use };
}
