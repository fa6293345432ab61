// The admin's sign-in page (outside the session check, inside nginx's allow-list):
// password and TOTP code, or a recovery code, to POST /admin/api/session, which sets
// the session cookie; then on to the administration page.

import { post } from '/js/api.js';
import { $, say, explain, busy } from '/js/ui.js';

const TEXTS = {
	bad_credentials: 'The user, password or code is not right. A code is good for one sign-in only: wait for the next one.',
	locked: 'Too many failed sign-ins: wait a few minutes, then try again.',
	rate_limited: 'Too many sign-ins from here: wait a moment, then try again.',
	not_enrolled: 'No admin is enrolled yet: run chainvote admin-init on the server.',
};

$('signin').addEventListener('submit', async (ev) => {
	ev.preventDefault();
	const msg = $('signin-msg');
	const user = $('user').value.trim();
	const password = $('password').value;
	const code = $('code').value.trim().replace(/\s+/g, '');
	if (!user || !password || !code) {
		say(msg, 'err', 'Fill in the user, the password and the code.');
		return;
	}
	const button = $('signin-button');
	busy(button, true, 'Signing in…');
	try {
		await post('/admin/api/session', { user, password, code });
		location.assign('/admin/');
	} catch (e) {
		say(msg, 'err', explain(e, TEXTS));
		$('code').value = '';
		$('code').focus();
	} finally {
		busy(button, false);
	}
});
