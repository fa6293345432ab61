// The trustee page in Debian's Chromium against the real system tests/e2e_trustee_page.py
// set up (a secret election in set-up, three validators who are its trustees). PHASE
// complaint: the page posts its entry and shares, and complains about a share sealed to it
// with a wrong value. PHASE ceremony (after the admin's reset): this trustee does its whole part on the page while the two others (CLI_KEYS)
// run `chainvote trustee keygen|shares`; PHASE decrypt (after the seal): a fresh browser
// loads the key and the share file saved in the first phase and posts the decryption
// share, and again from the secret file alone. Env: URL, SLUG, KEY_FILE, CLI_KEYS (comma-separated key files), CHAINVOTE, TMP,
// PHASE. Prints "ok - …" lines and "trustee page PHASE: N passed, N failed".

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

import * as cer from '../../www/js/ceremony.js';
import { N } from '../../www/js/ballot.js';

const { URL: BASE, SLUG, KEY_FILE, CLI_KEYS, CHAINVOTE, TMP, PHASE } = process.env;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SECRET_FILE = path.join(TMP, 'page-trustee.secret.json');
const SHARE_FILE = path.join(TMP, 'page-trustee.share.json');
const me = JSON.parse(fs.readFileSync(KEY_FILE, 'utf8')).public_key;
const cliKeys = CLI_KEYS.split(',');
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
		console.log(`not ok - ${name}: ${(e && e.message) || e}`.slice(0, 1500));
		return false;
	}
}

function assert(cond, msg) {
	if (!cond) throw new Error(msg || 'assertion failed');
}

// the secret file where tests/e2e_ceremony.py's Trustee keeps it: t1.key → t1.secret
const secretOf = (keyPath) => keyPath.replace(/\.key$/, '') + '.secret';

// `chainvote trustee STEP` for the CLI trustee whose key file is keyPath
function cli(stepName, keyPath) {
	const args = ['trustee', stepName, '--url', BASE, '--election', SLUG, '--key', keyPath];
	if (stepName === 'keygen') args.push('--secret-out', secretOf(keyPath));
	if (stepName === 'shares') args.push('--secret', secretOf(keyPath));
	return spawnSync(CHAINVOTE, args, { encoding: 'utf8' });
}

const api = async (p) => (await fetch(`${BASE}/api/e/${SLUG}${p}`)).json();
const pubOf = (keyPath) => JSON.parse(fs.readFileSync(keyPath, 'utf8')).public_key;

async function openPage(ctx, problems) {
	const page = await ctx.newPage();
	page.on('pageerror', (e) => problems.push('page error: ' + e.message));
	page.on('console', (m) => {
		if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push('console: ' + m.text());
	});
	await page.goto(`${BASE}/e/${SLUG}/trustee.html`);
	return page;
}

async function loadKey(page) {
	await page.setInputFiles('#key-file', KEY_FILE);
	await page.locator('#key-role').filter({ hasText: 'This key is trustee x = ' }).waitFor();
}

// The page makes the polynomial, saves the secret file to file and posts the entry; then
// the CLI trustees post theirs.
async function makeEntry(page, file) {
	let secretDoc = null;
	await step('the page makes the polynomial; the entry can be posted only once the secret file is saved', async () => {
		await page.click('#secret-make');
		await page.waitForSelector('#secret-download');
		assert(await page.isDisabled('#entry-post'), 'not before the file is saved');
		const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#secret-download')]);
		await dl.saveAs(file);
		secretDoc = JSON.parse(fs.readFileSync(file, 'utf8'));
		assert(secretDoc.format === 'chainvote-trustee-secret/1' && secretDoc.coefficients.length === 2 &&
			secretDoc.validator_key === me, JSON.stringify(Object.keys(secretDoc)));
		await page.waitForFunction(() => !document.getElementById('entry-post').disabled);
	});
	await step('the signed trustee entry is posted: its commitments are the saved coefficients\' and it verifies', async () => {
		await page.click('#entry-post');
		await page.locator('#entry-msg.ok').filter({ hasText: 'posted' }).waitFor();
		const c = await api('/ceremony');
		const mine = c.trustees.find((t) => t.validator_key === me);
		assert(mine && mine.entry, 'the service holds the entry');
		assert(mine.entry.commitments[0] === cer.publicOf(BigInt('0x' + secretDoc.coefficients[0])), 'C_0 = a_0·G');
		assert((await cer.verifyTrusteeEntry(mine.entry, c.setup_hash)).ok, 'proofs and signature verify');
		assert(!fs.readFileSync(file, 'utf8').includes('"d"'), 'no key in the secret file');
	});
	await step('the two CLI trustees post their entries', async () => {
		for (const k of cliKeys) {
			const r = cli('keygen', k);
			assert(r.status === 0, r.stdout + r.stderr);
		}
	});
}

