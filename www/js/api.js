// A small fetch wrapper for the ChainVote API: JSON in, JSON out, and every failure as
// an ApiError carrying the server's {"error":{"code","message"}} (or "network").

export class ApiError extends Error {
	constructor(status, code, message, body = null) {
		super(message);
		this.status = status;
		this.code = code;
		this.body = body; // the whole error answer, for the few that carry more
	}
}

// An election's pages are today's pages under /e/{slug}/ (its admin page under
// /admin/e/{slug}/): the slug from the page's path, or null on today's pages, which are
// the default election's.
export function electionSlug() {
	if (typeof location === 'undefined') return null;
	const m = /^\/(?:admin\/)?e\/([a-z0-9-]{1,32})\//.exec(location.pathname);
	return m ? m[1] : null;
}

// Paths of the whole installation, not of one election: the list of elections, creating
// one, and the admin's sign-in and authenticator.
const INSTALLATION_PATHS = ['/api/elections', '/admin/api/elections', '/admin/api/session',
	'/admin/api/mfa/rotate', '/admin/api/mfa/confirm'];

// The path of an API call for this page's election: /api/X becomes /api/e/{slug}/X and
// /admin/api/X /admin/api/e/{slug}/X.
export function apiPath(path) {
	const slug = electionSlug();
	if (!slug || INSTALLATION_PATHS.includes(path)) return path;
	if (path.startsWith('/api/')) return `/api/e/${slug}/${path.slice(5)}`;
	if (path.startsWith('/admin/api/')) return `/admin/api/e/${slug}/${path.slice(11)}`;
	return path;
}

// The page at `page` (e.g. 'vote.html', '' for the home page) of an election: slug
// null or 'default' for the default election's.
export function electionPage(slug, page = '') {
	return slug && slug !== 'default' ? `/e/${slug}/${page}` : `/${page}`;
}

// The server's clock less this device's, in milliseconds, from the Date header of the
// latest answer (whole seconds: good to a second, well inside a vote's time slack). A
// vote is stamped with serverNow(), so a device whose clock is wrong still votes.
let clockOffset = 0;
let clockKnown = false;

function noteServerDate(res) {
	const t = Date.parse(res.headers.get('Date') || '');
	if (!Number.isFinite(t)) return;
	clockOffset = t - Date.now();
	clockKnown = true;
}

// Unix milliseconds by the server's clock (this device's until an answer came).
export function serverNow() {
	return Date.now() + clockOffset;
}

// How far this device's clock is from the server's, in ms, or null when not known yet.
export function clockSkew() {
	return clockKnown ? -clockOffset : null;
}

// Fired on window when the server cannot be reached ('network') and when it answers again.
function reachable(ok) {
	if (typeof window !== 'undefined') window.dispatchEvent(new CustomEvent('chainvote:reachable', { detail: ok }));
}

// Sends a request and returns the parsed JSON answer (null for an empty body). Throws
// ApiError for a non-2xx answer, a network failure or a body that is not JSON.
export async function api(path, { method = 'GET', body, signal } = {}) {
	const init = { method, headers: { Accept: 'application/json' }, cache: 'no-store', signal };
	if (body !== undefined) {
		init.headers['Content-Type'] = 'application/json';
		init.body = JSON.stringify(body);
	}
	let res;
	try {
		res = await fetch(apiPath(path), init);
	} catch (e) {
		if (e && e.name === 'AbortError') throw e;
		reachable(false);
		throw new ApiError(0, 'network', 'The server could not be reached. Check your connection and try again.');
	}
	reachable(true);
	noteServerDate(res);
	const textBody = await res.text();
	let doc = null;
	if (textBody) {
		try {
			doc = JSON.parse(textBody);
		} catch {
			doc = null;
		}
	}
	if (!res.ok) {
		const err = doc && doc.error;
		if (err && typeof err.code === 'string')
			throw new ApiError(res.status, err.code, typeof err.message === 'string' ? err.message : err.code, doc);
		throw new ApiError(res.status, 'http_' + res.status, `The server answered ${res.status} ${res.statusText}.`);
	}
	if (textBody && doc === null) throw new ApiError(res.status, 'bad_answer', 'The server\'s answer is not JSON.');
	return doc;
}

export const get = (path, opts) => api(path, { ...opts, method: 'GET' });
export const post = (path, body) => api(path, { method: 'POST', body: body === undefined ? {} : body });
export const put = (path, body) => api(path, { method: 'PUT', body });
export const del = (path) => api(path, { method: 'DELETE' });

// Blocks from a GET /api/blocks answer, whether it is a list or {"blocks":[…]}.
export function blocksOf(doc) {
	if (Array.isArray(doc)) return doc;
	if (doc && Array.isArray(doc.blocks)) return doc.blocks;
	return [];
}
