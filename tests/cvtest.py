"""Shared helpers of the end-to-end tests: start and stop a whole ChainVote system on a
free 127.0.0.1 port with its state in a temporary directory (tools/run.sh, processes
stopped and killed only by their PIDs), HTTP against it, an election set up through the
admin API, and votes, approvals and blocks built here byte for byte (DESIGN section 2)
with signatures from the cvsign helper. Python 3 standard library only.
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_BUILD = os.environ.get("BUILD", "build")
BIN = os.path.abspath(os.environ.get("BIN", os.path.join(TOP, _BUILD, "rel/bin")))
CGI = os.path.abspath(os.environ.get("CGI", os.path.join(TOP, _BUILD, "rel/cgi")))
CHAINVOTE = os.path.join(BIN, "chainvote")
MINER = os.path.join(BIN, "miner")
CVSIGN = os.path.join(BIN, "cvsign")
RUN_SH = os.path.join(TOP, "tools", "run.sh")


# ---- results ------------------------------------------------------------------------

class Results:
    """Counts checks and prints one "ok"/"not ok" line each."""

    def __init__(self, name):
        self.name = name
        self.passed = self.failed = 0
        self.lock = threading.Lock()

    def check(self, what, cond, detail=""):
        with self.lock:
            if cond:
                self.passed += 1
                print(f"ok - {what}")
            else:
                self.failed += 1
                text = repr(detail)
                print(f"not ok - {what} {text[:600]}")
            sys.stdout.flush()
        return bool(cond)

    def finish(self):
        if RELEASED:
            # the suite's own stores only: the keys each one named (release_stores)
            self.check(f"the shared memory of the {len(RELEASED)} stores the suite deleted "
                       "is released (no segment left at their keys)", not SHM_LEFT, SHM_LEFT)
        print(f"{self.name}: {self.passed} passed, {self.failed} failed")
        sys.stdout.flush()
        return 1 if self.failed or not self.passed else 0

    def run(self, main):
        """Runs a driver's main and exits with its result: a crash of the driver is a
        failed check (with its traceback), not a silent exit."""
        try:
            main()
        except Exception as e:
            import traceback
            traceback.print_exc()
            self.check(f"the {self.name} driver ran to the end", False, repr(e))
        sys.exit(self.finish())


# ---- processes ----------------------------------------------------------------------

def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def children(pid):
    """PIDs whose parent is pid, read from /proc."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                out.append(int(d))
        except (OSError, IndexError, ValueError):
            pass
    return out


def uid_of(pid):
    """The real user id of a process (/proc/PID/status), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return False


# ---- the stores' shared memory --------------------------------------------------------

RELEASED = []   # the encrypted stores release_stores released
SHM_LEFT = []   # (store, what was left or went wrong): a failed check at Results.finish


def shm_segments(first, n):
    """The keys in first .. first + n - 1 that a SysV shared memory segment has now
    (/proc/sysvipc/shm). Only those keys: another user's segments never count."""
    try:
        with open("/proc/sysvipc/shm") as f:
            next(f)
            keys = [int(line.split()[0]) for line in f if line.strip()]
    except (OSError, StopIteration, ValueError):
        return []
    return sorted(k for k in keys if first <= k < first + n)


def release_stores(root, timeout=30):
    """Before root is deleted: `chainvote release` on every encrypted store under it (a
    directory with regions.id). Its processes killed with the store open leave its
    shared memory behind, which would outlive the directory until reboot. Waits while a
    process killed a moment ago still has a store open. Every store whose keys still
    have a segment after goes into SHM_LEFT, which fails the suite."""
    for d, _, files in os.walk(root):
        if "regions.id" not in files:
            continue
        end = time.monotonic() + timeout
        while True:
            try:
                r = subprocess.run([CHAINVOTE, "release", "--data", d],
                                   capture_output=True, text=True, timeout=120)
            except (OSError, subprocess.TimeoutExpired) as e:
                r = subprocess.CompletedProcess(CHAINVOTE, 1, "", repr(e))
            if (r.returncode == 0 or "has the store open" not in r.stderr
                    or time.monotonic() > end):
                break
            time.sleep(0.2)
        RELEASED.append(d)
        try:
            doc = json.loads(r.stdout)
            first, n = doc["shm_key"], doc["shm_keys"]
        except (ValueError, KeyError, TypeError):
            SHM_LEFT.append((d, (r.stdout + r.stderr).strip()))
            continue
        left = shm_segments(first, n) if first is not None else []
        if r.returncode != 0 or left:
            SHM_LEFT.append((d, left or r.stderr.strip()))


