"""Access control against the real nginx and FastCGI programs (tests/e2e_access.sh):
  - /admin/ is refused without a signed-in session (the API 401, a page sent to the
    sign-in page), with basic auth (no longer taken) or a wrong password, and from an
    address outside the allow-list (a client bound to 127.0.0.2) even with a session;
  - voter and validator actions need valid signatures (and validator keys);
  - the rate limits answer 429 (JSON) under a burst, on votes, blocks and registration;
  - the CSP and the other security headers are on every page and every API answer,
    errors included;
  - registrar data (voter ids, one-time codes) never appears in a public endpoint or in
    the chain;
  - the rendered nginx.conf routes by method without `if` (a map), sets
    worker_rlimit_nofile, and nginx's own 401 (API), 403, 405, 414, 501 and 505 answer
    JSON;
    GET and POST /api/blocks still reach their two programs;
  - started as root: the programs run as chainvote, nginx's workers as www-data, the
    sockets' directory is closed to others, and another local user cannot connect to a
    socket (the trust boundary: whoever connects can claim REMOTE_USER).
Rate limits are live here (no loopback exemption).
"""
import grp
import json
import http.client
import os
import pwd
import re
import socket
import stat
import subprocess
import secrets
import sys
import threading
import time

sys.dont_write_bytecode = True   # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cvtest as T  # noqa: E402

res = T.Results("e2e_access")
SYS = None
OUTSIDE = "127.0.0.2"   # loopback, but not on nginx.conf's /admin/ allow-list

