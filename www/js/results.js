// Results page: GET /api/results drawn as a horizontal SVG bar chart (readable at
// 375 px) and a table, with turnout, pending votes and the tip height; polls.

import './shell.js';
import { get } from './api.js';
import { $, h, clear, say, explain, poll } from './ui.js';

const ROW = 46;
let last = null;

// A name cut to n characters (the table below the chart has it whole).
function fit(name, n) {
	return name.length <= n ? name : name.slice(0, Math.max(1, n - 1)) + '…';
}

function pct(n, d) {
	return d > 0 ? `${((100 * n) / d).toFixed(1)}%` : '–';
}

// Drawn at the container's own width, so that one SVG unit is one CSS pixel and the
// labels keep their size on a phone. A bar's length is the candidate's share of all the
// votes counted (the full track is every vote), so that bars compare with the shares.
function chart(tally, total) {
	const WIDTH = Math.max(260, Math.min(900, $('chart').clientWidth || 600));
	const whole = Math.max(1, total);
	const lead = Math.max(...tally.map((c) => c.votes));
	const height = tally.length * ROW + 4;
	const summary = tally.map((c) => `${c.name}: ${c.votes}`).join(', ');
	const svg = h('svg:svg', { class: 'chart', viewBox: `0 0 ${WIDTH} ${height}`, role: 'img', 'aria-label': `Votes per candidate. ${summary}.` });
	tally.forEach((c, i) => {
		const y = i * ROW;
		const w = Math.round(((WIDTH - 4) * c.votes) / whole);
		svg.append(
			h('svg:text', { class: 'label', x: 2, y: y + 16 }, fit(c.name, Math.floor((WIDTH - 120) / 8.5))),
			h('svg:rect', { class: 'track', x: 2, y: y + 22, width: WIDTH - 4, height: 18, rx: 4 }),
			h('svg:rect', { class: 'bar' + (c.votes === lead && c.votes > 0 ? ' lead' : ''), x: 2, y: y + 22, width: Math.max(w, c.votes > 0 ? 4 : 0), height: 18, rx: 4 }),
			h('svg:text', { class: 'value', x: WIDTH - 4, y: y + 16, 'text-anchor': 'end' }, `${c.votes} (${pct(c.votes, total)})`));
	});
	return svg;
}

async function refresh() {
	let r;
	try {
		r = await get('/api/results');
		say($('results-error'), 'err', '');
	} catch (e) {
		say($('results-error'), 'err', e.code === 'not_found' ? 'There are no results yet: the election has not opened.' : 'The results could not be loaded: ' + explain(e));
		return;
	}
	const tally = Array.isArray(r.tally) ? r.tally : [];
	const total = r.total ?? tally.reduce((s, c) => s + (c.votes || 0), 0);
	// while the tally is hidden the count of committed votes is still public
	$('stat-total').textContent = String(r.hidden ? r.committed ?? '–' : total);
	// turnout: the committed votes over everyone entitled to vote (the electorate: the
	// keys on the roll and the eligible voters who never registered one), both shown
	const counted = r.committed ?? total;
	const electorate = r.electorate ?? r.roll_size;
	$('stat-turnout').textContent = typeof electorate === 'number' ? pct(counted, electorate) : '–';
	$('stat-turnout-counts').textContent = typeof electorate === 'number'
		? `${counted} of ${electorate} eligible voter${electorate === 1 ? '' : 's'}` : '';
	$('stat-pending').textContent = String(r.pending ?? '–');
	$('stat-height').textContent = String(r.tip_height ?? r.height ?? '–');
	$('hidden-note').hidden = !r.hidden;
	// final only once the seal is on the chain: until then every count may still grow
	const status = $('status-note');
	if (r.final) say(status, 'ok', 'Final result: the election is closed and sealed on the chain; no vote can be added.');
	else if (r.state === 'closed') say(status, 'info', 'Provisional: the election is closed; the votes pending at the close are being committed, then the seal makes the result final.');
	else if (r.state === 'open') say(status, 'info', 'Provisional: the election is open.');
	else status.hidden = true;
	$('chart-card').hidden = !!r.hidden;
	last = r.hidden ? null : { tally, total };
	if (!r.hidden) {
		clear($('chart')).append(chart(tally, total));
		clear($('tally').tBodies[0]).append(...tally.map((c) =>
			h('tr', {}, h('td', {}, c.name), h('td', { class: 'num' }, String(c.votes)), h('td', { class: 'num' }, pct(c.votes, total)))));
	}
	$('updated').textContent = `Updated ${new Date().toLocaleTimeString()}.`;
}

async function main() {
	try {
		const e = await get('/api/election');
		$('title').textContent = `${e.title}: counted from the committed blocks of the chain; updates by itself.`;
		document.title = `Results — ${e.title}`;
	} catch {
		/* the results say what there is */
	}
	poll(refresh, 4000);
	let pendingResize = null;
	window.addEventListener('resize', () => {
		clearTimeout(pendingResize);
		pendingResize = setTimeout(() => {
			if (last) clear($('chart')).append(chart(last.tally, last.total));
		}, 150);
	});
}

main();
