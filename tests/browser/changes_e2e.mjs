// Changes of the parameters in force on the pages, in Debian's Chromium against the real
// system that tests/e2e_changes_page.py set up (an open election, validators 0-2 with
// threshold 2, their key files): the admin drafts a new difficulty on the admin page;
// validator 0 signs it on the dashboard and proposes a later closing time there, signed
// in the page; validator 1 signs the difficulty, which is then "ready"; the work template
// offers it alone; the miner mines it; the dashboard checks the change block in the
// browser and validators 1 and 0 approve it there; the change is then in force.
// Env: URL, COOKIE (the admin's session), KEYS (key files, ':'-separated), CHAINVOTE,
// MINER, TMP. Prints "ok - …" lines and "changes pages: N passed, N failed".

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { chromium } from 'playwright-core';

const { URL: BASE, COOKIE, KEYS, MINER } = process.env;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const keyFiles = KEYS.split(':');
const publicKey = (f) => JSON.parse(fs.readFileSync(f, 'utf8')).public_key;
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

const getJson = async (p) => (await fetch(`${BASE}${p}`)).json();

async function main() {
	const browser = await chromium.launch({
		executablePath: CHROMIUM, headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
			'--disable-component-update', '--disable-sync'],
	});
	const problems = [];
	const watch = (page) => {
		page.on('pageerror', (e) => problems.push('page error: ' + e.message));
		page.on('console', (m) => {
			if (m.type() === 'error' && !/40[0-9]|Failed to load resource/.test(m.text())) problems.push('console: ' + m.text());
		});
	};
	const url = new URL(BASE);
	const adminCtx = await browser.newContext({ viewport: { width: 1100, height: 900 } });
	await adminCtx.addCookies([{ name: 'cv_admin', value: COOKIE, domain: url.hostname, path: '/' }]);
	const valCtx = await browser.newContext({ viewport: { width: 1100, height: 900 } });
	for (const c of [adminCtx, valCtx]) c.setDefaultTimeout(20000);
	const admin = await adminCtx.newPage();
	const val = await valCtx.newPage();
	watch(admin);
	watch(val);
	const sent = [];
	val.on('request', (r) => {
		if (r.method() === 'POST') sent.push(r.postData() || '');
	});
	const item = (page, text) => page.locator('#ch-list li.change').filter({ hasText: text });

	const drafted = await step('the admin drafts a new difficulty on the admin page, with no signature', async () => {
		await admin.goto(`${BASE}/admin/`);
		await admin.locator('#ch-form').waitFor();
		await admin.selectOption('#ch-kind', 'difficulty');
		await admin.fill('#ch-difficulty', '6');
		await admin.locator('#ch-propose').click();
		await admin.locator('#ch-msg').filter({ hasText: 'Drafted' }).waitFor();
		await item(admin, 'Mining difficulty → 6').filter({ hasText: '0 of 2 signatures' }).waitFor();
	});
	await step('a difficulty out of range is refused in the page before sending', async () => {
		await admin.fill('#ch-difficulty', '300');
		await admin.locator('#ch-propose').click();
		await admin.locator('#ch-msg.err').filter({ hasText: '0 to 255' }).waitFor();
	});

	await step('validator 0 loads its key file on the dashboard and signs the draft', async () => {
		assert(drafted, 'no draft');
		await val.goto(`${BASE}/validator.html`);
		await val.setInputFiles('#key-file', keyFiles[0]);
		await val.locator('#key-role').filter({ hasText: 'Validator 0' }).waitFor();
		const li = item(val, 'Mining difficulty → 6');
		await li.locator('button', { hasText: 'Sign' }).click();
		await li.filter({ hasText: '1 of 2 signatures: Validator 0' }).waitFor();
		assert(await li.locator('button', { hasText: 'Sign' }).isDisabled(), 'cannot sign twice');
	});
	await step('validator 0 proposes a later closing time, signed in the page', async () => {
		await val.selectOption('#ch-kind', 'closes');
		const later = new Date(Date.now() + 3 * 3600 * 1000);
		const local = new Date(later.getTime() - later.getTimezoneOffset() * 60000).toISOString().slice(0, 19);
		await val.fill('#ch-closes', local);
		await val.locator('#ch-propose').click();
		await val.locator('#ch-msg').filter({ hasText: 'Proposed with your signature' }).waitFor();
		await item(val, 'Closing time →').filter({ hasText: '1 of 2 signatures: Validator 0' }).waitFor();
	});
	await step('the key never left the page: only signatures were sent', async () => {
		const d = JSON.parse(fs.readFileSync(keyFiles[0], 'utf8')).private_key.d;
		assert(sent.length >= 2, `${sent.length} POSTs`);
		assert(sent.every((b) => !b.includes(d)), 'a request carried the private key');
	});
	const ready = await step('validator 1 signs the difficulty: it is ready, and the admin page shows both signers', async () => {
		await val.setInputFiles('#key-file', keyFiles[1]);
		await val.locator('#key-role').filter({ hasText: 'Validator 1' }).waitFor();
		const li = item(val, 'Mining difficulty → 6');
		await li.locator('button', { hasText: 'Sign' }).click();
		await li.filter({ hasText: '2 of 2 signatures' }).waitFor();
		await val.locator('#ch-list li.change[data-status="ready"]').waitFor();
		await item(admin, 'Mining difficulty → 6').filter({ hasText: /Validator 0, Validator 1|Validator 1, Validator 0/ }).waitFor({ timeout: 15000 });
	});
	await step('the work template offers the change alone as the next block', async () => {
		assert(ready, 'not ready');
		const w = await getJson('/api/work');
		assert(w.change && w.change.kind === 'difficulty' && w.change.difficulty === 6 && w.votes.length === 0, JSON.stringify(w).slice(0, 300));
	});
	const card = val.locator('article.proposal').first();
	const mined = await step('the miner mines it; the dashboard checks the change block in the browser: every check passes', async () => {
		const r = spawnSync(MINER, ['--url', BASE, '--once', '--threads', '1'], { encoding: 'utf8', timeout: 120000 });
		assert(r.status === 0, r.stdout + r.stderr);
		await card.filter({ hasText: 'a change (difficulty)' }).waitFor();
		await card.locator('.local-checks li.check.pass').nth(3).waitFor();
		assert((await card.locator('.local-checks li.check.fail').count()) === 0, 'a failed browser check');
		assert((await card.locator('.server-checks li.check.fail').count()) === 0, 'a failed server check');
	});
	await step('validators 1 and 0 approve it on the dashboard: committed, and in force', async () => {
		assert(mined, 'not mined');
		await card.locator('button.approve').click();
		await card.locator('.msg').filter({ hasText: /Approved|You approved/ }).waitFor();
		await val.setInputFiles('#key-file', keyFiles[0]);
		await val.locator('#key-role').filter({ hasText: 'Validator 0' }).waitFor();
		await card.locator('button.approve').click();
		await item(val, 'Mining difficulty → 6').filter({ hasText: 'in force' }).waitFor();
		const e = await getJson('/api/election');
		assert(e.difficulty === 6 && e.tip_height === 1, `difficulty ${e.difficulty}, tip ${e.tip_height}`);
		const b = await getJson('/api/blocks/1');
		assert(b.change && b.change.signatures.length === 2 && b.votes.length === 0, 'block 1 carries the change');
		const signers = b.change.signatures.map((s) => s.validator_key).sort();
		assert(JSON.stringify(signers) === JSON.stringify([publicKey(keyFiles[0]), publicKey(keyFiles[1])].sort()), 'signed by validators 0 and 1');
	});
	await step('the closing time change missed its block and says so', async () => {
		await item(val, 'Closing time →').filter({ hasText: 'missed its block' }).waitFor();
	});
	await step('no page error or console error', async () => {
		assert(problems.length === 0, problems.join('; '));
	});
	await browser.close();
}

try {
	await main();
} catch (e) {
	failed++;
	console.log(`not ok - the browser test: ${(e && e.stack) || e}`.slice(0, 900));
}
console.log(`changes pages: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