HEADERS = {
    "content-security-policy": None,   # checked on its own below
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
CSP_PARTS = ("default-src 'self'", "script-src 'self'", "object-src 'none'",
             "frame-ancestors 'none'", "base-uri 'none'")


def headers_ok(r):
    """Missing or wrong security headers of a reply, as a list (empty: all there)."""
    bad = []
    for name, want in HEADERS.items():
        got = r.header(name)
        if got is None or (want is not None and got != want):
            bad.append(f"{name}={got!r}")
    csp = r.header("content-security-policy") or ""
    bad.extend(f"csp lacks {p}" for p in CSP_PARTS if p not in csp)
    if "unsafe-inline" in csp or "unsafe-eval" in csp:
        bad.append("csp allows unsafe-*")
    return bad


def admin_access():
    auth = SYS.admin_auth()
    r = T.request(SYS, "GET", "/admin/api/election")
    res.check("/admin/api/election without a session is refused (401)", r.status == 401, r)
    r = T.request(SYS, "GET", "/admin/")
    res.check("/admin/ without a session goes to the sign-in page (303)",
              r.status == 303 and (r.header("location") or "").endswith("/admin/login.html"), r)
    for path in ("/admin/", "/admin/api/election"):
        r = T.request(SYS, "GET", path, auth="admin:" + SYS.password())
        res.check(f"{path} with the password as basic auth is refused (no longer taken)",
                  r.status in (401, 303), r)
    r = T.request(SYS, "POST", "/admin/api/session",
                  {"user": "admin", "password": "not-the-password", "code": "000000"})
    res.check("a sign-in with a wrong password is refused (401)", r.status == 401, r)
    r = T.request(SYS, "GET", "/admin/api/election", auth=auth)
    res.check("/admin/api/election with a session from 127.0.0.1 answers 200",
              r.status == 200, r)
    r = T.request(SYS, "POST", "/admin/api/close", {}, auth="admin:wrong")
    res.check("an admin action without a session is refused (401)", r.status == 401, r)

    r = T.request(SYS, "GET", "/api/election", source=OUTSIDE)
    if not res.check(f"a client bound to {OUTSIDE} reaches the public API",
                     r.status == 200, r):
        return
    for path in ("/admin/", "/admin/api/election", "/admin/admin.js"):
        r = T.request(SYS, "GET", path, auth=auth, source=OUTSIDE)
        res.check(f"{path} from {OUTSIDE} is refused even with a session (403)",
                  r.status == 403, r)
    r = T.request(SYS, "POST", "/admin/api/close", {}, auth=auth, source=OUTSIDE)
    res.check(f"an admin action from {OUTSIDE} is refused (403)", r.status == 403, r)
    r = T.request(SYS, "GET", "/api/election")
    res.check("the election is still open after the refused close",
              r.json and r.json.get("state") == "open", r)


def json_error(status, hdrs, body, want, what):
    """An nginx-made error: the status, application/json and an error object."""
    try:
        doc = json.loads(body)
        code = doc["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = None
    ctype = hdrs.get("content-type", "")
    res.check(f"{what} answers {want} as JSON (application/json, an error code)",
              status == want and ctype.startswith("application/json") and code,
              (status, ctype, body[:200]))


def nginx_config():
    with open(os.path.join(SYS.run_dir, "nginx.conf")) as f:
        conf = f.read()
    # comments out; then no `if` block at all (if-is-evil), so none around fastcgi_pass
    code = "\n".join(line.split("#", 1)[0] for line in conf.splitlines())
    res.check("the rendered nginx.conf has no `if` block (routing by map)",
              not re.search(r"(^|[;{}\s])if\s*\(", code), re.findall(r".*\bif\s*\(.*", code))
    res.check("the rendered nginx.conf sets worker_rlimit_nofile",
              re.search(r"^\s*worker_rlimit_nofile\s+\d+;", code, re.M), "")


def nginx_errors():
    auth = SYS.admin_auth()
    r = T.request(SYS, "GET", "/admin/api/election")
    json_error(r.status, r.headers, r.body, 401, "/admin/api/ without a session")
    res.check("and asks for no basic auth (no WWW-Authenticate)",
              r.header("www-authenticate") is None, r.headers)
    for path in ("/admin/", "/admin/admin.js"):
        # (a page's extension must not make the error text/javascript)
        r = T.request(SYS, "GET", path, auth=auth, source=OUTSIDE)
        json_error(r.status, r.headers, r.body, 403, f"{path} from {OUTSIDE}")
    r = T.request(SYS, "GET", "/api/election?" + "x" * 20000)
    json_error(r.status, r.headers, r.body, 414, "a 20 kB request URI")
    raw = [
        (b"GET /api/election HTTP/2.0\r\nHost: localhost\r\n\r\n", 505,
         "a request line saying HTTP/2.0 over HTTP/1"),
        (b"POST /api/votes HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n"
         b"Connection: close\r\n\r\n", 501, "an unknown Transfer-Encoding"),
        (b"BREW /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 405,
         "an unknown method on a page"),
    ]
    for data, want, what in raw:
        status, hdrs, body = T.raw_request("127.0.0.1", SYS.port, data)
        if b"\r\n0\r\n" in body or hdrs.get("transfer-encoding") == "chunked":
            body = body.split(b"\r\n", 1)[-1].rsplit(b"\r\n0\r\n", 1)[0]
        json_error(status, hdrs, body, want, what)
        bad = headers_ok(T.Reply(status, b"", hdrs))
        res.check(f"{what}: the {want} carries the security headers", not bad, bad)


def blocks_routing():
    r = T.request(SYS, "GET", "/api/blocks")
    res.check("GET /api/blocks reaches the chain program (the chain listed)",
              r.status == 200 and r.json and "blocks" in r.json, r)
    r = T.request(SYS, "POST", "/api/blocks", {"not": "a block"})
    # the chain program would refuse the method (405); the blocks program parses a block
    res.check("POST /api/blocks reaches the blocks program (a malformed block, not 405)",
              r.status == 400 and r.code == "malformed", r)


def privileges():
    if os.geteuid() != 0:
        print("# not root: the unprivileged-user checks need root; skipped")
        return
    svc = pwd.getpwnam("chainvote")
    web = pwd.getpwnam("www-data")
    web_gid = grp.getgrnam("www-data").gr_gid
    for p in T.PROGRAMS:
        master = SYS.pid(p)
        uids = {T.uid_of(x) for x in [master] + T.children(master)}
        res.check(f"the {p} program's master and workers run as chainvote ({svc.pw_uid})",
                  uids == {svc.pw_uid}, uids)
    master = SYS.pid("nginx")
    workers = T.children(master)
    res.check("nginx's master is root and its workers run as www-data",
              T.uid_of(master) == 0 and workers and
              {T.uid_of(x) for x in workers} == {web.pw_uid},
              (T.uid_of(master), [T.uid_of(x) for x in workers]))
    sock = SYS.sock_dir
    if not res.check("the sockets have a directory of their own (DATA/run/sock)",
                     os.path.isdir(sock), sock):
        return
    st = os.stat(sock)
    res.check("the sockets' directory is chainvote's, group www-data, closed to others",
              st.st_uid == svc.pw_uid and st.st_gid == web_gid and
              stat.S_IMODE(st.st_mode) & 0o007 == 0 and stat.S_IMODE(st.st_mode) & 0o050,
              (st.st_uid, st.st_gid, oct(st.st_mode)))
    el = os.stat(SYS.election_dir)
    res.check("the election directory is chainvote's alone (0700)",
              el.st_uid == svc.pw_uid and stat.S_IMODE(el.st_mode) == 0o700, oct(el.st_mode))
    # another local user (nobody) cannot connect to the register program's socket
    probe = ("import socket,sys\ns=socket.socket(socket.AF_UNIX)\n"
             "try:\n s.connect(sys.argv[1]); print('connected')\n"
             "except OSError as e:\n print('refused', e.errno)\n")
    r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                        "python3", "-c", probe, os.path.join(sock, "register.sock")],
                       capture_output=True, text=True, timeout=30)
    res.check("another local user (nobody) cannot connect to a program's socket",
              r.stdout.startswith("refused 13"), r.stdout + r.stderr)
    r = subprocess.run(["python3", "-c", probe, os.path.join(sock, "register.sock")],
                       capture_output=True, text=True, timeout=30)
    res.check("(while root can: the probe itself works)", r.stdout.startswith("connected"),
              r.stdout + r.stderr)


