// `make bench` helper: the time a voter waits for the page to encrypt and prove a
// 3-candidate ballot, in Chromium, at CPU throttling 1x, 4x and 6x (the DevTools
// emulation of a phone-class CPU). Loads the system's own page (its CSP, its vendored
// modules), takes the genesis of the election at URL and times www/js/ballot.js's
// makeBallot, 6 runs per rate, the first dropped (it warms the JIT and noble's tables).
// Prints one JSON line: {"rate_1": median ms, "rate_4": ..., "rate_6": ..., "max_6": ms}.
//   usage: URL=http://127.0.0.1:PORT node tools/dev/bench_prepare.mjs
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const top = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// playwright-core is the browser tests' pinned dependency (tests/browser/package-lock.json)
const { chromium } = await import(path.join(top, 'tests/browser/node_modules/playwright-core/index.mjs'));
const BASE = process.env.URL;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
	args: ['--no-sandbox'],
});
try {
	const page = await (await browser.newContext()).newPage();
	await page.goto(`${BASE}/index.html`);
	const cdp = await page.context().newCDPSession(page);
	const out = {};
	for (const rate of [1, 4, 6]) {
		await cdp.send('Emulation.setCPUThrottlingRate', { rate });
		const runs = await page.evaluate(async () => {
			const m = await import('/js/ballot.js');
			const g = await (await fetch('/api/blocks/0')).json();
			const K = m.electionKey(g);
			const times = [];
			for (let i = 0; i < 6; i++) {
				const t0 = performance.now();
				m.makeBallot({ K, electionId: g.hash, voterKey: g.voters[0], timestamp: g.timestamp, k: 3, choice: i % 3 });
				times.push(performance.now() - t0);
			}
			return times.slice(1);
		});
		out[`rate_${rate}`] = median(runs);
		out[`max_${rate}`] = Math.max(...runs);
	}
	console.log(JSON.stringify(out));
} finally {
	await browser.close();
}