def remove_tree(root):
    """Deletes a test's directory (unless KEEP_TMP=1) once every store in it has
    released its shared memory (release_stores; kept directories too)."""
    release_stores(root)
    if os.environ.get("KEEP_TMP") != "1":
        shutil.rmtree(root, ignore_errors=True)


SERVICE_USER, WEB_USER = "chainvote", "www-data"   # tools/run.sh's, when run as root


def pwd_uid(name):
    """The user id of name, or None."""
    import pwd
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def as_service_user(cmd):
    """cmd run as the programs' user when the tests run as root, as README asks of an
    administrator working on a running election's data (files the store makes must stay
    the service's); cmd as it is otherwise."""
    if os.geteuid() != 0:
        return list(cmd)
    try:
        import pwd
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        return list(cmd)
    return ["setpriv", f"--reuid={SERVICE_USER}", f"--regid={WEB_USER}", "--clear-groups",
            "--", *cmd]


PROGRAMS = ("chain", "vote", "blocks", "validate", "register")


def totp(secret_b32, t=None, step=None):
    """RFC 6238 TOTP (HMAC-SHA1, 30 s, 6 digits) of a base32 secret at time t or at a
    step number."""
    key = base64.b32decode(secret_b32.strip().upper() + "=" * (-len(secret_b32.strip()) % 8))
    if step is None:
        step = int(time.time() if t is None else t) // 30
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    off = mac[19] & 15
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7fffffff) % 1000000)


class AdminAuth(str):
    """What System.admin_auth() answers: request(auth=...) sends that System's admin
    session cookie, signing in (password and TOTP from DATA/demo) when it has none or
    the session ended."""
    system = None