def signatures(el):
    now = int(time.time())
    voter = el.voters[0]
    v = T.sign_votes(el.genesis_hash, [(voter[0], voter[1], el.candidates[0], now)])[0]
    bad = dict(T.strip_vote(v))
    sig = bytearray.fromhex(bad["signature"])
    sig[10] ^= 1
    bad["signature"] = sig.hex()
    r = T.request(SYS, "POST", "/api/votes", bad)
    res.check("a vote with a flipped signature bit is refused (422 bad_signature)",
              r.status == 422 and r.code == "bad_signature", r)
    other = el.voters[1]
    forged = dict(T.strip_vote(v), voter_key=other[1])
    r = T.request(SYS, "POST", "/api/votes", forged)
    res.check("a vote signed by another voter's key is refused (422 bad_signature)",
              r.status == 422 and r.code == "bad_signature", r)
    outsider = T.keygen(1)[0]
    stray = T.sign_votes(el.genesis_hash, [(outsider[0], outsider[1], el.candidates[0], now)])[0]
    r = T.request(SYS, "POST", "/api/votes", T.strip_vote(stray))
    res.check("a validly signed vote by a key off the roll is refused (403 not_on_roll)",
              r.status == 403 and r.code == "not_on_roll", r)
    r = T.request(SYS, "POST", "/api/votes", T.strip_vote(v))
    res.check("the correctly signed vote is accepted (202)", r.status == 202, r)

    # a proposal to approve
    h = T.tip(SYS)
    tipb = T.block_at(SYS, h)
    blk = T.make_block(h + 1, tipb["hash"], [v], max(now, tipb["timestamp"]),
                       el.settings["difficulty"])
    r = T.request(SYS, "POST", "/api/blocks", blk)
    if not res.check("a mined proposal is accepted (202)", r.status == 202, r):
        return
    path = f"/api/proposals/{blk['hash']}"
    val = el.validators[0]
    good = T.approvals(blk["hash"], [val])[0]
    sig = bytearray.fromhex(good["signature"])
    sig[0] ^= 0x80
    r = T.request(SYS, "POST", path + "/approvals", dict(good, signature=sig.hex()))
    res.check("an approval with a corrupted signature is refused (422 bad_signature)",
              r.status == 422 and r.code == "bad_signature", r)
    other_hash = tipb["hash"]
    wrong = T.approvals(other_hash, [val])[0]
    r = T.request(SYS, "POST", path + "/approvals", wrong)
    res.check("an approval signed over another block is refused (422 bad_signature)",
              r.status == 422 and r.code == "bad_signature", r)
    nonval = T.approvals(blk["hash"], [outsider])[0]
    r = T.request(SYS, "POST", path + "/approvals", nonval)
    res.check("a validly signed approval by a non-validator is refused (403 not_validator)",
              r.status == 403 and r.code == "not_validator", r)
    swapped = dict(good, validator_key=el.validators[1][1])
    r = T.request(SYS, "POST", path + "/approvals", swapped)
    res.check("validator A's signature under validator B's key is refused (422)",
              r.status == 422 and r.code == "bad_signature", r)
    rej_sig = T.sign_many([(val[0], T.rejection_message(blk["hash"], "a reason"))])[0]
    r = T.request(SYS, "POST", path + "/rejections",
                  {"validator_key": val[1], "signature": rej_sig[1], "reason": "another reason"})
    res.check("a rejection whose signature covers another reason is refused (422)",
              r.status == 422 and r.code == "bad_signature", r)
    r = T.request(SYS, "GET", path)
    res.check("none of the refused verdicts is recorded on the proposal",
              r.status == 200 and not r.json["approvals"] and not r.json["rejections"], r)
    for i in (0, 1):
        a = T.approvals(blk["hash"], [el.validators[i]])[0]
        r = T.request(SYS, "POST", path + "/approvals", a)
        res.check(f"validator {i}'s signed approval is accepted (201)", r.status == 201, r)
    res.check("the approved block is committed", T.tip(SYS) == h + 1, T.tip(SYS))


