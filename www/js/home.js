// Home page: one line on the election's current state.

import './shell.js';
import { get } from './api.js';
import { $, clear, h, explain } from './ui.js';

const STATES = { setup: 'being set up (registration is open)', open: 'open for voting', closed: 'closed' };

async function main() {
	const now = $('now');
	try {
		const e = await get('/api/election');
		clear(now);
		now.append(h('strong', {}, e.title || 'Untitled election'), ' is ', STATES[e.state] || e.state || 'in an unknown state', '.');
		if (e.state === 'open' || e.state === 'closed') {
			const height = e.tip_height ?? e.height;
			if (typeof height === 'number') now.append(` The chain holds ${height + 1} block${height === 0 ? '' : 's'}.`);
		}
	} catch (e) {
		now.textContent = explain(e, { not_found: 'No election has been set up yet.' });
	}
}

main();
