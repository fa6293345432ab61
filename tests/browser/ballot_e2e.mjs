// The vote page in a secret election, in Debian's Chromium against the real system that
// tests/e2e_ballot_page.py set up (an opened secret election, a voter's key file): the
// page prepares a ballot and shows its fingerprint; "Check the encryption" reveals the
// right choice, its challenge file passes `chainvote check-ballot` (the C verifier, also
// against the chain export's genesis) and a tampered one fails; a fresh ballot follows;
// "Cast" posts a signed 6.1 ballot whose txid is the fingerprint; the service takes it
// (checking every proof first) and the page tracks its receipt. Then the time to prepare a 3-candidate
// ballot in the page, without and with CPU throttling (reported, not asserted).
// With MINER and TRUSTEE_KEYS (two trustees' key files, ':'-separated) the cast ballot is
// then mined and approved: the vote page checks the ballot's receipt in the chain, its
// receipt file (under "ballot") passes `chainvote receipt`, and the explorer shows the
// block's ballots (ciphertexts, proofs checked in the page, no choice) and the ballot by
// its txid. PHASE=shares (a second run, after the close, the seal and the trustees'
// shares were committed) checks the explorer's block of decryption shares.
// Env: URL, SLUG, KEY_FILE, CHAINVOTE, TMP, MINER, TRUSTEE_KEYS, PHASE. Prints "ok - …"
// lines and "ballot page: N passed, N failed".

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

import * as bal from '../../www/js/ballot.js';
import * as cv from '../../www/js/crypto.js';

const { URL: BASE, SLUG, KEY_FILE, CHAINVOTE, TMP, MINER, TRUSTEE_KEYS } = process.env;
const PHASE = process.env.PHASE || 'vote';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
let passed = 0;
let failed = 0;

async function step(name, fn) {
	try {
		await fn();
		passed++;
		console.log(`ok - ${name}`);
		return true;
	} catch (e) {
		failed++;
		console.log(`not ok - ${name}: ${(e && e.message) || e}`.slice(0, 900));
		return false;
	}
}

function assert(cond, msg) {
	if (!cond) throw new Error(msg || 'assertion failed');
}

