// Home page: the election this page is about (the default one, or /e/{slug}/'s), and
// every election of this service with its state, the archived ones apart.

import './shell.js';
import { get, apiPath, electionSlug, electionPage } from './api.js';
import { $, clear, h, explain } from './ui.js';

const STATES = { setup: 'being set up (registration is open)', open: 'open for voting', closed: 'closed', new: 'not set up yet' };

async function current() {
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

async function list() {
	const msg = $('list-msg');
	const here = electionSlug() || 'default';
	try {
		const doc = await get('/api/elections');
		const all = (doc && Array.isArray(doc.elections)) ? doc.elections : [];
		for (const e of all) {
			const state = e.final ? 'final' : (STATES[e.state] || e.state);
			const link = h('a', { href: electionPage(e.slug) }, e.title || e.slug);
			if (e.slug === here) link.setAttribute('aria-current', 'page');
			const li = h('li', { 'data-slug': e.slug, 'data-state': e.state }, link, ` · ${state}`);
			$(e.archived ? 'archived' : 'elections').append(li);
		}
		$('archived-wrap').hidden = !all.some((e) => e.archived);
		if (all.some((e) => !e.archived)) msg.hidden = true;
		else msg.textContent = 'No election is listed yet.';
	} catch (e) {
		msg.textContent = explain(e);
	}
}

$('export-link').href = apiPath('/api/chain/export');
current();
list();