class System:
    """One ChainVote system under tools/run.sh. env: extra run.sh settings (MINER,
    WORKERS, RATE_EXEMPT_LOOPBACK, LISTEN, VALIDATORS, BALLOTS). No validator daemon unless
    a test asks (VALIDATORS=N with DEMO=1): proposals wait for the test's own approvals.
    With DEMO=1 the demo is secret unless BALLOTS=open."""

    def __init__(self, prefix="cv-e2e-", host="127.0.0.1", **env):
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        if os.geteuid() == 0:
            # as root, run.sh runs the programs as an unprivileged user, who must be able
            # to pass through (not list) this directory to reach DATA
            os.chmod(self.tmp, 0o711)
        self.data = os.path.join(self.tmp, "data")
        self.host = host
        self.port = free_port(host)
        self.url = f"http://{host}:{self.port}"
        settings = {"DEMO": "0", "MINER": "0", "WORKERS": "2", "VALIDATORS": "0"}
        settings.update({k: str(v) for k, v in env.items()})
        if host != "127.0.0.1":
            settings["LISTEN"] = host
        self.env = dict(os.environ, BIN=BIN, CGI=CGI, **settings)
        self.last_output = ""
        self._cookie = None      # the admin's session (cv_admin's value)
        self._last_step = -1     # the last TOTP step this System signed in with
        self._sign_in_lock = threading.Lock()

    def run_sh(self, action, timeout=90, **env):
        e = dict(self.env, **{k: str(v) for k, v in env.items()})
        try:
            r = subprocess.run(["sh", RUN_SH, action, str(self.port), self.data], env=e,
                               capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as x:
            # the script's process group may linger (a curl waiting on a hung program)
            self.last_output = f"tools/run.sh {action} did not finish in {timeout} s"
            return subprocess.CompletedProcess(x.cmd, 124, "", self.last_output)
        self.last_output = r.stdout + r.stderr
        return r

    def start(self, **env):
        r = self.run_sh("start", **env)
        if r.returncode != 0:
            print(r.stdout, r.stderr)
        return r.returncode == 0

    def stop(self):
        """tools/run.sh stop; then SIGKILL to any process of the system that outlived
        its master (a worker stuck in the store is not reaped by a killed master)."""
        pids = self.all_pids()
        ok = self.run_sh("stop").returncode == 0
        for p in pids:
            if alive(p):
                try:
                    os.kill(p, 9)
                except ProcessLookupError:
                    pass
        return ok

    def cleanup(self):
        self.stop()
        remove_tree(self.tmp)

    @property
    def run_dir(self):
        return os.path.join(self.data, "run")

    @property
    def sock_dir(self):
        """Where the programs' FastCGI sockets are (tools/run.sh: DATA/run/sock)."""
        return os.path.join(self.run_dir, "sock")

    @property
    def election_dir(self):
        return os.path.join(self.data, "election")

    def pid(self, name):
        try:
            with open(os.path.join(self.run_dir, name + ".pid")) as f:
                return int(f.read())
        except (OSError, ValueError):
            return None

    def workers(self, program):
        master = self.pid(program)
        return children(master) if master else []

    def password(self):
        with open(os.path.join(self.data, "demo", "admin-password")) as f:
            return f.read().strip()

    def totp_secret(self):
        with open(os.path.join(self.data, "demo", "admin-totp")) as f:
            return f.read().strip()

    def admin_auth(self):
        """The admin's credentials for request(auth=...): the session cookie, signed in
        for once per System."""
        a = AdminAuth("admin:session")
        a.system = self
        return a

    def sign_in(self):
        """Signs the demo admin in with a TOTP code of a step not used yet (a code is
        taken once) and keeps the cookie. Returns the sign-in's Reply."""
        with self._sign_in_lock:
            r = None
            for _ in range(3):
                now = int(time.time()) // 30
                step = max(now, self._last_step + 1)
                if step > now + 1:   # both codes of the window spent: the next step
                    time.sleep(30 - time.time() % 30 + 0.1)
                    continue
                r = request(self, "POST", "/admin/api/session",
                            {"user": "admin", "password": self.password(),
                             "code": totp(self.totp_secret(), step=step)})
                self._last_step = step
                if r.status == 201:
                    self._cookie = session_cookie(r)
                    return r
                if r.status != 401:
                    break
            self._cookie = None
            return r

    def admin_cookie(self, renew=False):
        if self._cookie is None or renew:
            self.sign_in()
        return self._cookie

    def all_pids(self):
        """Every process the system runs: nginx and its workers, each program's master
        and workers, the miner, the validator daemons."""
        pids = []
        for name in ("nginx",) + PROGRAMS + ("miner", "validator-1", "validator-2", "validator-3"):
            p = self.pid(name)
            if p and alive(p):
                pids.append(p)
                pids.extend(children(p))
        return pids

    def log_tail(self, name, n=20):
        try:
            with open(os.path.join(self.run_dir, name + ".log")) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


# ---- HTTP ---------------------------------------------------------------------------

class Reply:
    def __init__(self, status, body, headers):
        self.status = status
        self.body = body
        self.headers = headers
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    @property
    def code(self):
        try:
            return self.json["error"]["code"]
        except (TypeError, KeyError):
            return None

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


def session_cookie(reply):
    """The admin session cookie's value a sign-in's Reply sets, or None."""
    for part in (reply.header("set-cookie") or "").split(";"):
        k, _, v = part.strip().partition("=")
        if k == "cv_admin" and v:
            return v
    return None


def request(sys_or_url, method, path, body=None, ctype="application/json", auth=None,
            raw=None, headers=None, source=None, timeout=30, conn=None):
    """One HTTP request; returns a Reply (status 0 and the exception text on a
    connection failure). body is JSON-encoded; raw is sent as is. source binds the
    client socket to that local address. conn: a keep-alive http.client connection.
    auth: System.admin_auth() sends the admin's session cookie (signing in again once
    when the session has ended); a "user:password" text is sent as basic auth, which
    the service ignores."""
    if isinstance(auth, AdminAuth):
        hdrs = dict(headers or {})
        hdrs["Cookie"] = "cv_admin=" + (auth.system.admin_cookie() or "none")
        r = request(sys_or_url, method, path, body, ctype, None, raw, hdrs, source,
                    timeout, conn)
        if r.status == 401:
            hdrs["Cookie"] = "cv_admin=" + (auth.system.admin_cookie(renew=True) or "none")
            r = request(sys_or_url, method, path, body, ctype, None, raw, hdrs, source,
                        timeout, conn)
        return r
    url = sys_or_url.url if isinstance(sys_or_url, System) else sys_or_url
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    hdrs = {}
    if data is not None and ctype:
        hdrs["Content-Type"] = ctype
    if auth:
        hdrs["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
    if headers:
        hdrs.update(headers)
    own = conn is None
    try:
        if own:
            conn = http.client.HTTPConnection(host, int(port), timeout=timeout,
                                              source_address=(source, 0) if source else None)
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        out = Reply(r.status, r.read(), {k.lower(): v for k, v in r.getheaders()})
        if own:
            conn.close()
        return out
    except (OSError, http.client.HTTPException) as e:
        if conn is not None:
            conn.close()
        return Reply(0, str(e).encode(), {})


def raw_request(host, port, data, timeout=10):
    """Sends bytes as they are (for requests http.client will not write) and returns
    (status, headers dict, body bytes)."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            chunks.append(b)
    resp = b"".join(chunks)
    head, _, body = resp.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        status = 0
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.decode("latin-1").partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, body


# ---- chain bytes --------------------------------------------------------------------

def sha256(b):
    return hashlib.sha256(b).digest()


def vote_payload(election_id, voter_key, candidate_id, timestamp):
    return (b"chainvote/vote/1" + bytes.fromhex(election_id) + bytes.fromhex(voter_key)
            + struct.pack(">IQ", candidate_id, timestamp))


def vote_txid(v):
    return sha256(vote_payload(v["election_id"], v["voter_key"], v["candidate_id"],
                               v["timestamp"])).hex()


def vote_leaf(v):
    return vote_payload(v["election_id"], v["voter_key"], v["candidate_id"],
                        v["timestamp"]) + bytes.fromhex(v["signature"])


def merkle_root(leaves):
    """RFC 6962 MTH over leaf byte strings."""
    if not leaves:
        return sha256(b"")
    if len(leaves) == 1:
        return sha256(b"\x00" + leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return sha256(b"\x01" + merkle_root(leaves[:k]) + merkle_root(leaves[k:]))


def header_bytes(h):
    return (struct.pack(">IQ", h["version"], h["height"]) + bytes.fromhex(h["prev_hash"])
            + bytes.fromhex(h["merkle_root"]) + struct.pack(">QIQ", h["timestamp"],
                                                            h["difficulty"], h["nonce"]))


def leading_zero_bits(digest):
    n = 0
    for byte in digest:
        if byte == 0:
            n += 8
            continue
        return n + 8 - byte.bit_length()
    return n


def make_block(height, prev_hash, votes, timestamp, difficulty, pow_ok=True, nonce_from=0):
    """A block dict in the public JSON, mined to `difficulty` (or, pow_ok False, with a
    nonce whose hash misses it)."""
    h = {"version": 1, "height": height, "prev_hash": prev_hash,
         "merkle_root": merkle_root([vote_leaf(v) for v in votes]).hex(),
         "timestamp": timestamp, "difficulty": difficulty, "nonce": nonce_from}
    while True:
        digest = sha256(header_bytes(h))
        ok = leading_zero_bits(digest) >= difficulty
        if ok == pow_ok:
            break
        h["nonce"] += 1
    b = dict(h)
    b["hash"] = digest.hex()
    b["votes"] = [strip_vote(v) for v in votes]
    return b


def rehash(block, mine=True):
    """Recomputes a block's hash after its header fields were changed (and mines it
    again when mine)."""
    h = {k: block[k] for k in ("version", "height", "prev_hash", "merkle_root", "timestamp",
                               "difficulty", "nonce")}
    while True:
        digest = sha256(header_bytes(h))
        if not mine or leading_zero_bits(digest) >= h["difficulty"]:
            break
        h["nonce"] += 1
    out = dict(block, nonce=h["nonce"], hash=digest.hex())
    return out


def strip_vote(v):
    return {k: v[k] for k in ("election_id", "voter_key", "candidate_id", "timestamp",
                              "signature")}


def approval_message(block_hash):
    return b"chainvote/approve/1" + bytes.fromhex(block_hash)


def rejection_message(block_hash, reason):
    r = reason.encode()
    return b"chainvote/reject/1" + bytes.fromhex(block_hash) + struct.pack(">H", len(r)) + r


# ---- signing ------------------------------------------------------------------------

def keygen(n):
    """n fresh key pairs as (scalar_hex, public_key_hex)."""
    r = subprocess.run([CVSIGN, "keygen", str(n)], capture_output=True, text=True,
                       timeout=600, check=True)
    return [tuple(line.split()) for line in r.stdout.splitlines()]


def sign_many(items):
    """items: (key, message bytes) with key a scalar hex or key file path. Returns
    (public_key_hex, signature_hex) per item, or None where signing failed."""
    text = "".join(f"{k} {m.hex()}\n" for k, m in items)
    r = subprocess.run([CVSIGN, "sign"], input=text, capture_output=True, text=True,
                       timeout=600, check=True)
    out = []
    for line in r.stdout.splitlines():
        parts = line.split()
        out.append(tuple(parts) if len(parts) == 2 else None)
    return out


def sign_votes(election_id, specs):
    """specs: (scalar, public_key, candidate_id, timestamp[, election_id]). Returns vote
    dicts with "txid" (which the server does not need)."""
    items, votes = [], []
    for s in specs:
        eid = s[4] if len(s) > 4 else election_id
        v = {"election_id": eid, "voter_key": s[1], "candidate_id": s[2], "timestamp": s[3]}
        votes.append(v)
        items.append((s[0], vote_payload(eid, s[1], s[2], s[3])))
    for v, sig in zip(votes, sign_many(items)):
        v["signature"] = sig[1]
        v["txid"] = vote_txid(v)
    return votes


def approvals(block_hash, keys):
    """Signed approvals of block_hash by each (scalar, public) key."""
    sigs = sign_many([(k[0], approval_message(block_hash)) for k in keys])
    return [{"validator_key": s[0], "signature": s[1]} for s in sigs]


# ---- an election --------------------------------------------------------------------

def epath(path, election=None):
    """path (/api/X or /admin/api/X) in election's URL space (/api/e/SLUG/X); the
    default election's path as it is for election None."""
    if not election:
        return path
    for base in ("/admin/api/", "/api/"):
        if path.startswith(base):
            return f"{base}e/{election}/{path[len(base):]}"
    return path


class Election:
    def __init__(self):
        self.validators = []   # (scalar, public)
        self.voters = []       # (scalar, public)
        self.candidates = []
        self.genesis_hash = None
        self.genesis_timestamp = None
        self.settings = {}
        self.codes = {}        # voter_id -> code (eligibility entries)


def setup_election(sysm, res, n_voters=10, n_validators=3, threshold=2, difficulty=8,
                   max_block_votes=64, candidates=((1, "Alder Party"), (2, "Birch Alliance"),
                                                   (3, "Cedar Union")),
                   eligible=(), open_it=True, voters=None, election=None, title="Test election"):
    """Creates, fills and (open_it) opens an election through /admin/api. eligible:
    voter ids whose one-time codes are kept in el.codes. election: another election's
    slug (registered already), None for the default one. Returns the Election, or None
    after a failed check."""
    def P(path):
        return epath(path, election)
    el = Election()
    auth = sysm.admin_auth()
    el.settings = {"title": title, "threshold": threshold,
                   "difficulty": difficulty, "max_block_votes": max_block_votes,
                   "opens": 0, "closes": 0, "results_after_close": False}
    r = request(sysm, "PUT", P("/admin/api/election"), el.settings, auth=auth)
    if not res.check("admin creates the election", r.status in (200, 201), r):
        return None
    for cid, name in candidates:
        r = request(sysm, "PUT", P(f"/admin/api/candidates/{cid}"), {"name": name}, auth=auth)
        if not res.check(f"candidate {cid} added", r.status in (200, 201), r):
            return None
    el.candidates = [c[0] for c in candidates]
    el.validators = keygen(n_validators)
    for i, (_, pub) in enumerate(el.validators):
        r = request(sysm, "PUT", P(f"/admin/api/validators/{pub}"), {"name": f"Validator {i}"},
                    auth=auth)
        if not res.check(f"validator {i} added", r.status in (200, 201), r):
            return None
    if eligible:
        r = request(sysm, "POST", P("/admin/api/eligible"),
                    {"voters": [{"voter_id": v} for v in eligible]}, auth=auth)
        if not res.check("eligibility entries imported", r.status in (200, 201) and r.json, r):
            return None
        for v in r.json.get("voters", []):
            el.codes[v.get("voter_id")] = v.get("code")
    el.voters = voters if voters is not None else keygen(n_voters)
    for i in range(0, len(el.voters), 20000):
        chunk = [k[1] for k in el.voters[i:i + 20000]]
        r = request(sysm, "POST", P("/admin/api/voters"), {"keys": chunk}, auth=auth, timeout=600)
        if not res.check(f"{len(chunk)} voter keys put on the roll", r.status in (200, 201), r):
            return None
    if open_it and not open_election(sysm, res, el, election):
        return None
    return el


def setup_offline(sysm, res, n_voters=10, n_validators=3, threshold=2, difficulty=8,
                  max_block_votes=64, candidates=((1, "Alder Party"), (2, "Birch Alliance"),
                                                  (3, "Cedar Union"))):
    """As an operator would before starting the system: the election made and opened
    in DATA/election with the CLI (each import one transaction, so large rolls are
    quick), encrypted at rest as by default (TEST_STORE_KEY=none: made without a key, to
    compare). The genesis hash is read once the system runs (fill_genesis)."""
    el = Election()
    el.settings = {"threshold": threshold, "difficulty": difficulty,
                   "max_block_votes": max_block_votes}
    d = sysm.election_dir
    os.makedirs(sysm.data, exist_ok=True)
    el.validators = keygen(n_validators)
    el.voters = keygen(n_voters)
    el.candidates = [c[0] for c in candidates]
    steps = [
        (["init", "--data", d, "--title", "Test election", "--threshold", str(threshold),
          "--difficulty", str(difficulty), "--max-block-votes", str(max_block_votes),
          *(["--store-key", "none"] if os.environ.get("TEST_STORE_KEY") == "none" else [])],
         ""),
        (["candidates", "--data", d, "-"], "".join(f"{i},{n}\n" for i, n in candidates)),
        (["validators", "--data", d, "-"],
         "".join(f"{k[1]},Validator {i}\n" for i, k in enumerate(el.validators))),
        (["voters", "--data", d, "-"], "".join(k[1] + "\n" for k in el.voters)),
        (["open", "--data", d], ""),
    ]
    for args, text in steps:
        r = subprocess.run([CHAINVOTE, *args], input=text, capture_output=True, text=True,
                           timeout=600)
        if not res.check(f"chainvote {args[0]} (offline set-up)", r.returncode == 0,
                         r.stdout + r.stderr):
            return None
    return el


def fill_genesis(sysm, el):
    r = request(sysm, "GET", "/api/election")
    if r.status != 200 or not r.json or not r.json.get("genesis_hash"):
        return False
    el.genesis_hash = r.json["genesis_hash"]
    el.genesis_timestamp = r.json["genesis_timestamp"]
    return True


def open_election(sysm, res, el, election=None):
    r = request(sysm, "POST", epath("/admin/api/open", election), {}, auth=sysm.admin_auth())
    if not res.check("election opens", r.status == 200, r):
        return False
    r = request(sysm, "GET", epath("/api/election", election))
    ok = r.status == 200 and r.json and r.json.get("state") == "open"
    if not res.check("election is open with a genesis hash", ok, r):
        return False
    el.genesis_hash = r.json["genesis_hash"]
    el.genesis_timestamp = r.json["genesis_timestamp"]
    return True


def tip(sysm):
    r = request(sysm, "GET", "/api/election")
    return (r.json or {}).get("tip_height")


def block_at(sysm, height):
    r = request(sysm, "GET", f"/api/blocks/{height}")
    return r.json if r.status == 200 else None


def export(sysm, timeout=120, election=None):
    """The chain export's bytes (election's: see epath), or None."""
    r = request(sysm, "GET", epath("/api/chain/export", election), timeout=timeout)
    return r.body if r.status == 200 else None


def verify_export(body):
    """chainvote verify on an export's bytes (None: the export was not served): (ok,
    output)."""
    if body is None:
        return False, "no export"
    if not os.access(CHAINVOTE, os.X_OK):
        return False, f"{CHAINVOTE} is missing"
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        f.write(body)
        f.flush()
        r = subprocess.run([CHAINVOTE, "verify", f.name], capture_output=True, text=True,
                           timeout=600)
    return r.returncode == 0, (r.stdout + r.stderr)[-2000:]


def store_key_of(env_dir):
    """The default key file of the store in env_dir: keys/store.key beside it."""
    return os.path.join(os.path.dirname(os.path.abspath(env_dir)), "keys", "store.key")


def db_verify(env_dir, deadline=120, key=None):
    """As an operator would after a crash: db_recover on the stopped environment (it
    replays the log and rebuilds the regions), then db_verify over every database file,
    both given the store's key (key: its file, default keys/store.key beside env_dir;
    no such file: an unencrypted store).
    db_recover leaves its regions in files (__db.*, which hold the key and decrypted
    pages), so they are removed after. Every tool runs under a time limit, since a
    wedged environment can block them. Returns (ok, output)."""
    verify = shutil.which("db5.3_verify") or shutil.which("db_verify")
    recover = shutil.which("db5.3_recover") or shutil.which("db_recover")
    if verify is None or recover is None:
        return False, "db5.3_verify or db5.3_recover is not installed"
    files = sorted(f for f in os.listdir(env_dir) if f.endswith(".db"))
    if not files:
        return False, "no database files in " + env_dir
    key = key or store_key_of(env_dir)
    pw = []
    if os.path.exists(key):  # none: a store made without a key (--store-key none)
        with open(key) as f:
            pw = ["-P", f.read().strip()]
    end = time.monotonic() + deadline
    out, ok = [], True
    try:
        r = subprocess.run([recover, *pw, "-h", env_dir], capture_output=True, text=True,
                           timeout=max(1, end - time.monotonic()))
        if r.returncode != 0:
            return False, f"db_recover: {r.stdout}{r.stderr}".strip()
        for f in files:
            r = subprocess.run([verify, *pw, "-q", "-h", env_dir, f], capture_output=True,
                               text=True, timeout=max(1, end - time.monotonic()),
                               cwd=env_dir)
            if r.returncode != 0:
                ok = False
                out.append(f"{f}: {r.stdout}{r.stderr}".strip())
    except subprocess.TimeoutExpired as e:
        return False, f"{' '.join(e.cmd)} did not finish within {deadline} s"
    finally:
        for f in os.listdir(env_dir):
            if f.startswith("__db.0"):
                os.unlink(os.path.join(env_dir, f))
    return ok, "\n".join(out) or f"{len(files)} databases verified"


def wait_until(pred, timeout, every=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(every)
    return pred()


if __name__ == "__main__":
    # python3 tests/cvtest.py remove-tree DIR: remove_tree for a test not written in
    # Python (tests/browser/e2e.mjs); exit status 1, the stores named, when a store's
    # shared memory was left
    if len(sys.argv) != 3 or sys.argv[1] != "remove-tree":
        sys.exit("usage: cvtest.py remove-tree DIR")
    remove_tree(sys.argv[2])
    for store, what in SHM_LEFT:
        print(f"{store}: {what}")
    sys.exit(1 if SHM_LEFT else 0)
