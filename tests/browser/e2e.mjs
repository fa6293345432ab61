// Browser end-to-end test: starts the real system (tools/run.sh: nginx and the FastCGI
// programs on a free 127.0.0.1 port, state in a temporary directory), then drives every
// page in Debian's Chromium: sets the election up on the admin page, registers a voter,
// opens, votes, mines one block, makes a validator key on the dashboard and sees it flag
// a proposal waiting past the limit set there, approves it as two validators, and
// checks the receipt turns committed with its proof verified, the explorer and results;
// closes, mines the seal, approves it on the dashboard and sees the result final; plus an
// error path per page. Prints "ok - …" lines and "browser: N passed, N failed".
// Chromium reaches the service by a host name (election.test, mapped by
// --host-resolver-rules): with TLS_LISTEN (an address beyond 127.0.0.1, e.g. 127.0.0.2)
// the system listens there and speaks HTTPS with the certificate run.sh makes, trusted
// by its key alone (--ignore-certificate-errors-spki-list), and the test starts by
// checking that plain HTTP by the name redirects to HTTPS; without it the system is on
// 127.0.0.1, plain HTTP, and the test checks that the signing pages, opened by the name
// over plain HTTP (no secure context), say they cannot sign instead of looking ready.
// Env: BIN, CGI (binaries), RUN_SH (tools/run.sh unless set), OUT (screenshots),
// TLS_LISTEN.

import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const BIN = path.resolve(top, process.env.BIN || 'build/rel/bin');
const CGI = path.resolve(top, process.env.CGI || 'build/rel/cgi');
const RUN_SH = path.resolve(top, process.env.RUN_SH || 'tools/run.sh');
const OUT = path.resolve(top, process.env.OUT || 'tests/out');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const STEP_MS = 20000;

let passed = 0;
let failed = 0;

// Outcomes of the steps later ones depend on (opts.sets), so that a step whose
// prerequisite failed is reported at once instead of waiting out its timeouts.
const done = new Map();

// Runs one named check; a failure is reported and counted, and the test goes on.
async function step(name, fn, opts = {}) {
	const missing = (opts.needs || []).filter((n) => !done.get(n));
	if (missing.length) {
		failed++;
		console.log(`not ok - ${name}: not run, it needs ${missing.join(', ')}`);
		return false;
	}
	const ok = await run(name, fn);
	if (opts.sets) done.set(opts.sets, ok);
	return ok;
}

async function run(name, fn) {
	try {
		await fn();
		passed++;
		console.log(`ok - ${name}`);
		return true;
	} catch (e) {
		failed++;
		console.log(`not ok - ${name}: ${String((e && e.message) || e).split('\n')[0]}`);
		return false;
	}
}

function assert(cond, message) {
	if (!cond) throw new Error(message || 'assertion failed');
}

function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address();
			s.close(() => resolve(port));
		});
		s.on('error', reject);
	});
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-browser-'));
// as root, run.sh runs the programs as an unprivileged user, who must pass through here
if (process.getuid && process.getuid() === 0) fs.chmodSync(tmp, 0o711);
const DATA = path.join(tmp, 'data');
const KEYS = path.join(tmp, 'keys');
fs.mkdirSync(KEYS);
fs.mkdirSync(OUT, { recursive: true });
const TLS_LISTEN = process.env.TLS_LISTEN || '';
const NAME = 'election.test';
const port = await freePort();
// the pages by the name; the command line (which has no such name to resolve) by address
const URL_ = TLS_LISTEN ? `https://${NAME}:${port}` : `http://127.0.0.1:${port}`;
const CLI_URL = TLS_LISTEN ? `https://${TLS_LISTEN}:${port}` : URL_;
const CERT = path.join(DATA, 'tls', 'cert.pem');
const CLI_TLS = TLS_LISTEN ? ['--cacert', CERT] : [];
const env = { ...process.env, BIN, CGI, DEMO: '0', MINER: '0', VALIDATORS: '0', WORKERS: '2' };
if (TLS_LISTEN) Object.assign(env, { LISTEN: TLS_LISTEN, TLS_NAME: NAME });

// base64 of the SHA-256 of a certificate's SubjectPublicKeyInfo: what Chromium's
// --ignore-certificate-errors-spki-list trusts (that key, not every certificate error)
function spkiHash(pemFile) {
	const der = new crypto.X509Certificate(fs.readFileSync(pemFile)).publicKey.export({ type: 'spki', format: 'der' });
	return crypto.createHash('sha256').update(der).digest('base64');
}

// JSON fetched by the page itself, so through Chromium's resolver and trust
function getJSON(page, url) {
	return page.evaluate(async (u) => (await fetch(u)).json(), url);
}

function runSh(action) {
	return spawnSync('sh', [RUN_SH, action, String(port), DATA], { env, encoding: 'utf8', timeout: 60000 });
}