// A share to this trustee sealed and signed by the first CLI trustee (its key and secret
// files) whose value is P(x) + 1: it opens, but does not match the sender's commitments.
async function postTamperedShare() {
	const k = cliKeys[0];
	const kf = JSON.parse(fs.readFileSync(k, 'utf8'));
	const privateKey = await globalThis.crypto.subtle.importKey('jwk', kf.private_key, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
	const coeffs = JSON.parse(fs.readFileSync(secretOf(k), 'utf8')).coefficients.map((h) => BigInt('0x' + h));
	const c = await api('/ceremony');
	const x = c.trustees.find((t) => t.validator_key === me).x;
	const { share } = await cer.sealShare({
		setupHash: c.setup_hash, sender: kf.public_key, privateKey, recipient: me, value: (cer.polyEval(coeffs, x) + 1n) % N,
	});
	return fetch(`${BASE}/api/e/${SLUG}/ceremony/shares`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(share) });
}

async function complaintPhase(page, problems) {
	await step('the trustee page loads the validator key', async () => loadKey(page));
	await makeEntry(page, path.join(TMP, 'page-trustee-voided.secret.json'));
	await step('the page sends its shares', async () => {
		await page.click('#shares-send');
		await page.locator('#shares-msg.ok').filter({ hasText: '2 shares sent' }).waitFor();
	});
	await step('a share sealed to the page with a wrong value (signed by its sender) is stored', async () => {
		const r = await postTamperedShare();
		assert(r.status === 201, `${r.status} ${await r.text()}`);
	});
	await step('checking its shares, the page lodges a complaint naming the sender and says it stands', async () => {
		await page.click('#shares-check');
		await page.locator('#shares-msg.err').filter({ hasText: 'complaint' }).waitFor();
		assert((await page.locator('#shares-list li.check.fail').count()) >= 1, 'the bad share is listed as failed');
		const c = await api('/ceremony');
		const ck = c.checks.find((x) => x.trustee === me && x.sender === pubOf(cliKeys[0]));
		assert(ck && ck.good === false && c.complaints === 1 && !c.complete, JSON.stringify(c.checks));
		assert(!(await page.isVisible('#share-download')), 'no share file is offered');
	});
}

async function ceremonyPhase(page, ctx, problems) {
	const ok = await step('the trustee page loads the validator key and names this trustee\'s place; the setup_hash is recomputed', async () => {
		const secure = await page.evaluate(() => isSecureContext && !!crypto.subtle);
		assert(secure, 'a secure context');
		assert(await page.locator('#insecure-context').count() === 0, 'no insecure-context banner');
		await loadKey(page);
		await page.locator('#cer-rows tr').nth(2).waitFor();
		assert((await page.locator('#cer-rows tr').count()) === 3, 'three trustees listed');
		assert((await page.textContent('#cer-facts')).includes('recomputed here'), 'the setup_hash checks');
		assert(await page.isEnabled('#secret-make'), 'the polynomial can be made');
	});
	if (!ok) return;
	await step('a file that is not a trustee file is refused with a reason', async () => {
		await page.setInputFiles('#secret-file', KEY_FILE);
		await page.locator('#secret-error').filter({ hasText: 'not a trustee file' }).waitFor();
	});
	await makeEntry(page, SECRET_FILE);
	let page2 = page;
	await step('after a reload the page takes the key file and the secret file again and sees the entry posted', async () => {
		await page.close();
		page2 = await openPage(ctx, problems);
		await loadKey(page2);
		await page2.setInputFiles('#secret-file', SECRET_FILE);
		await page2.locator('#secret-status').filter({ hasText: 'matches your posted entry' }).waitFor();
		await page2.locator('#cer-rows tr .entry').filter({ hasText: 'proofs checked here' }).nth(2).waitFor();
		await page2.waitForFunction(() => !document.getElementById('shares-send').disabled);
	});
	await step('the page seals and sends its two shares', async () => {
		await page2.click('#shares-send');
		await page2.locator('#shares-msg.ok').filter({ hasText: '2 shares sent' }).waitFor();
		const c = await api('/ceremony');
		assert(c.shares.filter((s) => s.sender === me).length === 2, JSON.stringify(c.shares));
	});
	await step('the CLI trustees open the page\'s shares, find them matching and confirm them (C reads the page\'s bytes)', async () => {
		const codes = [];
		for (let round = 0; round < 2; round++) for (const k of cliKeys) codes.push(cli('shares', k));
		const last = codes.slice(-2);
		assert(last.every((r) => r.status === 0), last.map((r) => r.stdout + r.stderr).join('\n'));
		const c = await api('/ceremony');
		for (const k of cliKeys) {
			const ck = c.checks.find((x) => x.trustee === pubOf(k) && x.sender === me);
			assert(ck && ck.good === true, 'confirmation by ' + pubOf(k).slice(0, 12));
		}
	});
	await step('the page opens the two shares sealed by the CLI, checks them and posts its confirmations (the page reads C\'s bytes)', async () => {
		await page2.click('#shares-check');
		await page2.locator('#shares-msg.ok').filter({ hasText: 'Every share is confirmed' }).waitFor();
		assert((await page2.locator('#shares-list li.check.pass').count()) >= 2, 'two good shares listed');
		assert((await page2.locator('#shares-list li.check.fail').count()) === 0, 'nothing failed');
		const c = await api('/ceremony');
		const mine = c.checks.filter((x) => x.trustee === me);
		assert(mine.length === 2 && mine.every((x) => x.good), JSON.stringify(mine));
	});
	await step('the page offers its share file: s_j with s_j·G = K_j', async () => {
		const [dl] = await Promise.all([page2.waitForEvent('download'), page2.click('#share-download')]);
		await dl.saveAs(SHARE_FILE);
		const f = cer.readTrusteeFile(fs.readFileSync(SHARE_FILE, 'utf8'));
		const c = await api('/ceremony');
		const x = c.trustees.find((t) => t.validator_key === me).x;
		assert(f.kind === 'share' && f.x === x, JSON.stringify(f.x));
		assert(f.trusteeKey === cer.trusteeKey(c.trustees.map((t) => t.entry), x), 's_j·G = K_j');
	});
	await step('the page shows the ceremony complete', async () => {
		await page2.click('#cer-refresh');
		await page2.waitForFunction(() => document.getElementById('cer-status').dataset.complete === '1');
		assert((await page2.textContent('#cer-status')).includes('complete'), 'said in words');
	});
}