function checkBallot(...args) {
	return spawnSync(CHAINVOTE, ['check-ballot', ...args], { encoding: 'utf8' });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// The mined and approved block of what the pool holds (the miner once, two trustees).
function commitPool() {
	const m = spawnSync(MINER, ['--url', BASE, '--election', SLUG, '--once', '--threads', '1'], { encoding: 'utf8' });
	assert(m.status === 0, 'miner: ' + m.stdout + m.stderr);
	for (const k of TRUSTEE_KEYS.split(':')) {
		const a = spawnSync(CHAINVOTE, ['approve', '--url', BASE, '--election', SLUG, '--key', k, '--all'], { encoding: 'utf8' });
		assert(a.status === 0, 'approve: ' + a.stdout + a.stderr);
	}
}

// The explorer of a secret election: block 1's ballots and the cast ballot by its txid.
async function explorerBallots(ctx, problems, txid, cands) {
	const page = await ctx.newPage();
	page.on('pageerror', (e) => problems.push('explorer page error: ' + e.message));
	await step('the explorer shows block 1\'s ballots: ciphertexts, proofs valid as checked in the page, no choice', async () => {
		await page.goto(`${BASE}/e/${SLUG}/explorer.html#block=1`);
		await page.waitForSelector('#block-ballots');
		await page.waitForFunction(() => document.querySelectorAll('#block-ballots .badge.ok').length === 1, null, { timeout: 30000 });
		const table = await page.textContent('#block-ballots');
		assert(table.includes('3 ciphertexts') && table.includes('proofs valid'), table);
		assert(!/Candidate/.test(await page.textContent('#block-ballots thead')), 'no candidate column');
		await page.waitForFunction(() => document.querySelectorAll('.checks li').length > 1 && !document.querySelector('.checks li.pending'));
		const checks = await page.$$eval('.checks li', (lis) => lis.map((l) => l.className + ': ' + l.textContent));
		assert(checks.some((c) => c.includes('signature and proofs verify')), checks.join(' | '));
		assert(!checks.some((c) => c.startsWith('check fail')), checks.join(' | '));
	});
	await step('the explorer shows the ballot by its receipt: secret choice, proofs valid, inclusion proof checked', async () => {
		await page.goto(`${BASE}/e/${SLUG}/explorer.html#tx=${txid}`);
		// a change of the fragment only: the view is drawn anew, the heading tells when
		await page.waitForFunction(() => (document.querySelector('#view-h') || {}).textContent === 'Ballot');
		await page.waitForFunction(() => document.body.textContent.includes('proofs valid'), null, { timeout: 30000 });
		const text = await page.textContent('#view');
		assert(text.includes('secret: encrypted') && text.includes('committed in block 1'), text.slice(0, 400));
		assert(!cands.some((c) => text.includes(`Choice${c.name}`)), 'no choice shown');
		await page.waitForFunction(() => document.querySelectorAll('#view .checks li.pass').length >= 4, null, { timeout: 30000 });
		const ok = await page.$$eval('#view .checks li', (lis) => lis.map((l) => l.className + ': ' + l.textContent));
		assert(ok.some((c) => c.includes('Inclusion proof: the ballot is in the block')), ok.join(' | '));
		assert(!ok.some((c) => c.startsWith('check fail')), ok.join(' | '));
	});
}

async function sharesPhase(page, problems) {
	await step('the explorer lists the block of shares and shows the trustees\' decryption shares', async () => {
		await page.goto(`${BASE}/e/${SLUG}/explorer.html`);
		await page.waitForSelector('#blocks');
		const list = await page.textContent('#blocks');
		assert(list.includes('2 shares') && list.includes('seal'), list);
		await page.goto(`${BASE}/e/${SLUG}/explorer.html#block=3`);
		await page.waitForSelector('#block-decryptions');
		const rows = await page.$$eval('#block-decryptions tbody tr', (trs) => trs.map((t) => t.textContent));
		assert(rows.length === 2 && rows.every((r) => r.includes('Trustee')), rows.join(' | '));
		await page.waitForFunction(() => Array.from(document.querySelectorAll('.checks li')).some((l) => l.textContent.includes('decryption share')), null, { timeout: 30000 });
		const checks = await page.$$eval('.checks li', (lis) => lis.map((l) => l.className + ': ' + l.textContent));
		assert(checks.some((c) => c.includes('Merkle root') && c.includes('2 decryption shares')), checks.join(' | '));
		assert(!checks.some((c) => c.startsWith('check fail')), checks.join(' | '));
	});
	await step('the explorer shows a decryption share by its txid with its inclusion proof checked', async () => {
		const b3 = await (await fetch(`${BASE}/api/e/${SLUG}/blocks/3`)).json();
		await page.goto(`${BASE}/e/${SLUG}/explorer.html#tx=${b3.decryptions[1].txid}`);
		// a change of the fragment only: the view is drawn anew, the heading tells when
		await page.waitForFunction(() => (document.querySelector('#view-h') || {}).textContent === 'Decryption share');
		await page.waitForFunction(() => document.querySelectorAll('#view .checks li.pass').length >= 4, null, { timeout: 30000 });
		const checks = await page.$$eval('#view .checks li', (lis) => lis.map((l) => l.className + ': ' + l.textContent));
		assert(checks.some((c) => c.includes('Inclusion proof: the decryption share is in the block')), checks.join(' | '));
		assert(!checks.some((c) => c.startsWith('check fail')), checks.join(' | '));
	});
}

async function main() {
	const browser = await chromium.launch({
		executablePath: CHROMIUM, headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
			'--disable-component-update', '--disable-sync'],
	});
	const ctx = await browser.newContext({ viewport: { width: 375, height: 812 }, acceptDownloads: true });
	ctx.setDefaultTimeout(20000);
	const page = await ctx.newPage();
	if (PHASE === 'shares') {
		const problems = [];
		page.on('pageerror', (e) => problems.push('page error: ' + e.message));
		await sharesPhase(page, problems);
		await step('no page error in the explorer', async () => assert(problems.length === 0, problems.join('; ')));
		await browser.close();
		return;
	}
	const problems = [];
	page.on('pageerror', (e) => problems.push('page error: ' + e.message));
	page.on('console', (m) => {
		if (m.type() === 'error' && !/409|Failed to load resource/.test(m.text())) problems.push('console: ' + m.text());
	});
	const posted = [];
	page.on('request', (r) => {
		if (r.method() === 'POST' && r.url().endsWith(`/api/e/${SLUG}/votes`)) posted.push(r.postData());
	});
	const exportFile = path.join(TMP, 'export.json');
	const genesis = await (await fetch(`${BASE}/api/e/${SLUG}/blocks/0`)).json();
	const election = await (await fetch(`${BASE}/api/e/${SLUG}/election`)).json();
	const K = bal.electionKey(genesis);
	const cands = genesis.candidates;
	fs.writeFileSync(exportFile, await (await fetch(`${BASE}/api/e/${SLUG}/chain/export`)).text());
	const voterKey = JSON.parse(fs.readFileSync(KEY_FILE, 'utf8')).public_key;
	let first = null;
	let challengePath = null;

	const ready = await step('the vote page of the secret election loads the key and offers the 3 candidates', async () => {
		await page.goto(`${BASE}/e/${SLUG}/vote.html`);
		await page.setInputFiles('#key-file', KEY_FILE);
		await page.waitForSelector('#key-public');
		await page.waitForFunction(() => document.querySelectorAll('#choices input:not([disabled])').length === 3);
	});
	if (ready) {
		await step('choosing a candidate prepares an encrypted ballot and shows its fingerprint', async () => {
			await page.check(`#cand-${cands[1].id}`);
			await page.click('#review-button');
			await page.waitForSelector('#secret-ready:not([hidden])');
			first = (await page.textContent('#secret-fingerprint')).trim();
			assert(/^[0-9a-f]{64}$/.test(first), 'fingerprint: ' + first);
			assert((await page.textContent('#secret-name')).trim() === cands[1].name, 'the choice is named');
		});
		await step('"Check the encryption" reveals the randomness and the page confirms the choice shown', async () => {
			await page.click('#secret-check');
			await page.waitForSelector('#secret-check-result');
			const res = await page.textContent('#secret-check-result');
			assert(res.includes(cands[1].name) && res.includes(first.slice(0, 16)), res);
			assert(await page.$eval('#secret-check-result', (e) => e.classList.contains('ok')), 'shown as ok');
			const ms = await page.$$eval('#secret-opening li', (lis) => lis.map((l) => l.dataset.m).join(','));
			assert(ms === '0,1,0', 'm per position: ' + ms);
		});
		await step('the challenge file passes `chainvote check-ballot`, also against the export\'s genesis', async () => {
			const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#secret-checked a[download]')]);
			challengePath = path.join(TMP, 'challenge.json');
			await dl.saveAs(challengePath);
			const f = JSON.parse(fs.readFileSync(challengePath, 'utf8'));
			assert(f.format === 'chainvote-challenge/1' && f.fingerprint === first && f.ballot.signature === undefined,
				'file: ' + JSON.stringify(f).slice(0, 200));
			let r = checkBallot(challengePath);
			assert(r.status === 0 && r.stdout.includes(`choice: candidate ${cands[1].id} `), r.stdout + r.stderr);
			r = checkBallot('--chain', exportFile, challengePath);
			assert(r.status === 0 && r.stdout.includes('match the genesis'), r.stdout + r.stderr);
		});
		await step('a challenge file that claims another choice, or has another r, fails check-ballot', async () => {
			const f = JSON.parse(fs.readFileSync(challengePath, 'utf8'));
			const lie = path.join(TMP, 'lie.json');
			fs.writeFileSync(lie, JSON.stringify({ ...f, choice: cands[0].id }));
			let r = checkBallot(lie);
			assert(r.status === 1 && r.stdout.includes('NOT OK'), r.stdout + r.stderr);
			f.opening[0].r = f.opening[2].r;
			fs.writeFileSync(lie, JSON.stringify(f));
			r = checkBallot(lie);
			assert(r.status === 1, r.stdout + r.stderr);
		});
		let second = null;
		await step('a fresh ballot with a new fingerprint follows the check; the checked one was never posted', async () => {
			await page.waitForSelector('#secret-ready:not([hidden])');
			second = (await page.textContent('#secret-fingerprint')).trim();
			assert(/^[0-9a-f]{64}$/.test(second) && second !== first, `${first} then ${second}`);
			assert(posted.length === 0, 'nothing posted yet');
		});
		await step('"Cast" posts the signed 6.1 ballot whose txid is the fingerprint; the service takes it and the page tracks its receipt', async () => {
			await page.click('#secret-cast');
			await page.waitForURL((u) => u.hash === `#txid=${second}`, { timeout: 20000 });
			assert(await page.isHidden('#secret-card'), 'the ballot card is put away once cast');
			const st = await page.evaluate(async ({ slug, txid }) => {
				const r = await fetch(`/api/e/${slug}/votes/${txid}`);
				return { status: r.status, body: await r.json() };
			}, { slug: SLUG, txid: second });
			assert(st.status === 200, `the service knows the ballot: ${JSON.stringify(st)}`);
			assert(posted.length === 1, `${posted.length} posts`);
			const b = JSON.parse(posted[0]);
			const want = ['ciphertexts', 'election_id', 'proofs', 'signature', 'sum_proof', 'timestamp', 'voter_key'];
			assert(JSON.stringify(Object.keys(b).sort()) === JSON.stringify(want), 'keys: ' + Object.keys(b));
			assert(b.election_id === election.genesis_hash && b.voter_key === voterKey && b.ciphertexts.length === 3, 'fields');
			assert(bal.ballotTxid(b) === second, 'txid = the fingerprint shown');
			const v = bal.verifyBallot(b, K, 3);
			assert(v.ok, JSON.stringify(v));
			assert(await cv.verify(voterKey, b.signature, bal.ballotPayload(b)), 'the signature verifies');
			assert(await page.isDisabled('#secret-check'), 'a ballot once sent cannot be checked');
		});
		if (MINER && TRUSTEE_KEYS) {
			await step('once mined and approved, the vote page checks the ballot\'s receipt in the chain', async () => {
				commitPool();
				await page.waitForSelector('#in-chain', { timeout: 30000 });
				const fails = await page.$$eval('#receipt-proof .checks li.fail', (lis) => lis.length);
				assert(fails === 0, `${fails} checks failed`);
			});
			await step('the page\'s receipt file holds the ballot (no choice) and passes `chainvote receipt`', async () => {
				const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#receipt-download a[download]')]);
				const file = path.join(TMP, 'receipt.json');
				await dl.saveAs(file);
				const f = JSON.parse(fs.readFileSync(file, 'utf8'));
				assert(f.ballot && !f.vote && f.ballot.txid === second && f.acceptance.txid === second &&
					!('candidate_id' in f.ballot), JSON.stringify(f).slice(0, 300));
				const r = spawnSync(CHAINVOTE, ['receipt', '--url', BASE, '--election', SLUG, '--receipt', file], { encoding: 'utf8' });
				assert(r.status === 0 && r.stdout.includes('inclusion proof verified'), r.stdout + r.stderr);
			});
			await explorerBallots(ctx, problems, second, cands);
		}
		await step('no page error and no CSP violation (the vendored modules load under the strict CSP)', async () => {
			assert(problems.length === 0, problems.join('; '));
		});
	}

	// time to prepare a 3-candidate ballot in the page: the module alone, 5 runs each
	const timing = async () => page.evaluate(async ({ slug }) => {
		const m = await import('/js/ballot.js');
		const g = await (await fetch(`/api/e/${slug}/blocks/0`)).json();
		const K = m.electionKey(g);
		const runs = [];
		for (let i = 0; i < 6; i++) {
			const t0 = performance.now();
			m.makeBallot({ K, electionId: g.hash, voterKey: g.voters[0], timestamp: g.timestamp, k: 3, choice: i % 3 });
			runs.push(performance.now() - t0);
		}
		return runs.slice(1); // the first also warms up the JIT and noble's tables
	}, { slug: SLUG });
	await step('timing of preparing a 3-candidate ballot (reported)', async () => {
		const cdp = await ctx.newCDPSession(page);
		for (const rate of [1, 4, 6]) {
			await cdp.send('Emulation.setCPUThrottlingRate', { rate });
			const runs = await timing();
			console.log(`# timing: prepare a 3-candidate ballot, CPU throttling ${rate}x: median ${median(runs).toFixed(1)} ms, ` +
				`max ${Math.max(...runs).toFixed(1)} ms (${runs.length} runs)`);
		}
		await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
		const pageMs = await page.$eval('#secret-card', (e) => e.dataset.prepareMs || '');
		if (pageMs) console.log(`# timing: the page's own last prepare (first ballot work included): ${pageMs} ms`);
	});
	await browser.close();
}

try {
	await main();
} catch (e) {
	failed++;
	console.log(`not ok - the browser test crashed: ${(e && e.stack) || e}`);
}
console.log(`ballot page: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