def burst(method, path, body, n, threads=16):
    """n requests from one address as fast as the threads go; statuses and the first
    429 reply."""
    lock = threading.Lock()
    state = {"left": n, "statuses": {}, "r429": None}

    def go():
        conn = http.client.HTTPConnection("127.0.0.1", SYS.port, timeout=30)
        while True:
            with lock:
                if state["left"] <= 0:
                    break
                state["left"] -= 1
            r = T.request(SYS, method, path, body, conn=conn)
            if r.status == 0:
                conn = http.client.HTTPConnection("127.0.0.1", SYS.port, timeout=30)
            with lock:
                state["statuses"][r.status] = state["statuses"].get(r.status, 0) + 1
                if r.status == 429 and state["r429"] is None:
                    state["r429"] = r
    ts = [threading.Thread(target=go) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return state["statuses"], state["r429"]


def rate_limits():
    for name, path, n in (("votes", "/api/votes", 1500), ("blocks", "/api/blocks", 300),
                          ("register", "/api/register", 60)):
        statuses, r = burst("POST", path, {"x": 1}, n)
        res.check(f"a burst of {n} POSTs to {path} meets 429", statuses.get(429, 0) > 0,
                  statuses)
        res.check(f"the 429 from {path} is a JSON rate_limited error",
                  r is not None and r.code == "rate_limited", r)
        if r is not None:
            res.check(f"the 429 from {path} carries the security headers", not headers_ok(r),
                      headers_ok(r))
        time.sleep(1.5)
    statuses, _ = burst("GET", "/api/election", None, 300)
    res.check("reads are not rate limited (300 GETs, no 429)", 429 not in statuses, statuses)


def security_headers(el, txid):
    pages = []
    for root, _, files in os.walk(os.path.join(T.TOP, "www")):
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), os.path.join(T.TOP, "www"))
            pages.append("/" + rel)
    pages += ["/", "/admin/", "/no-such-page.html"]
    api = ["/api/election", "/api/results", "/api/blocks", "/api/blocks/0", "/api/blocks/999",
           "/api/chain/export", "/api/work", "/api/pool", f"/api/votes/{txid}",
           "/api/votes/" + "0" * 64, "/api/proposals", "/api/nothing", "/api/votes/zz",
           "/admin/api/election"]
    for p in pages + api:
        auth = SYS.admin_auth() if p.startswith("/admin/") and p != "/admin/" else None
        r = T.request(SYS, "GET", p, auth=auth)
        bad = headers_ok(r)
        res.check(f"GET {p} ({r.status}) carries CSP and the security headers", not bad, bad)
    for method, path, kw in (("POST", "/api/votes", {"raw": b"{", "ctype": "application/json"}),
                             ("POST", "/api/votes", {"raw": b"x" * 10000}),
                             ("POST", "/api/votes", {"raw": b"{}", "ctype": "text/plain"}),
                             ("DELETE", "/api/election", {})):
        r = T.request(SYS, method, path, **kw)
        bad = headers_ok(r)
        res.check(f"{method} {path} error {r.status} carries the security headers", not bad, bad)