function keygen(file) {
	execFileSync(path.join(BIN, 'chainvote'), ['keygen', '-o', file], { stdio: ['ignore', 'ignore', 'pipe'] });
	return JSON.parse(fs.readFileSync(file, 'utf8')).public_key;
}

// Console errors that are not an expected refusal (a 4xx the test provokes on purpose).
function watch(page, sink) {
	page.on('console', (m) => {
		if (m.type() !== 'error') return;
		const t = m.text();
		if (/Failed to load resource: the server responded with a status of (40[0-9]|41[0-9]|42[0-9])/.test(t)) return;
		sink.push(`${page.url()}: ${t}`);
	});
	page.on('pageerror', (e) => sink.push(`${page.url()}: uncaught ${e.message}`));
}

async function shot(page, name) {
	await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });
}

// Every visible form control has a label; the page has a lang, one h1, no horizontal scroll.
async function pageBasics(page) {
	return page.evaluate(() => {
		const problems = [];
		if (!document.documentElement.lang) problems.push('no lang');
		if (document.querySelectorAll('h1').length !== 1) problems.push('not one h1');
		for (const el of document.querySelectorAll('input, select, textarea')) {
			if (el.type === 'hidden' || el.closest('[hidden]')) continue;
			if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
				problems.push(`unlabelled ${el.tagName.toLowerCase()}#${el.id}`);
		}
		if (document.documentElement.scrollWidth > window.innerWidth + 1)
			problems.push(`scrolls sideways: ${document.documentElement.scrollWidth} > ${window.innerWidth}`);
		return problems;
	}).then(async (problems) => {
		// the served markup itself (the live DOM carries the test driver's own traces)
		const src = await page.evaluate(() => fetch(location.pathname).then((r) => r.text()));
		if (/\sstyle\s*=/i.test(src) || /<style/i.test(src)) problems.push('inline style in the markup');
		if (/<script(?![^>]*\bsrc=)[^>]*>/i.test(src)) problems.push('inline script in the markup');
		if (/\son[a-z]+\s*=/i.test(src)) problems.push('inline event handler in the markup');
		return problems;
	});
}

const consoleErrors = [];
let browser = null;
let started = false;