async function decryptPhase(page) {
	await step('after the seal, a fresh browser takes the key file ("remember" ticked) and the share file', async () => {
		await page.check('#key-remember');
		await loadKey(page);
		await page.setInputFiles('#secret-file', SHARE_FILE);
		await page.locator('#secret-status').filter({ hasText: 'Your share s_j' }).waitFor();
		await page.waitForFunction(() => !document.getElementById('decrypt-post').disabled);
	});
	let posted = null;
	page.on('request', (r) => {
		if (r.method() === 'POST' && r.url().endsWith(`/api/e/${SLUG}/decryptions`)) posted = JSON.parse(r.postData());
	});
	await step('the page checks the chain and posts its decryption share; the service takes it', async () => {
		await page.click('#decrypt-post');
		await page.waitForSelector('#decrypt-txid', { timeout: 60000 });
		const txid = (await page.textContent('#decrypt-txid')).trim();
		assert(/^[0-9a-f]{64}$/.test(txid), txid);
		assert(posted && posted.validator_key === me && posted.shares.length === 3, JSON.stringify(posted).slice(0, 300));
		const el = await api('/election');
		assert(posted.through_height === el.seal_height - 1, `through_height ${posted.through_height}, seal ${el.seal_height}`);
		const st = await fetch(`${BASE}/api/e/${SLUG}/votes/${txid}`);
		assert(st.status === 200, `the service knows the share: ${st.status}`);
	});
	await step('after a reload the key remembered in the browser (signing and ECDH) and the secret file alone remake s_j from the sealed shares; the post is told the share is in already', async () => {
		await page.reload();
		await page.locator('#key-status').filter({ hasText: 'saved in this browser' }).waitFor();
		await page.locator('#key-role').filter({ hasText: 'This key is trustee x = ' }).waitFor();
		await page.setInputFiles('#secret-file', SECRET_FILE);
		await page.locator('#secret-status').filter({ hasText: 'matches your posted entry' }).waitFor();
		await page.waitForFunction(() => !document.getElementById('decrypt-post').disabled);
		posted = null;
		await page.click('#decrypt-post');
		await page.locator('#decrypt-msg.ok').filter({ hasText: 'posted already' }).waitFor({ timeout: 60000 });
		assert(posted && posted.validator_key === me, 'a share was made and posted again');
	});
}

async function main() {
	const browser = await chromium.launch({
		executablePath: CHROMIUM, headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
			'--disable-component-update', '--disable-sync'],
	});
	const ctx = await browser.newContext({ viewport: { width: 1000, height: 900 }, acceptDownloads: true });
	ctx.setDefaultTimeout(20000);
	const problems = [];
	const page = await openPage(ctx, problems);
	if (PHASE === 'complaint') await complaintPhase(page, problems);
	else if (PHASE === 'ceremony') await ceremonyPhase(page, ctx, problems);
	else await decryptPhase(page);
	await step('no page error and no CSP violation', async () => {
		assert(problems.length === 0, problems.join('; '));
	});
	await browser.close();
}

try {
	await main();
} catch (e) {
	failed++;
	console.log(`not ok - the browser test crashed: ${(e && e.stack) || e}`);
}
console.log(`trustee page ${PHASE}: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