def registrar_data(el, secrets_list):
    txid_paths = []
    r = T.request(SYS, "GET", "/api/pool?limit=1000")
    for v in (r.json or {}).get("votes", []):
        txid_paths.append(f"/api/votes/{v['txid']}")
    h = T.tip(SYS) or 0
    paths = ["/api/election", "/api/results", "/api/blocks", "/api/blocks?from=0&limit=100",
             "/api/chain/export", "/api/work", "/api/pool?limit=1000", "/api/proposals"]
    paths += [f"/api/blocks/{i}" for i in range(h + 1)] + txid_paths
    leaks = []
    for p in paths:
        r = T.request(SYS, "GET", p)
        text = r.body.decode(errors="replace")
        for s in secrets_list:
            if s in text:
                leaks.append((p, s))
    res.check(f"no voter id or registration code in {len(paths)} public answers "
              "(the chain export included)", not leaks, leaks[:5])
    r = T.request(SYS, "GET", "/api/chain/export")
    res.check("the registered voter's key is on the chain's roll (registration worked)",
              el.registered_key in r.body.decode(errors="replace"), el.registered_key[:16])


def main():
    global SYS
    SYS = T.System(prefix="cv-access-", WORKERS=2)
    try:
        if not res.check("system starts", SYS.start(), SYS.last_output):
            return
        ids = [f"REG-{secrets.token_hex(6)}" for _ in range(3)]
        el = T.setup_election(SYS, res, n_voters=12, n_validators=3, difficulty=8,
                              eligible=ids, open_it=False)
        if el is None:
            return
        given = f"CODE-{secrets.token_hex(6)}"
        r = T.request(SYS, "POST", "/admin/api/eligible",
                      {"voters": [{"voter_id": "REG-given-" + given[5:], "code": given}]},
                      auth=SYS.admin_auth())
        res.check("an eligibility entry with a chosen code is imported", r.status in (200, 201), r)
        reg = T.keygen(1)[0]
        r = T.request(SYS, "POST", "/api/register",
                      {"voter_id": ids[0], "code": el.codes.get(ids[0], ""), "public_key": reg[1]})
        res.check("a voter registers with its one-time code", r.status == 201, r)
        el.registered_key = reg[1]
        el.voters.append(reg)
        if not T.open_election(SYS, res, el):
            return
        secrets_list = ids + ["REG-given-" + given[5:], given] + \
            [c for c in el.codes.values() if c]
        now = int(time.time())
        v = T.sign_votes(el.genesis_hash, [(reg[0], reg[1], el.candidates[1], now)])[0]
        r = T.request(SYS, "POST", "/api/votes", T.strip_vote(v))
        res.check("the registered voter's vote is accepted", r.status == 202, r)
        admin_access()
        nginx_config()
        nginx_errors()
        blocks_routing()
        privileges()
        signatures(el)
        security_headers(el, v["txid"])
        registrar_data(el, secrets_list)
        rate_limits()
    finally:
        SYS.cleanup()


if __name__ == "__main__":
    res.run(main)