async function main() {
	const start = runSh('start');
	started = true;
	if (!(await step('system starts (run.sh start)', () => assert(start.status === 0, (start.stdout + start.stderr).trim().split('\n').pop()))))
		return;
	const password = fs.readFileSync(path.join(DATA, 'demo', 'admin-password'), 'utf8').trim();

	const validatorFiles = [1, 2, 3].map((i) => path.join(KEYS, `validator-${i}.json`));
	const validatorKeys = validatorFiles.map(keygen);
	const outsiderFile = path.join(KEYS, 'outsider.json');
	keygen(outsiderFile);
	const rollFiles = [1, 2].map((i) => path.join(KEYS, `roll-voter-${i}.json`));
	const rollKeys = rollFiles.map(keygen);
	const badFile = path.join(KEYS, 'not-a-key.json');
	fs.writeFileSync(badFile, JSON.stringify({ format: 'something-else/1', hello: 'world' }));

	const args = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
		'--disable-component-update', '--disable-sync', `--host-resolver-rules=MAP ${NAME} ${TLS_LISTEN || '127.0.0.1'}`];
	if (TLS_LISTEN) args.push(`--ignore-certificate-errors-spki-list=${spkiHash(CERT)}`);
	browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args });
	const mobile = { viewport: { width: 375, height: 812 }, deviceScaleFactor: 1 };
	const adminCtx = await browser.newContext({ ...mobile, httpCredentials: { username: 'admin', password } });
	const voterCtx = await browser.newContext({ ...mobile, acceptDownloads: true });
	const validatorCtx = await browser.newContext({ viewport: { width: 1100, height: 900 } });
	for (const c of [adminCtx, voterCtx, validatorCtx]) c.setDefaultTimeout(STEP_MS);

	if (TLS_LISTEN) {
		// first, before any HTTPS answer could have set HSTS in this browser
		await step('plain HTTP by the host name is redirected to HTTPS by the service', async () => {
			const page = await voterCtx.newPage();
			const res = await page.goto(`http://${NAME}:${port}/vote.html`);
			const first = res.request().redirectedFrom();
			assert(first && first.url() === `http://${NAME}:${port}/vote.html`, 'the plain request came first');
			const r = await first.response();
			assert(r && r.status() === 301, `the plain answer is ${r && r.status()}`);
			assert(page.url() === `${URL_}/vote.html`, page.url());
			const ctx = await page.evaluate(() => ({ secure: isSecureContext, subtle: !!(crypto && crypto.subtle) }));
			assert(ctx.secure && ctx.subtle, JSON.stringify(ctx));
			assert(await page.locator('#insecure-context').count() === 0, 'no insecure-context banner');
			await page.close();
		});
	} else {
		await step('over plain HTTP by a host name the signing pages say they cannot sign, and hide their forms', async () => {
			const page = await voterCtx.newPage();
			for (const [file, what] of [['vote.html', 'sign or send a vote'], ['register.html', 'make a voter key'], ['validator.html', 'sign approvals']]) {
				await page.goto(`http://${NAME}:${port}/${file}`);
				const banner = page.locator('#insecure-context');
				await banner.filter({ hasText: `This page cannot ${what}` }).waitFor();
				assert((await banner.innerText()).includes('HTTPS'), 'it says why: no HTTPS');
				assert(await page.locator('main').isHidden(), `${file}: the form is hidden`);
				assert(!(await page.evaluate(() => isSecureContext)), 'not a secure context');
			}
			await page.goto(`http://${NAME}:${port}/explorer.html`);
			await page.locator('#insecure-context').filter({ hasText: 'cannot check proofs' }).waitFor();
			assert(await page.locator('main').isVisible(), 'the explorer stays readable');
			await page.goto(`${URL_}/vote.html`);
			await page.locator('#key-status').waitFor();
			assert(await page.locator('#insecure-context').count() === 0, 'on 127.0.0.1 (a secure context) no banner');
			await page.close();
		});
	}

	// ---- admin: settings, candidates, validators, eligibility
	const admin = await adminCtx.newPage();
	watch(admin, consoleErrors);
	await step('admin page loads behind basic auth', async () => {
		const res = await admin.goto(`${URL_}/admin/`);
		assert(res.status() === 200, `status ${res.status()}`);
		await admin.locator('#state-line').filter({ hasText: /No election yet|setup/ }).waitFor();
	});
	await step('admin refuses a threshold below 2 before sending', async () => {
		await admin.fill('#s-title', 'Browser test election');
		await admin.fill('#s-threshold', '1');
		await admin.click('#settings-save');
		await admin.locator('#settings-msg').filter({ hasText: 'from 2 to 255' }).waitFor();
	});
	await step('admin saves the election settings', async () => {
		await admin.fill('#s-threshold', '2');
		await admin.fill('#s-difficulty', '8');
		await admin.fill('#s-max', '8');
		await admin.check('#s-hidden');
		await admin.click('#settings-save');
		await admin.locator('#settings-msg').filter({ hasText: 'Settings saved.' }).waitFor();
		await admin.locator('#state-line').filter({ hasText: 'Browser test election' }).waitFor();
	}, { sets: 'election' });
	await step('admin adds three candidates', async () => {
		for (const [id, name] of [[1, 'Alder Party'], [2, 'Birch Alliance'], [3, 'Cedar Union']]) {
			await admin.fill('#c-id', String(id));
			await admin.fill('#c-name', name);
			await admin.click('#cand-form button[type=submit]');
			await admin.locator('#candidates tbody').filter({ hasText: name }).waitFor();
		}
		assert((await admin.locator('#candidates tbody tr').count()) === 3, 'three rows');
	});
	await step('admin shows the server refusing a key off the curve', async () => {
		await admin.fill('#v-key', '04' + '00'.repeat(64));
		await admin.fill('#v-name', 'Off curve');
		await admin.click('#val-form button[type=submit]');
		await admin.locator('#val-msg.err').filter({ hasText: /valid P-256|key/ }).waitFor();
	});
	await step('admin adds three validators from their key files', async () => {
		for (let i = 0; i < 3; i++) {
			await admin.setInputFiles('#v-file', validatorFiles[i]);
			await admin.waitForFunction((k) => document.getElementById('v-key').value === k, validatorKeys[i]);
			await admin.fill('#v-name', `Validator ${i + 1}`);
			await admin.click('#val-form button[type=submit]');
			await admin.locator('#validators tbody').filter({ hasText: `Validator ${i + 1}` }).waitFor();
		}
	});
	let code = null;
	await step('eligibility import shows the generated codes once, as a CSV download', async () => {
		await admin.fill('#e-text', 'voter_id\nV001\nV002,CODE-TWO-22\n');
		await admin.click('#elig-submit');
		await admin.locator('#codes-table tbody tr').nth(1).waitFor();
		const rows = await admin.locator('#codes-table tbody tr').allInnerTexts();
		const v1 = rows.find((r) => r.startsWith('V001'));
		assert(v1, 'V001 listed');
		code = v1.split(/\s+/)[1];
		assert(code && code.length >= 6, 'a generated code');
		assert(rows.some((r) => r.includes('CODE-TWO-22')), 'given code kept');
		const [dl] = await Promise.all([admin.waitForEvent('download'), admin.click('#codes-link')]);
		const csvPath = path.join(tmp, 'codes.csv');
		await dl.saveAs(csvPath);
		const csv = fs.readFileSync(csvPath, 'utf8');
		assert(csv.startsWith('voter_id,code\n') && csv.includes(`V001,${code}`), 'CSV holds the codes');
	});
	await step('admin puts two more voter keys on the roll directly', async () => {
		await admin.fill('#k-text', rollKeys.join('\n'));
		await admin.click('#keys-form button[type=submit]');
		await admin.locator('#keys-msg').filter({ hasText: '2 keys put on the roll' }).waitFor();
	});
	await step('admin page basics (labels, lang, 375 px)', async () => {
		const p = await pageBasics(admin);
		assert(p.length === 0, p.join('; '));
	});
	await shot(admin, 'admin-setup');

	// ---- voter: registration
	const voter = await voterCtx.newPage();
	watch(voter, consoleErrors);
	await voter.goto(`${URL_}/register.html`);
	await step('registration with a wrong code is refused with a clear message', async () => {
		await voter.fill('#voter-id', 'V001');
		await voter.fill('#code', 'WRONG-CODE');
		await voter.press('#code', 'Enter'); // the keyboard submits the form
		await voter.locator('#form-error').filter({ hasText: 'do not match' }).waitFor();
	});
	await shot(voter, 'register-error');
	const voterKeyFile = path.join(tmp, 'voter-key.json');
	let voterKey = null;
	await step('registration makes a key in the browser and offers the key file', async () => {
		await voter.fill('#code', code);
		await voter.click('#register-button');
		await voter.locator('#done').waitFor({ state: 'visible' });
		voterKey = (await voter.locator('#done-key').innerText()).trim();
		assert(/^04[0-9a-f]{128}$/.test(voterKey), 'public key shown');
		const [dl] = await Promise.all([voter.waitForEvent('download'), voter.click('#key-download')]);
		await dl.saveAs(voterKeyFile);
		const f = JSON.parse(fs.readFileSync(voterKeyFile, 'utf8'));
		assert(f.format === 'chainvote-key/1' && f.public_key === voterKey, 'key file format and key');
		assert(f.private_key.kty === 'EC' && f.private_key.crv === 'P-256' && f.private_key.d, 'private JWK');
	}, { sets: 'registered' });
	await step('the registered key is on the server\'s roll count', async () => {
		const doc = await getJSON(admin, `${URL_}/admin/api/election`);
		assert(doc.counts && doc.counts.registered === 1, JSON.stringify(doc.counts));
	});
	await step('register page basics', async () => {
		const p = await pageBasics(voter);
		assert(p.length === 0, p.join('; '));
	});
	await shot(voter, 'register-done');

	// ---- admin: open
	await step('admin opens the election after confirming', async () => {
		await admin.click('#open-button');
		await admin.locator('#confirm').waitFor({ state: 'visible' });
		await admin.click('#confirm-yes');
		await admin.locator('#state-msg').filter({ hasText: 'The election is open.' }).waitFor();
		await admin.locator('#state-line').filter({ hasText: 'open' }).waitFor();
	}, { sets: 'open' });
	await shot(admin, 'admin-open');

	// ---- voter: vote
	let txid = null;
	await voter.goto(`${URL_}/vote.html`);
	await step('vote page finds the key saved at registration', async () => {
		await voter.locator('#key-status').filter({ hasText: 'saved in this browser' }).waitFor();
		await voter.locator('#key-public').waitFor();
		assert((await voter.getAttribute('#key-public', 'title')) === voterKey, 'the same key');
	}, { needs: ['open', 'registered'] });
	await step('vote page asks for a choice before review', async () => {
		await voter.locator('#choices input').first().waitFor();
		await voter.click('#review-button');
		await voter.locator('#ballot-error').filter({ hasText: 'Choose a candidate' }).waitFor();
	}, { needs: ['open'] });
	await step('voter chooses by keyboard, confirms and casts a signed vote', async () => {
		await voter.focus('#cand-1');
		await voter.keyboard.press('ArrowDown');
		assert(await voter.isChecked('#cand-2'), 'arrow key moves the choice');
		await voter.keyboard.press('Enter');
		await voter.locator('#confirm-name').filter({ hasText: 'Birch Alliance' }).waitFor();
		assert(await voter.evaluate(() => document.activeElement.id === 'confirm-card'), 'focus moves to the confirmation');
		await shot(voter, 'vote-confirm');
		await voter.click('#cast-button');
		await voter.locator('#receipt-card').waitFor({ state: 'visible' });
		txid = (await voter.locator('#receipt-txid').innerText()).trim();
		assert(/^[0-9a-f]{64}$/.test(txid), 'txid shown');
		await voter.locator('#receipt-status').filter({ hasText: 'Pending' }).waitFor();
	}, { sets: 'voted' });
	await step('the vote page checks the service\'s signed acceptance and offers the receipt file', async () => {
		await voter.locator('#receipt-accepted').filter({ hasText: 'its signature checks out' }).waitFor();
		const link = voter.locator('#receipt-download a[download]');
		const [download] = await Promise.all([voter.waitForEvent('download'), link.click()]);
		const file = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
		assert(file.format === 'chainvote-receipt/1' && file.vote.txid === txid && file.acceptance.txid === txid, 'receipt file holds the vote and its acceptance');
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-receipts-'));
		fs.writeFileSync(path.join(dir, 'mine.json'), JSON.stringify(file));
		const r = spawnSync(path.join(BIN, 'chainvote'), ['receipt', '--url', CLI_URL, ...CLI_TLS, '--receipt', path.join(dir, 'mine.json')], { encoding: 'utf8' });
		fs.rmSync(dir, { recursive: true, force: true });
		assert(r.status === 0 && r.stdout.includes('signature verified'), 'the CLI accepts the page\'s receipt file: ' + r.stdout + r.stderr);
	}, { needs: ['voted'] });
	await step('vote page basics', async () => {
		const p = await pageBasics(voter);
		assert(p.length === 0, p.join('; '));
	});
	await shot(voter, 'vote-pending');

	// error paths on the vote page, each in a fresh browser profile
	const other = await browser.newContext(mobile);
	other.setDefaultTimeout(STEP_MS);
	const op = await other.newPage();
	watch(op, consoleErrors);
	await op.goto(`${URL_}/vote.html`);
	await step('a file that is not a key file is refused', async () => {
		await op.setInputFiles('#key-file', badFile);
		await op.locator('#key-error').filter({ hasText: 'not a ChainVote key file' }).waitFor();
	});
	await step('a second vote with the same key file is refused (already voted)', async () => {
		await op.setInputFiles('#key-file', voterKeyFile);
		await op.locator('#key-status').filter({ hasText: 'from your file' }).waitFor();
		await op.check('#cand-1');
		await op.click('#review-button');
		await op.click('#cast-button');
		await op.locator('#cast-error').filter({ hasText: 'already voted' }).waitFor();
	}, { needs: ['voted'] });
	await shot(op, 'vote-already-voted');
	await step('a key that is not on the roll is refused', async () => {
		await op.setInputFiles('#key-file', outsiderFile);
		await op.locator('#key-status').filter({ hasText: 'from your file' }).waitFor();
		await op.check('#cand-3');
		await op.click('#review-button');
		await op.click('#cast-button');
		await op.locator('#cast-error').filter({ hasText: 'not on the electoral roll' }).waitFor();
	}, { needs: ['open'] });
	await other.close();

	await step('two more voters vote from the command line', () => {
		for (const [i, f] of rollFiles.entries()) {
			const r = spawnSync(path.join(BIN, 'chainvote'), ['vote', '--url', CLI_URL, ...CLI_TLS, '--key', f, '--candidate', '1'], { encoding: 'utf8', timeout: 60000 });
			assert(r.status === 0, `vote ${i}: ${(r.stdout + r.stderr).trim()}`);
		}
	}, { needs: ['open'] });

	// ---- miner
	await step('miner posts a proposal with the vote', async () => {
		const r = spawnSync(path.join(BIN, 'miner'), ['--url', CLI_URL, ...CLI_TLS, '--once'], { encoding: 'utf8', timeout: 120000 });
		assert(r.status === 0, `miner exit ${r.status}: ${(r.stderr || '').trim().split('\n').pop()}`);
	}, { needs: ['voted'], sets: 'mined' });

	// ---- validators
	const val = await validatorCtx.newPage();
	watch(val, consoleErrors);
	await val.goto(`${URL_}/validator.html`);
	const card = val.locator('article.proposal').first();
	await step('dashboard shows the proposal with every browser check passed', async () => {
		await card.waitFor();
		await card.locator('.local-checks li.check.pass').nth(4).waitFor();
		assert((await card.locator('.local-checks li.check.fail').count()) === 0, 'no failed browser check');
		assert((await card.locator('.server-checks li.check.fail').count()) === 0, 'no failed server check');
		assert((await card.locator('.badge').first().innerText()).includes('0 of 2'), 'no approvals yet');
	}, { needs: ['mined'], sets: 'proposal' });
	await step('the dashboard makes a validator key pair and offers its key file in chainvote keygen\'s format', async () => {
		await val.locator('#key-make').click();
		await val.locator('#key-made').waitFor();
		const pub = (await val.locator('#key-made-public').innerText()).trim();
		assert(/^04[0-9a-f]{128}$/.test(pub), `public key ${pub}`);
		const [dl] = await Promise.all([val.waitForEvent('download'), val.locator('#key-download').click()]);
		const file = path.join(KEYS, 'made-in-browser.json');
		await dl.saveAs(file);
		const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
		assert(doc.format === 'chainvote-key/1' && doc.public_key === pub && typeof doc.private_key.d === 'string', 'key file shape');
		// the command line reads it: a well-formed key, only not one of this election's
		const r = spawnSync(path.join(BIN, 'chainvote'), ['approve', '--url', CLI_URL, ...CLI_TLS, '--key', file, '--all'], { encoding: 'utf8', timeout: 60000 });
		assert(r.status === 1 && r.stderr.includes('not_validator'), `chainvote approve: ${r.status} ${r.stderr.trim()}`);
		await val.locator('#key-role').filter({ hasText: 'not one of' }).waitFor();
		assert((await val.locator('#key-public').getAttribute('title')) === pub, 'the new key is the one in use');
	}, { needs: ['proposal'] });
	await step('the dashboard flags a proposal waiting longer than the limit set on the page', async () => {
		assert((await val.inputValue('#wait-limit')) === '60', 'the default limit is 60 s');
		await val.fill('#wait-limit', '3600');
		await val.locator('#props-alert').waitFor({ state: 'hidden' });
		assert(!(await card.evaluate((el) => el.classList.contains('overdue'))), 'not overdue under an hour');
		await val.fill('#wait-limit', '1');
		await val.locator('#props-alert').filter({ hasText: 'block 1 has waited longer than 1 s' }).waitFor();
		await card.locator('.badge.wait.err').filter({ hasText: 'longer than 1 s' }).waitFor();
		await val.fill('#wait-limit', '3600');
		await val.locator('#props-alert').waitFor({ state: 'hidden' });
	}, { needs: ['proposal'] });
	await step('an outsider key\'s approval is refused by the server', async () => {
		await val.setInputFiles('#key-file', outsiderFile);
		await val.locator('#key-role').filter({ hasText: 'not one of' }).waitFor();
		await card.locator('button.approve').click();
		await card.locator('.msg.err').filter({ hasText: 'not one of the election' }).waitFor();
	}, { needs: ['proposal'] });
	await step('a rejection needs a reason', async () => {
		await card.locator('button.reject').click();
		await card.locator('.msg.err').filter({ hasText: 'Say why' }).waitFor();
	}, { needs: ['proposal'] });
	await step('validator 1 approves in the browser (1 of 2)', async () => {
		await val.setInputFiles('#key-file', validatorFiles[0]);
		await val.locator('#key-role').filter({ hasText: 'Validator 1' }).waitFor();
		await card.locator('button.approve').click();
		await card.locator('.msg').filter({ hasText: /Approved|You approved/ }).waitFor();
		await card.locator('.badge').first().filter({ hasText: '1 of 2' }).waitFor();
		assert(await card.locator('button.approve').isDisabled(), 'cannot approve twice');
	}, { needs: ['proposal'] });
	await step('validator 3 rejects with a reason, signed in the browser', async () => {
		await val.setInputFiles('#key-file', validatorFiles[2]);
		await val.locator('#key-role').filter({ hasText: 'Validator 3' }).waitFor();
		await card.locator('input[type=text]').fill('looks odd to me');
		await card.locator('button.reject').click();
		await card.locator('.msg').filter({ hasText: /Rejection recorded|You rejected/ }).waitFor();
		await card.locator('.verdicts').filter({ hasText: 'looks odd to me' }).waitFor();
		await card.locator('.badge').first().filter({ hasText: '1 of 2' }).waitFor();
	}, { needs: ['proposal'] });
	await step('validator dashboard basics', async () => {
		const p = await pageBasics(val);
		assert(p.length === 0, p.join('; '));
	});
	await shot(val, 'validator-proposal');
	await step('validator 2 approves and the block is committed and drops off', async () => {
		await val.setInputFiles('#key-file', validatorFiles[1]);
		await val.locator('#key-role').filter({ hasText: 'Validator 2' }).waitFor();
		await card.locator('button.approve').click();
		await val.locator('#props-news').filter({ hasText: 'Block 1' }).waitFor();
		await val.locator('article.proposal').first().waitFor({ state: 'detached' });
	}, { needs: ['proposal'], sets: 'committed' });
	await shot(val, 'validator-committed');

	// ---- receipt turns committed, proof checked in the page
	await step('receipt turns committed with the proof verified in the page', async () => {
		await voter.locator('#in-chain').waitFor({ timeout: 30000 });
		const t = await voter.locator('#in-chain').innerText();
		assert(t.includes('Your vote is in the chain') && t.includes('Block 1') && t.includes('2 validators'), t);
		assert((await voter.locator('#receipt-proof li.check.fail').count()) === 0, 'no failed check');
		assert((await voter.locator('#receipt-proof li.check.pass').count()) >= 6, 'every check listed');
		const proofText = await voter.locator('#receipt-proof').innerText();
		assert(/of 3, [12] hashes/.test(proofText), 'a real audit path in a block of three votes');
	}, { needs: ['committed'] });
	await shot(voter, 'vote-committed');

	// ---- explorer
	const ex = await voterCtx.newPage();
	watch(ex, consoleErrors);
	await ex.goto(`${URL_}/explorer.html`);
	await step('explorer lists the genesis block and block 1', async () => {
		await ex.locator('#blocks tbody tr').nth(1).waitFor();
		assert((await ex.locator('#blocks tbody tr').first().innerText()).includes('3'), 'block 1 holds three votes');
		assert((await ex.locator('#blocks tbody tr').count()) === 2, 'two blocks');
	}, { needs: ['committed'] });
	await shot(ex, 'explorer-list');
	await step('explorer finds the vote by txid, committed, with the proof checked', async () => {
		await ex.fill('#search', txid);
		await ex.click('#search-form button');
		await ex.locator('#view').filter({ hasText: 'committed in block 1' }).waitFor();
		await ex.locator('#view li.check.pass').nth(4).waitFor();
		assert((await ex.locator('#view li.check.fail').count()) === 0, 'no failed check');
	}, { needs: ['committed'] });
	await shot(ex, 'explorer-vote');
	await step('explorer block view shows the vote and two approvals, checks passed', async () => {
		await ex.goto(`${URL_}/explorer.html#block=1`);
		await ex.locator('#block-votes tbody tr').nth(2).waitFor();
		assert((await ex.locator('#block-votes tbody').innerText()).includes('Birch Alliance'), 'the vote for Birch');
		await ex.locator('#view').filter({ hasText: 'Approvals (2)' }).waitFor();
		await ex.locator('#view li.check.pass').nth(5).waitFor();
		assert((await ex.locator('#view li.check.fail').count()) === 0, 'no failed check');
	}, { needs: ['committed'] });
	await shot(ex, 'explorer-block');
	await step('explorer finds a block by its hash and the voter by key', async () => {
		const b1 = await getJSON(ex, `${URL_}/api/blocks/1`);
		await ex.fill('#search', b1.hash);
		await ex.click('#search-form button');
		await ex.locator('#view h2').filter({ hasText: 'Block 1' }).waitFor();
		await ex.fill('#search', voterKey);
		await ex.click('#search-form button');
		await ex.locator('#view').filter({ hasText: 'Voted for Birch Alliance' }).waitFor();
	}, { needs: ['committed'] });
	await step('explorer genesis view shows the election', async () => {
		await ex.goto(`${URL_}/explorer.html#block=0`);
		await ex.locator('#genesis-candidates').filter({ hasText: 'Cedar Union' }).waitFor();
		await ex.locator('#view').filter({ hasText: '3 voters' }).waitFor();
	});
	await shot(ex, 'explorer-genesis');
	await step('explorer says when a txid is unknown, and refuses junk', async () => {
		await ex.goto(`${URL_}/explorer.html#tx=${'ab'.repeat(32)}`);
		await ex.locator('#view').filter({ hasText: 'No vote with this receipt' }).waitFor();
		await ex.fill('#search', 'hello');
		await ex.click('#search-form button');
		await ex.locator('#search-error').filter({ hasText: 'Enter a block height' }).waitFor();
	});
	await step('explorer basics', async () => {
		const p = await pageBasics(ex);
		assert(p.length === 0, p.join('; '));
	});

	// ---- results: hidden while the election is open (as set up), shown once sealed
	const res = await voterCtx.newPage();
	watch(res, consoleErrors);
	await res.goto(`${URL_}/results.html`);
	await step('results are hidden while open, with the count and turnout still shown', async () => {
		await res.locator('#hidden-note').waitFor({ state: 'visible' });
		assert(await res.locator('#chart-card').isHidden(), 'no chart');
		await res.locator('#stat-total').filter({ hasText: /^3$/ }).waitFor();
		assert((await res.locator('#stat-turnout').innerText()) === '100.0%', 'all three on the roll voted');
	}, { needs: ['committed'] });
	await shot(res, 'results-hidden');
	await step('home page links to every page', async () => {
		const home = await voterCtx.newPage();
		watch(home, consoleErrors);
		await home.goto(`${URL_}/`);
		await home.locator('#now').filter({ hasText: 'open for voting' }).waitFor();
		for (const href of ['/register.html', '/vote.html', '/results.html', '/explorer.html', '/validator.html', '/admin/'])
			assert(await home.locator(`main a[href="${href}"]`).count(), href);
		await shot(home, 'home');
	});
	await step('admin closes the election; voting then says it is closed', async () => {
		await admin.click('#close-button');
		await admin.click('#confirm-yes');
		await admin.locator('#state-msg').filter({ hasText: 'closed' }).waitFor();
		await voter.goto(`${URL_}/vote.html`);
		await voter.locator('#ballot-note').filter({ hasText: 'closed' }).waitFor();
	});
	await step('closed but not sealed: the results stay hidden and say provisional', async () => {
		await res.locator('#status-note').filter({ hasText: 'Provisional: the election is closed' }).waitFor({ timeout: 15000 });
		assert(await res.locator('#chart-card').isHidden(), 'no chart before the seal');
	}, { needs: ['committed'] });
	await step('the miner mines the seal and the dashboard shows it with every check passed', async () => {
		const r = spawnSync(path.join(BIN, 'miner'), ['--url', CLI_URL, ...CLI_TLS, '--once'], { encoding: 'utf8', timeout: 120000 });
		assert(r.status === 0 && r.stdout.includes('seal'), `miner exit ${r.status}: ${(r.stdout + r.stderr).trim().split('\n').pop()}`);
		await val.reload();
		const sealCard = val.locator('article.proposal').first();
		await sealCard.locator('h3').filter({ hasText: 'the seal' }).waitFor();
		await sealCard.locator('.local-checks li.check.pass').filter({ hasText: 'The seal closes this election' }).waitFor();
		assert((await sealCard.locator('.local-checks li.check.fail').count()) === 0, 'no failed browser check');
		assert((await sealCard.locator('.server-checks li.check.fail').count()) === 0, 'no failed server check');
	}, { needs: ['committed'], sets: 'seal-proposed' });
	await step('two validators approve the seal in the browser', async () => {
		const sealCard = val.locator('article.proposal').first();
		await val.setInputFiles('#key-file', validatorFiles[0]);
		await val.locator('#key-role').filter({ hasText: 'Validator 1' }).waitFor();
		await sealCard.locator('button.approve').click();
		await sealCard.locator('.badge').first().filter({ hasText: '1 of 2' }).waitFor();
		await val.setInputFiles('#key-file', validatorFiles[1]);
		await val.locator('#key-role').filter({ hasText: 'Validator 2' }).waitFor();
		await sealCard.locator('button.approve').click();
		await val.locator('article.proposal').first().waitFor({ state: 'detached' });
	}, { needs: ['seal-proposed'], sets: 'sealed' });
	await step('results show the tally as a chart and a table once sealed, and say final (live update)', async () => {
		await res.locator('#status-note').filter({ hasText: 'Final result' }).waitFor({ timeout: 15000 });
		await res.locator('#tally tbody tr').nth(2).waitFor({ timeout: 15000 });
		assert(await res.locator('#hidden-note').isHidden(), 'hidden note gone');
		const birch = await res.locator('#tally tbody tr', { hasText: 'Birch Alliance' }).innerText();
		assert(/\b1\b/.test(birch) && birch.includes('33.3%'), birch);
		const alder = await res.locator('#tally tbody tr', { hasText: 'Alder Party' }).innerText();
		assert(/\b2\b/.test(alder) && alder.includes('66.7%'), alder);
		assert((await res.locator('#chart svg rect.bar').count()) === 3, 'three bars');
		assert((await res.locator('#stat-total').innerText()) === '3', 'three votes counted');
	}, { needs: ['sealed'] });
	await step('results page basics', async () => {
		const p = await pageBasics(res);
		assert(p.length === 0, p.join('; '));
	});
	await shot(res, 'results');
	await step('chainvote verify accepts the chain the pages signed into', async () => {
		// (over HTTPS the export is fetched by the page: verify has no --cacert)
		let source = URL_;
		if (TLS_LISTEN) {
			source = path.join(tmp, 'export.json');
			fs.writeFileSync(source, await res.evaluate(async (u) => (await fetch(u)).text(), `${URL_}/api/chain/export`));
		}
		const r = spawnSync(path.join(BIN, 'chainvote'), ['verify', source], { encoding: 'utf8', timeout: 60000 });
		assert(r.status === 0, `verify exit ${r.status}: ${(r.stdout + r.stderr).trim().split('\n').slice(-2).join(' ')}`);
	}, { needs: ['committed'] });
	await step('no page logged an unexpected console error or CSP violation', () => {
		assert(consoleErrors.length === 0, consoleErrors.slice(0, 3).join(' | '));
	});
}

try {
	await main();
} catch (e) {
	failed++;
	console.log(`not ok - the test itself failed: ${e && e.stack ? e.stack.split('\n').slice(0, 3).join(' ') : e}`);
} finally {
	if (browser) await browser.close().catch(() => {});
	if (started) runSh('stop');
	if (!process.env.KEEP) fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
