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

// RFC 6238 TOTP (HMAC-SHA1, 30 s, 6 digits) of a base32 secret, at step (default: now)
function totp(secretB32, step = Math.floor(Date.now() / 30000)) {
	const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
	let bits = '';
	for (const c of secretB32.trim().toUpperCase().replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
	const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
	const msg = Buffer.alloc(8);
	msg.writeBigUInt64BE(BigInt(step));
	const mac = crypto.createHmac('sha1', key).update(msg).digest();
	const off = mac[19] & 15;
	return String((mac.readUInt32BE(off) & 0x7fffffff) % 1000000).padStart(6, '0');
}

// JSON fetched by the page itself, so through Chromium's resolver and trust
function getJSON(page, url) {
	return page.evaluate(async (u) => (await fetch(u)).json(), url);
}

function runSh(action) {
	return spawnSync('sh', [RUN_SH, action, String(port), DATA], { env, encoding: 'utf8', timeout: 60000 });
}

// An init script: this page's clock (Date, Date.now) runs skewMs off the real one, as
// on a phone whose clock is wrong.
function skewClock(skewMs) {
	const RealDate = Date;
	class SkewedDate extends RealDate {
		constructor(...args) {
			if (args.length) super(...args);
			else super(RealDate.now() + skewMs);
		}

		static now() {
			return RealDate.now() + skewMs;
		}
	}
	globalThis.Date = SkewedDate;
}

function keygen(file) {
	execFileSync(path.join(BIN, 'chainvote'), ['keygen', '-o', file], { stdio: ['ignore', 'ignore', 'pipe'] });
	return JSON.parse(fs.readFileSync(file, 'utf8')).public_key;
}

// Console errors that are not an expected refusal (a 4xx the test provokes on purpose);
// allow: a pattern of errors the step provokes too (a request while offline).
function watch(page, sink, allow = null) {
	page.on('console', (m) => {
		if (m.type() !== 'error') return;
		const t = m.text();
		if (/Failed to load resource: the server responded with a status of (40[0-9]|41[0-9]|42[0-9])/.test(t)) return;
		if (allow && allow.test(t)) return;
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
	const adminCtx = await browser.newContext({ ...mobile });
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
			for (const [file, what] of [['vote.html', 'sign or send a vote'], ['register.html', 'make a voter key'], ['validator.html', 'sign approvals'], ['trustee.html', 'take part in the key ceremony']]) {
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
	await step('the admin page sends a browser without a session to the sign-in page', async () => {
		await admin.goto(`${URL_}/admin/`);
		assert(admin.url() === `${URL_}/admin/login.html`, admin.url());
		const basics = await pageBasics(admin);
		assert(!basics.length, basics.join('; '));
	});
	await step('a wrong code is refused on the sign-in page, and nothing opens', async () => {
		await admin.fill('#password', password);
		await admin.fill('#code', '000000');
		await admin.click('#signin-button');
		await admin.locator('#signin-msg.err').filter({ hasText: 'not right' }).waitFor();
		assert(admin.url() === `${URL_}/admin/login.html`, admin.url());
	});
	await step('the admin signs in with the password and the TOTP code, and the admin page loads', async () => {
		const secret = fs.readFileSync(path.join(DATA, 'demo', 'admin-totp'), 'utf8');
		await admin.fill('#password', password);
		await admin.fill('#code', totp(secret));
		await Promise.all([admin.waitForURL(`${URL_}/admin/`), admin.click('#signin-button')]);
		await admin.locator('#state-line').filter({ hasText: /No election yet|setup/ }).waitFor();
		const cookie = (await adminCtx.cookies()).find((c) => c.name === 'cv_admin');
		assert(cookie && cookie.httpOnly && cookie.sameSite === 'Strict' && cookie.secure === !!TLS_LISTEN,
			JSON.stringify(cookie));
	});
	await step('the authenticator rotation shows a QR code and takes a code of the new secret', async () => {
		await admin.click('#mfa-start');
		await admin.locator('#mfa-qr svg path').waitFor();
		const secret = (await admin.locator('#mfa-secret').innerText()).trim();
		const uri = await admin.locator('#mfa-uri').innerText();
		assert(/^[A-Z2-7]{32}$/.test(secret) && uri.includes(`secret=${secret}`), `${secret} ${uri}`);
		await admin.fill('#mfa-code', totp(secret));
		await admin.click('#mfa-form button[type=submit]');
		await admin.locator('#mfa-codes-list li').nth(9).waitFor();
		await admin.locator('#mfa-msg').filter({ hasText: 'The new secret is in use' }).waitFor();
		await shot(admin, 'admin-authenticator');
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
	await step('admin lists the voters with their states', async () => {
		await admin.reload();
		await admin.locator('#voters-table tbody tr[data-voter="V001"][data-state="registered"]').waitFor();
		await admin.locator('#voters-table tbody tr[data-voter="V002"][data-state="unused"]').waitFor();
		await admin.locator('#voter-counts').filter({ hasText: '2 eligible: 1 with the code unused, 1 registered, 0 voted' }).waitFor();
		assert(await admin.locator('#voters-table tbody tr[data-voter="V001"] button', { hasText: 'Revoke key' }).count() === 1, 'revoke offered for the registered voter');
	}, { needs: ['registered'] });
	await step('admin gives V002 a new code after confirming, shown once', async () => {
		await admin.click('#voters-table tbody tr[data-voter="V002"] button');
		await admin.locator('#voter-confirm').filter({ hasText: 'current code stops working' }).waitFor({ state: 'visible' });
		await admin.click('#voter-confirm-yes');
		await admin.locator('#voter-msg').filter({ hasText: 'V002 has a new code' }).waitFor();
		const row = (await admin.locator('#new-code-table tbody tr').innerText()).split(/\s+/);
		assert(row[0] === 'V002' && /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/.test(row[1]), `new code row: ${row}`);
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
	// from here on the voter's phone is three days behind: its votes must still count
	const SKEW_MS = -3 * 86400 * 1000;
	await voter.addInitScript(skewClock, SKEW_MS);
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
	await step('with the device clock three days off, the vote is stamped with the service\'s time, and the page says so', async () => {
		const pageNow = await voter.evaluate(() => Date.now());
		assert(Math.abs(pageNow - (Date.now() + SKEW_MS)) < 60000, 'the page\'s clock is skewed');
		const doc = await getJSON(admin, `${URL_}/api/votes/${txid}`);
		const stamp = doc.vote && doc.vote.timestamp;
		assert(Math.abs(stamp - Date.now() / 1000) < 120, `the vote's timestamp ${stamp} is the real time, not the device's`);
		await voter.locator('#clock-note').filter({ hasText: '3 days behind' }).waitFor();
	}, { needs: ['voted'] });
	await step('a pending vote says it is in the pool', async () => {
		await voter.locator('#receipt-status').filter({ hasText: 'your vote is in the pool' }).waitFor();
	}, { needs: ['voted'] });
	await step('in the same browser, the page reloaded says at once that the key has voted, and offers no ballot', async () => {
		await voter.reload();
		await voter.locator('#roll-status').filter({ hasText: 'already voted' }).waitFor();
		assert(await voter.locator('#ballot').isHidden(), 'no ballot offered');
		await voter.locator('#receipt-txid').filter({ hasText: txid }).waitFor();
		await voter.locator('#receipt-accepted').filter({ hasText: 'its signature checks out' }).waitFor();
	}, { needs: ['voted'] });
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
	await step('a key that already voted is told so as it loads, with its vote, and offered no ballot', async () => {
		await op.setInputFiles('#key-file', voterKeyFile);
		await op.locator('#key-status').filter({ hasText: 'from your file' }).waitFor();
		await op.locator('#roll-status').filter({ hasText: 'already voted' }).waitFor();
		assert(await op.locator('#ballot').isHidden(), 'no ballot offered');
		await op.locator('#receipt-txid').filter({ hasText: txid }).waitFor();
	}, { needs: ['voted'] });
	await shot(op, 'vote-already-voted');
	await step('a key that is not on the roll is told so as it loads, and offered no ballot', async () => {
		await op.setInputFiles('#key-file', outsiderFile);
		await op.locator('#key-status').filter({ hasText: 'from your file' }).waitFor();
		await op.locator('#roll-status').filter({ hasText: 'not on the electoral roll' }).waitFor();
		assert(await op.locator('#ballot').isHidden(), 'no ballot offered');
	}, { needs: ['open'] });
	await shot(op, 'vote-not-on-roll');
	await other.close();

	// a second attempt: the key votes elsewhere (the command line) while its ballot is
	// open here; the refusal is shown in view, with the vote that stands
	const third = await browser.newContext(mobile);
	third.setDefaultTimeout(STEP_MS);
	const tp = await third.newPage();
	watch(tp, consoleErrors);
	await tp.goto(`${URL_}/vote.html`);
	await step('a second attempt (the key voted meanwhile) is shown in view with the vote that stands', async () => {
		await tp.setInputFiles('#key-file', rollFiles[0]);
		await tp.locator('#key-status').filter({ hasText: 'from your file' }).waitFor();
		await tp.locator('#review-button:enabled').waitFor();
		await tp.check('#cand-3');
		await tp.click('#review-button');
		const r = spawnSync(path.join(BIN, 'chainvote'), ['vote', '--url', CLI_URL, ...CLI_TLS, '--key', rollFiles[0], '--candidate', '1'], { encoding: 'utf8', timeout: 60000 });
		assert(r.status === 0, `the vote elsewhere: ${(r.stdout + r.stderr).trim()}`);
		await tp.click('#cast-button');
		await tp.locator('#roll-status').filter({ hasText: 'already voted' }).waitFor();
		assert(await tp.locator('#roll-status').isVisible(), 'the refusal is in view');
		assert(await tp.evaluate(() => document.activeElement.id === 'roll-status'), 'the focus is on it');
		assert(await tp.locator('#confirm-card').isHidden(), 'the confirmation is closed');
		assert(await tp.locator('#ballot').isHidden(), 'no ballot offered any more');
		const shown = (await tp.locator('#receipt-txid').innerText()).trim();
		assert(/^[0-9a-f]{64}$/.test(shown) && shown !== txid, 'the vote that stands is shown');
		const doc = await getJSON(tp, `${URL_}/api/votes/${shown}`);
		assert(doc.vote && doc.vote.candidate_id === 1, 'the first vote stands');
	}, { needs: ['open'] });
	await shot(tp, 'vote-second-attempt');
	await third.close();

	await step('the other voter on the roll votes from the command line', () => {
		for (const [i, f] of rollFiles.slice(1).entries()) {
			const r = spawnSync(path.join(BIN, 'chainvote'), ['vote', '--url', CLI_URL, ...CLI_TLS, '--key', f, '--candidate', '1'], { encoding: 'utf8', timeout: 60000 });
			assert(r.status === 0, `vote ${i}: ${(r.stdout + r.stderr).trim()}`);
		}
	}, { needs: ['open'] });

	// ---- miner
	await step('miner posts a proposal with the vote', async () => {
		const r = spawnSync(path.join(BIN, 'miner'), ['--url', CLI_URL, ...CLI_TLS, '--once'], { encoding: 'utf8', timeout: 120000 });
		assert(r.status === 0, `miner exit ${r.status}: ${(r.stderr || '').trim().split('\n').pop()}`);
	}, { needs: ['voted'], sets: 'mined' });
	await step('the pending vote says it is in a proposed block with 0 of 2 approvals', async () => {
		await voter.locator('#receipt-status').filter({ hasText: 'in a proposed block 1 with 0 of 2 approvals' }).waitFor();
	}, { needs: ['mined'] });

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
	}, { needs: ['proposal'], sets: 'approved-once' });
	await step('the pending vote follows the approvals: 1 of 2', async () => {
		await voter.locator('#receipt-status').filter({ hasText: 'with 1 of 2 approvals' }).waitFor();
	}, { needs: ['approved-once'] });
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
		// four entitled to vote: three keys on the roll and V002, who never registered
		await res.locator('#stat-turnout-counts').filter({ hasText: '3 of 4 eligible voters' }).waitFor();
		assert((await res.locator('#stat-turnout').innerText()) === '75.0%', 'three of the four voted');
	}, { needs: ['committed'] });
	await shot(res, 'results-hidden');
	await step('home page links to every page', async () => {
		const home = await voterCtx.newPage();
		watch(home, consoleErrors);
		await home.goto(`${URL_}/`);
		await home.locator('#now').filter({ hasText: 'open for voting' }).waitFor();
		// (relative: under /e/{slug}/ the same links stay in that election)
		for (const href of ['register.html', 'vote.html', 'results.html', 'explorer.html', 'validator.html', '/admin/'])
			assert(await home.locator(`main a[href="${href}"]`).count(), href);
		await shot(home, 'home');
	});
	await step('admin creates a second election on the page; the home page lists both; its pages live under /e/second/', async () => {
		await admin.goto(`${URL_}/admin/`);
		await admin.fill('#el-slug', 'second');
		await admin.fill('#el-title', 'Second browser election');
		await admin.click('#el-create');
		await admin.waitForURL(/\/admin\/e\/second\/$/);
		await admin.locator('#state-line').filter({ hasText: 'Second browser election' }).waitFor();
		await admin.locator('#el-list a[aria-current="page"]').filter({ hasText: 'Second browser election' }).waitFor();
		const home = await voterCtx.newPage();
		watch(home, consoleErrors);
		await home.goto(`${URL_}/`);
		await home.locator('#elections li[data-slug="second"]').filter({ hasText: 'being set up' }).waitFor();
		await home.locator('#elections li[data-slug="default"]').filter({ hasText: 'open for voting' }).waitFor();
		await home.goto(`${URL_}/e/second/`);
		await home.locator('#now').filter({ hasText: 'Second browser election' }).waitFor();
		await home.click('main a[href="register.html"]');
		await home.waitForURL(/\/e\/second\/register\.html$/);
		await home.close();
		await admin.goto(`${URL_}/admin/`);
		await admin.locator('#state-line').filter({ hasText: 'Browser test election' }).waitFor();
	}, { needs: ['election'] });
	await step('the close asks first: what closing does, the votes still pending, the focus on Cancel', async () => {
		const counts = (await getJSON(admin, `${URL_}/admin/api/election`)).counts;
		await admin.click('#close-button');
		await admin.locator('#confirm').waitFor({ state: 'visible' });
		const text = await admin.locator('#confirm-text').innerText();
		const n = counts.pending;
		assert(n === 0 ? text.includes('No vote is pending') : text.includes(`${n} vote`), `the pending count (${n}): ${text}`);
		for (const part of ['no new vote is accepted', 'still committed', 'seal', 'final'])
			assert(text.includes(part), `it says "${part}": ${text}`);
		assert(await admin.evaluate(() => document.activeElement.id === 'confirm-no'), 'the focus starts on Cancel');
		await admin.keyboard.press('Enter'); // a stray Enter cancels
		await admin.locator('#confirm').waitFor({ state: 'hidden' });
		assert(await admin.evaluate(() => document.activeElement.id === 'close-button'), 'the focus is back on the close button');
		const doc = await getJSON(admin, `${URL_}/api/election`);
		assert(doc.state === 'open', 'still open after Cancel');
	});
	await shot(admin, 'admin-close-asked');
	await step('admin closes the election; voting then says it is closed', async () => {
		await admin.click('#close-button');
		await admin.locator('#confirm-no:focus').waitFor();
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
		// a bar's length is the share of all votes: 2/3 and 1/3 of the track, not the leader's full
		const bars = await res.evaluate(() => ({
			track: Number(document.querySelector('#chart svg rect.track').getAttribute('width')),
			bars: [...document.querySelectorAll('#chart svg rect.bar')].map((r) => Number(r.getAttribute('width'))),
		}));
		const want = [2 / 3, 1 / 3, 0].map((f) => Math.round(bars.track * f));
		assert(bars.bars.every((w, i) => Math.abs(w - want[i]) <= 1), `bar widths ${bars.bars} of ${bars.track}, want ${want}`);
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
	// ---- the installable app: manifest, service worker, offline
	const appCtx = await browser.newContext(mobile);
	appCtx.setDefaultTimeout(STEP_MS);
	const app = await appCtx.newPage();
	// (requests the page makes while offline fail, and say so on the console)
	watch(app, consoleErrors, /ERR_INTERNET_DISCONNECTED/);
	await step('the manifest is served and parses: name, start_url, standalone, PNG icons of 192 and 512', async () => {
		const res = await app.goto(`${URL_}/manifest.webmanifest`);
		assert(/^application\/manifest\+json/.test(res.headers()['content-type']), res.headers()['content-type']);
		const csp = res.headers()['content-security-policy'] || '';
		assert(csp.includes("manifest-src 'self'") && csp.includes("worker-src 'self'") && csp.includes("script-src 'self'") && !csp.includes('unsafe'), csp);
		await app.goto(`${URL_}/vote.html`);
		const cdp = await appCtx.newCDPSession(app);
		const m = await cdp.send('Page.getAppManifest');
		assert(m.url.endsWith('/manifest.webmanifest') && m.errors.length === 0, `manifest errors: ${JSON.stringify(m.errors)}`);
		const doc = JSON.parse(m.data);
		assert(doc.name && doc.start_url === '/' && doc.display === 'standalone', JSON.stringify(doc));
		for (const size of [192, 512]) {
			const icon = doc.icons.find((i) => i.sizes === `${size}x${size}` && i.type === 'image/png');
			assert(icon, `a ${size} px PNG icon`);
			const real = await app.evaluate(async (src) => {
				const img = new Image();
				img.src = src;
				await img.decode();
				return [img.naturalWidth, img.naturalHeight];
			}, icon.src);
			assert(real[0] === size && real[1] === size, `${icon.src} is ${real}`);
		}
		await cdp.detach();
	}, { sets: 'manifest' });
	await step('the service worker registers and controls the page; it is never cached by HTTP', async () => {
		await app.evaluate(() => navigator.serviceWorker.ready);
		await app.reload();
		await app.waitForFunction(() => navigator.serviceWorker.controller !== null);
		const scope = await app.evaluate(async () => (await navigator.serviceWorker.getRegistration()).scope);
		assert(new URL(scope).pathname === '/', `scope ${scope}: the whole site`);
		const sw = await app.evaluate(async () => {
			const r = await fetch('/sw.js', { cache: 'no-store' });
			return { type: r.headers.get('content-type'), cache: r.headers.get('cache-control'), csp: r.headers.get('content-security-policy') };
		});
		assert(/javascript/.test(sw.type) && /no-cache/.test(sw.cache) && sw.csp, JSON.stringify(sw));
	}, { needs: ['manifest'], sets: 'sw' });
	await step('Chromium finds the page installable', async () => {
		const cdp = await appCtx.newCDPSession(app);
		const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
		await cdp.detach();
		// a test profile is off the record, which Chromium names but which is no fault of the page
		const real = installabilityErrors.filter((e) => e.errorId !== 'in-incognito');
		assert(real.length === 0, JSON.stringify(real));
	}, { needs: ['sw'] });
	await step('offline, the pages open from the shell and say they are offline; no API answer or key is cached', async () => {
		await appCtx.setOffline(true);
		for (const file of ['vote.html', 'results.html', '']) {
			await app.goto(`${URL_}/${file}`);
			await app.locator('h1').waitFor();
			await app.locator('#offline').filter({ hasText: 'Offline' }).waitFor();
		}
		await app.goto(`${URL_}/vote.html`);
		await app.locator('#election-error').filter({ hasText: 'could not be reached' }).waitFor();
		const cached = await app.evaluate(async () => {
			const urls = [];
			for (const name of await caches.keys())
				for (const req of await (await caches.open(name)).keys()) urls.push(new URL(req.url).pathname);
			return urls;
		});
		assert(cached.includes('/vote.html') && cached.includes('/js/vote.js'), `the shell is kept: ${cached.length} files`);
		assert(!cached.some((u) => u.startsWith('/api/') || u.startsWith('/admin/')), `no API answer kept: ${cached.filter((u) => u.startsWith('/api/'))}`);
		await shot(app, 'vote-offline');
		await appCtx.setOffline(false);
		await app.locator('#offline').waitFor({ state: 'hidden' });
	}, { needs: ['sw'] });
	await step('online again, a failed request to the service also shows the offline state, and an answer clears it', async () => {
		await app.goto(`${URL_}/results.html`);
		await app.locator('#stat-total').filter({ hasText: /^3$/ }).waitFor();
		assert(await app.locator('#offline').count() === 0 || await app.locator('#offline').isHidden(), 'no banner while reachable');
		await app.route('**/api/results', (route) => route.abort('internetdisconnected'));
		await app.locator('#offline').waitFor({ state: 'visible', timeout: 15000 });
		await app.unroute('**/api/results');
		await app.locator('#offline').waitFor({ state: 'hidden', timeout: 15000 });
	}, { needs: ['sw'] });
	await appCtx.close();

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
	// the store's shared memory released before the directory goes (tests/cvtest.py)
	const removed = spawnSync('python3', [path.join(top, 'tests/cvtest.py'), 'remove-tree', tmp], {
		env: { ...process.env, BIN, ...(process.env.KEEP ? { KEEP_TMP: '1' } : {}) },
		encoding: 'utf8',
		timeout: 120000,
	});
	await run('the store\'s shared memory is released (no segment left at its keys)', () =>
		assert(removed.status === 0, (removed.stdout + removed.stderr).trim()));
}
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
