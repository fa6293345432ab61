"""The OpenAPI description (www/api/openapi.json) against the real system.

Started by tests/e2e_openapi.sh with BIN and CGI in the environment. First the static
checks: every route of the programs' tables (cgi-bin/*.c), every exact /api/ location of
nginx.conf and every error code of lib/chain/err.c is in the description, and the
description names no route the programs do not have, and each election's paths
(/api/e/{slug}/...) are there and are what tools/dev/openapi_elections.py writes. Then a
whole election (set-up through the admin API, registration, votes, mining, approvals and
rejections, receipts, the close, the seal), voter recovery, other elections beside it
(creation, every /api/e/{slug}/ and /admin/api/e/{slug}/ operation, archiving, unknown
slugs), the admin's sign-in, sign-out, authenticator rotation and lock-out, and
deliberate errors are driven through a small proxy in this process, by this
script and by the real CLI and miner alike: the proxy checks EVERY answer against the
description (the operation's described statuses, the JSON Schema 2020-12 of the body,
the required headers). An answer whose status the operation does not describe fails.
"""
import gzip
import http.client
import http.server
import json
import os
import re
import socketserver
import subprocess
import sys
import threading

sys.dont_write_bytecode = True   # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cvtest as T  # noqa: E402

try:
    import jsonschema
except ImportError:  # tools/deps.sh installs python3-jsonschema
    jsonschema = None

RES = T.Results("e2e_openapi")
check = RES.check
DOC_PATH = os.path.join(T.TOP, "www", "api", "openapi.json")
METHODS = ("get", "put", "post", "delete")
# Routes of the programs that are no part of the public surface, and why.
INTERNAL = {
    ("GET", "/api/chain/export/{}"): "nginx's internal location behind the export's redirect",
    ("GET", "/_auth/admin"): "nginx's internal auth_request location: is the cookie a session?",
}
# Routes of the whole installation, described without a per-election form.
INSTALLATION_WIDE = {("GET", "/api/elections"), ("POST", "/admin/api/elections"),
                     ("POST", "/admin/api/session"), ("DELETE", "/admin/api/session"),
                     ("POST", "/admin/api/mfa/rotate"), ("POST", "/admin/api/mfa/confirm")}
API_BASES = ("/api/", "/admin/api/")


# ---- the description ----------------------------------------------------------------

def template_key(path):
    """'/api/blocks/{id}' and the route '/api/blocks/:' both become '/api/blocks/{}'."""
    return "/".join("{}" if s == ":" or (s.startswith("{") and s.endswith("}")) else s
                    for s in path.split("/"))


def route_key(template):
    """The route that serves a described path: an election's ('/api/e/{slug}/votes')
    is the default election's ('/api/votes'), with the slug taken off before routing."""
    k = template_key(template)
    for base in API_BASES:
        if k.startswith(base + "e/{}/"):
            return base + k[len(base) + len("e/{}/"):]
    return k


def election_key(key):
    """'/api/votes' -> '/api/e/{}/votes' (a template key)."""
    for base in API_BASES:
        if key.startswith(base):
            return base + "e/{}/" + key[len(base):]
    return key


class Description:
    def __init__(self, doc):
        self.doc = doc
        self.ops = []       # (method, template, regex, operation)
        for template, item in doc["paths"].items():
            rx = re.compile("^" + re.sub(r"\\\{[^/]+\\\}", "[^/]+", re.escape(template)) + "$")
            for m in METHODS:
                if m in item:
                    self.ops.append((m.upper(), template, rx, item[m]))
        # literal templates before templated ones (none overlap today)
        self.ops.sort(key=lambda o: o[1].count("{"))
        self.seen = {}      # (method, template) -> set of statuses

    def schema_validator(self, schema):
        # the schema sees the whole document's components, so "#/components/..." resolves
        root = dict(schema, components=self.doc["components"])
        return jsonschema.Draft202012Validator(root)

    def find(self, method, path):
        """(template, operation or None); template None: no described path matches."""
        known = None
        for m, template, rx, op in self.ops:
            if rx.match(path):
                if m == method:
                    return template, op
                known = template
        return known, None

    def response_of(self, name):
        return self.doc["components"]["responses"][name]

    def check(self, method, path, status, headers, body):
        """Problems (a list of strings) of one answer against the description."""
        path = path.split("?", 1)[0]
        template, op = self.find(method, path)
        if op is not None:
            self.seen.setdefault((method, template), set()).add(status)
            resp = op["responses"].get(str(status))
            if resp is None:
                return [f"{method} {path}: status {status} is not described for "
                        f"{op['operationId']} (described: {', '.join(op['responses'])})"]
            where = op["operationId"]
        elif template is not None:
            # a described path asked with a method it does not take
            if status != 405:
                return [f"{method} {path}: a method the path does not take answered "
                        f"{status}, not 405"]
            resp, where = self.response_of("E405"), "405 (method not described)"
        else:
            if status != 404:
                return [f"{method} {path}: no described path, yet answered {status}, not 404"]
            resp, where = self.response_of("E404"), "404 (no such endpoint)"
        if "$ref" in resp:
            resp = self.response_of(resp["$ref"].rsplit("/", 1)[1])
        problems = []
        for name, h in resp.get("headers", {}).items():
            if h.get("required") and name.lower() not in headers:
                problems.append(f"{method} {path} {status} ({where}): no {name} header")
        content = resp.get("content")
        if not content:
            if body:
                problems.append(f"{method} {path} {status} ({where}): a body where none is described")
            return problems
        ctype = headers.get("content-type", "").split(";")[0].strip()
        if ctype not in content:
            return problems + [f"{method} {path} {status} ({where}): Content-Type {ctype!r} "
                               f"is not one of {list(content)}"]
        try:
            value = json.loads(body)
        except ValueError as e:
            return problems + [f"{method} {path} {status} ({where}): not JSON ({e}): {body[:200]!r}"]
        v = self.schema_validator(content[ctype]["schema"])
        for e in sorted(v.iter_errors(value), key=lambda e: list(e.absolute_path))[:5]:
            problems.append(f"{method} {path} {status} ({where}): at "
                            f"/{'/'.join(str(p) for p in e.absolute_path)}: {e.message[:300]}")
        return problems


# ---- the validating proxy -------------------------------------------------------------

class Proxy:
    """Forwards every request to the system and checks each answer against the
    description. Accept-Encoding is not passed on, so that bodies arrive plain."""

    def __init__(self, desc, upstream_host, upstream_port):
        self.desc = desc
        self.problems = []
        self.answers = 0
        self.errors = 0     # answers with status 400 or more
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def forward(self):
                n = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(n) if n else None
                hdrs = {k: v for k, v in self.headers.items()
                        if k.lower() not in ("host", "connection", "accept-encoding",
                                             "keep-alive", "proxy-connection")}
                conn = http.client.HTTPConnection(upstream_host, upstream_port, timeout=120)
                try:
                    conn.request(self.command, self.path, body=data, headers=hdrs)
                    r = conn.getresponse()
                    body = r.read()
                    rh = [(k, v) for k, v in r.getheaders()]
                    status = r.status
                finally:
                    conn.close()
                lower = {k.lower(): v for k, v in rh}
                plain = gzip.decompress(body) if lower.get("content-encoding") == "gzip" else body
                problems = proxy.desc.check(self.command, self.path, status, lower, plain)
                with proxy.lock:
                    proxy.answers += 1
                    proxy.errors += status >= 400
                    proxy.problems.extend(problems)
                self.send_response_only(status)
                for k, v in rh:
                    if k.lower() not in ("transfer-encoding", "connection", "content-length",
                                         "keep-alive"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = forward

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.server = Server(("127.0.0.1", T.free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# ---- static checks --------------------------------------------------------------------

def route_tables():
    """{(METHOD, template key): file} of every cv_route in cgi-bin/*.c."""
    routes = {}
    cdir = os.path.join(T.TOP, "cgi-bin")
    for name in sorted(os.listdir(cdir)):
        if not name.endswith(".c"):
            continue
        with open(os.path.join(cdir, name)) as f:
            text = f.read()
        for table in re.findall(r"cv_route\s+\w+\[\]\s*=\s*\{(.*?)\};", text, re.S):
            for method, path in re.findall(r'\{\s*"([A-Z]+)",\s*"(/[^"]*)"', table):
                routes[(method, template_key(path))] = name
    return routes


def static_checks(desc):
    doc = desc.doc
    described = {(m, route_key(t)) for m, t, _, _ in desc.ops}
    described_as = {(m, template_key(t)) for m, t, _, _ in desc.ops}
    routes = route_tables()
    check("the programs' route tables were read", len(routes) >= 20, len(routes))
    undocumented = sorted(f"{m} {p} ({f})" for (m, p), f in routes.items()
                          if (m, p) not in described and (m, p) not in INTERNAL)
    check("every route of cgi-bin/*.c is described (undocumented: "
          + (", ".join(undocumented) or "none") + ")", not undocumented, undocumented)
    per_election = sorted(f"{m} {election_key(p)}" for (m, p) in routes
                          if (m, p) not in INTERNAL and (m, p) not in INSTALLATION_WIDE
                          and (m, election_key(p)) not in described_as)
    check("every route of an election is described under /e/{slug}/ too (missing: "
          + (", ".join(per_election) or "none") + ")", not per_election, per_election)
    gen = subprocess.run([sys.executable, os.path.join(T.TOP, "tools", "dev", "openapi_elections.py"),
                          "--check"], capture_output=True, text=True, timeout=60)
    check("the per-election paths are those tools/dev/openapi_elections.py writes",
          gen.returncode == 0, (gen.stdout, gen.stderr))
    phantom = sorted(f"{m} {p}" for (m, p) in described
                     if (m, p) not in routes and p != "/api/openapi.json")
    check("every described operation is a route of a program (phantoms: "
          + (", ".join(phantom) or "none") + ")", not phantom, phantom)
    with open(os.path.join(T.TOP, "nginx.conf")) as f:
        conf = f.read()
    exact = re.findall(r"location\s*=\s*(/(?:admin/)?api/\S+)\s*\{", conf)
    missing = sorted(p for p in exact
                     if not any(template_key(p) == k for _, k in described))
    check("every exact /api/ location of nginx.conf is described (missing: "
          + (", ".join(missing) or "none") + ")", exact and not missing, (exact, missing))
    with open(os.path.join(T.TOP, "lib", "chain", "err.c")) as f:
        err_c = f.read()
    table = re.findall(r'\{"([a-z_0-9]+)",\s*(?:"(?:[^"\\]|\\.)*"\s*)+,\s*(\d+)\}', err_c)
    schemas = doc["components"]["schemas"]
    wrong = []
    for code, status in table:
        if status == "200":
            continue
        if code not in schemas["ErrorCode"]["enum"]:
            wrong.append(f"{code} is not an ErrorCode")
            continue
        enum = (schemas.get(f"Error{status}", {}).get("properties", {}).get("error", {})
                .get("properties", {}).get("code", {}).get("enum", []))
        if code not in enum:
            wrong.append(f"{code} is not among the codes of status {status}")
    check(f"every error code of lib/chain/err.c ({len(table)}) is described with its status",
          len(table) > 40 and not wrong, wrong)
    check("the description is OpenAPI 3.1", doc.get("openapi", "").startswith("3.1."),
          doc.get("openapi"))


# ---- the election ---------------------------------------------------------------------

SYS = None
PROXY = None


def http_(method, path, body=None, ctype="application/json", auth=None, raw=None, headers=None):
    return T.request(PROXY.url, method, path, body, ctype=ctype, auth=auth, raw=raw,
                     headers=headers)


def admin(method, path, body=None, **kw):
    return http_(method, path, body, auth=SYS.admin_auth(), **kw)


def cli(*args):
    return subprocess.run([T.CHAINVOTE, *args], capture_output=True, text=True, timeout=120)


def miner(*args):
    return subprocess.run([T.MINER, "--url", PROXY.url, "--once", "--threads", "2", *args],
                          capture_output=True, text=True, timeout=300)


def keygen(path):
    cli("keygen", "-o", path)
    with open(path) as f:
        return json.load(f)["public_key"]


def expect(what, r, *statuses):
    return check(f"{what} ({'/'.join(map(str, statuses))})", r.status in statuses, r)


def scenario(keys):
    url = PROXY.url
    r = http_("GET", "/api/openapi.json")
    with open(DOC_PATH, "rb") as f:
        expect("the description is served at /api/openapi.json", r, 200)
        check("it is the file www/api/openapi.json", r.body == f.read(), r.body[:80])
    expect("POST to the description is refused", http_("POST", "/api/openapi.json", {}), 405)

    # --- before any election
    r = http_("GET", "/api/elections")
    expect("the list of elections before any", r, 200)
    check("it lists none", (r.json or {}).get("elections") == [], r)
    expect("an archive before any election", admin("POST", "/admin/api/archive"), 404)
    for p in ("/api/election", "/api/results", "/api/blocks", "/api/pool", "/api/work",
              "/api/proposals", "/api/equivocations", "/api/chain/export"):
        expect(f"GET {p} with no election", http_("GET", p), 404, 409, 200)
    expect("admin: the election before it exists", admin("GET", "/admin/api/election"), 404)
    expect("admin without credentials", http_("GET", "/admin/api/election"), 401)
    expect("admin with a wrong password",
           http_("GET", "/admin/api/election", auth="admin:wrong"), 401)
    expect("a candidate before the election exists",
           admin("PUT", "/admin/api/candidates/1", {"name": "A"}), 404, 409)

    # --- set-up
    settings = {"title": "OpenAPI election", "threshold": 2, "difficulty": 8,
                "max_block_votes": 8, "opens": 0, "closes": 0, "results_after_close": False}
    expect("a new election needs a title", admin("PUT", "/admin/api/election", {"threshold": 2}), 400)
    expect("the election is created", admin("PUT", "/admin/api/election", settings), 201)
    expect("its settings change", admin("PUT", "/admin/api/election", {"difficulty": 8}), 200)
    expect("an unknown setting", admin("PUT", "/admin/api/election", {"colour": "red"}), 400)
    expect("settings that are not JSON",
           admin("PUT", "/admin/api/election", raw=b"title=x", ctype="text/plain"), 415)
    expect("settings that do not parse",
           admin("PUT", "/admin/api/election", raw=b'{"title":', ctype="application/json"), 400)
    expect("the admin's view in setup", admin("GET", "/admin/api/election"), 200)
    for cid, name in ((1, "Alder"), (2, "Birch"), (3, "Cedar"), (4, "Dogwood")):
        expect(f"candidate {cid} added", admin("PUT", f"/admin/api/candidates/{cid}", {"name": name}), 200)
    expect("candidate id 0", admin("PUT", "/admin/api/candidates/0", {"name": "Zero"}), 400)
    expect("a candidate without a name", admin("PUT", "/admin/api/candidates/5", {"name": ""}), 400)
    expect("candidate 4 removed", admin("DELETE", "/admin/api/candidates/4"), 200)
    expect("an unknown candidate removed", admin("DELETE", "/admin/api/candidates/99"), 404)
    validators = []
    for i in range(4):
        path = os.path.join(keys, f"validator-{i}.json")
        key = keygen(path)
        validators.append((path, key))
        expect(f"validator {i} added",
               admin("PUT", f"/admin/api/validators/{key}", {"name": f"Validator {i}"}), 200)
    expect("validator 3 removed", admin("DELETE", f"/admin/api/validators/{validators[3][1]}"), 200)
    expect("an unknown validator removed",
           admin("DELETE", f"/admin/api/validators/{validators[3][1]}"), 404)
    expect("a validator key off the curve",
           admin("PUT", "/admin/api/validators/04" + "00" * 64, {"name": "Off"}), 400)
    expect("a validator key that is not hex",
           admin("DELETE", "/admin/api/validators/xyz"), 400)

    r = admin("POST", "/admin/api/eligible",
              {"voters": [{"voter_id": "V001"}, {"voter_id": "V002", "code": "CODE-TWO-22"}]})
    expect("eligibility import (JSON)", r, 201)
    codes = {v["voter_id"]: v["code"] for v in (r.json or {}).get("voters", [])}
    expect("eligibility import (CSV) with a known id",
           admin("POST", "/admin/api/eligible", raw=b"V003\nV001\n", ctype="text/csv"), 201)
    expect("eligibility import with no entries", admin("POST", "/admin/api/eligible", {"voters": []}), 400)
    expect("eligibility import as text/plain",
           admin("POST", "/admin/api/eligible", raw=b"V004", ctype="text/plain"), 415)

    voters = []
    pub = keygen(os.path.join(keys, "voter-reg.json"))
    expect("registration with a wrong code",
           http_("POST", "/api/register", {"voter_id": "V001", "code": "wrong", "public_key": pub}), 403)
    expect("registration with the code", http_("POST", "/api/register",
           {"voter_id": "V001", "code": codes.get("V001", ""), "public_key": pub}), 201)
    voters.append(os.path.join(keys, "voter-reg.json"))
    pub2 = keygen(os.path.join(keys, "voter-reg2.json"))
    expect("a second registration of the same key", http_("POST", "/api/register",
           {"voter_id": "V002", "code": "CODE-TWO-22", "public_key": pub}), 409, 403)
    expect("registration with a missing field",
           http_("POST", "/api/register", {"voter_id": "V002", "public_key": pub2}), 400)
    expect("registration that is not JSON",
           http_("POST", "/api/register", raw=b"voter_id=V002", ctype="application/x-www-form-urlencoded"), 415)
    expect("registration larger than nginx takes",
           http_("POST", "/api/register", raw=b"[" + b"1," * 4000 + b"1]"), 413)

    recovery(keys, pub)

    extra = []
    for i in range(5):
        path = os.path.join(keys, f"voter-{i}.json")
        extra.append(keygen(path))
        voters.append(path)
    expect("keys put on the roll (JSON)", admin("POST", "/admin/api/voters", {"keys": extra[:4]}), 201)
    expect("keys put on the roll (CSV), one known",
           admin("POST", "/admin/api/voters", raw=(extra[3] + "\n" + extra[4] + "\n").encode(),
                 ctype="text/csv"), 201)
    expect("a key off the curve on the roll",
           admin("POST", "/admin/api/voters", {"keys": ["04" + "00" * 64]}), 422, 400)

    for p in ("/api/election", "/api/results", "/api/blocks", "/api/pool"):
        expect(f"GET {p} in setup", http_("GET", p), 200)
    for p in ("/api/work", "/api/proposals", "/api/chain/export", "/api/proposals/" + "ab" * 32):
        expect(f"GET {p} in setup", http_("GET", p), 409)
    expect("a voter lookup in setup", http_("GET", f"/api/voters/{extra[0]}"), 200)

    expect("the election opens", admin("POST", "/admin/api/open"), 200)
    expect("it opens only once", admin("POST", "/admin/api/open"), 409)
    expect("registration after opening", http_("POST", "/api/register",
           {"voter_id": "V002", "code": "CODE-TWO-22", "public_key": pub2}), 409)
    expect("a candidate after opening", admin("PUT", "/admin/api/candidates/9", {"name": "Late"}), 409)
    expect("a validator removed after opening",
           admin("DELETE", f"/admin/api/validators/{validators[0][1]}"), 409)
    expect("settings after opening", admin("PUT", "/admin/api/election", {"difficulty": 9}), 409)
    expect("eligibility after opening", admin("POST", "/admin/api/eligible", {"voters": [{"voter_id": "V9"}]}), 409)
    expect("the roll after opening", admin("POST", "/admin/api/voters", {"keys": [pub2]}), 409)
    r = admin("POST", "/admin/api/eligible/revoke", {"voter_id": "V001"})
    expect("a revocation after opening", r, 409)
    check("it answers bad_state", r.code == "bad_state", r)
    expect("a reissue after opening", admin("POST", "/admin/api/eligible/reissue", {"voter_id": "V002"}), 409)
    r = http_("GET", "/api/election")
    expect("the open election", r, 200)
    election_id = (r.json or {}).get("genesis_hash") or "00" * 32

    # --- votes (the CLI through the proxy)
    txids = []
    for path, cand in zip(voters[:5], [1, 2, 1, 3, 1]):
        out = cli("vote", "--url", url, "--key", path, "--candidate", str(cand))
        ok = out.returncode == 0 and out.stdout.strip() != ""
        check(f"vote for {cand} accepted", ok, (out.stdout, out.stderr))
        if ok:
            txids.append(out.stdout.strip().split()[-1])
    out = cli("vote", "--url", url, "--key", voters[0], "--candidate", "2")
    check("a second vote is refused", out.returncode != 0 and "already_voted" in out.stdout + out.stderr,
          (out.stdout, out.stderr))
    forged = {"election_id": election_id, "voter_key": pub2, "candidate_id": 1,
              "timestamp": 1, "signature": "11" * 64}
    expect("a vote by a key not on the roll", http_("POST", "/api/votes", forged), 403, 422)
    expect("a vote with an unknown key", http_("POST", "/api/votes", dict(forged, colour=1)), 400)
    expect("a vote that does not parse", http_("POST", "/api/votes", raw=b'{"election_id":'), 400)
    expect("a vote larger than nginx takes", http_("POST", "/api/votes", raw=b"x" * 70000), 413)
    expect("a vote that is not JSON", http_("POST", "/api/votes", raw=b"{}", ctype="text/plain"), 415)
    if txids:
        expect("a pending vote", http_("GET", f"/api/votes/{txids[0]}"), 200)
    expect("an unknown txid", http_("GET", "/api/votes/" + "ab" * 32), 404)
    expect("a txid that is not hex", http_("GET", "/api/votes/xyz"), 400)
    expect("the pool", http_("GET", "/api/pool?limit=3"), 200)
    expect("the pool with limit 0", http_("GET", "/api/pool?limit=0"), 400)
    r = http_("GET", "/api/cluster")
    expect("the node's replication group", r, 200)
    check("one machine is not replicated",
          (r.json or {}).get("replicated") is False and r.json.get("role") == "single", r)
    with open(voters[0]) as f:
        voter0 = json.load(f)["public_key"]
    expect("a voter with a pending vote", http_("GET", f"/api/voters/{voter0}"), 200)
    expect("a voter key that is not hex", http_("GET", "/api/voters/04zz"), 400)

    # --- mining and validation
    expect("the work template", http_("GET", "/api/work"), 200)
    out = miner("--max-votes", "1")
    check("the miner posts a one-vote proposal", out.returncode == 0, (out.stdout, out.stderr))
    out = miner()
    check("the miner posts a full proposal", out.returncode == 0, (out.stdout, out.stderr))
    r = http_("GET", "/api/proposals")
    expect("the proposals", r, 200)
    props = (r.json or {}).get("proposals", [])
    full = [p["hash"] for p in props if p["n_votes"] == len(txids)]
    rival = [p["hash"] for p in props if p["n_votes"] == 1]
    if not check("two rival proposals", full and rival, props):
        return
    full, rival = full[0], rival[0]
    r = http_("GET", f"/api/votes/{txids[0]}")
    expect("a pending vote in a proposal", r, 200)
    held = [p["hash"] for p in (r.json or {}).get("proposals", [])]
    check("it names the proposal that holds it and the threshold",
          full in held and (r.json or {}).get("threshold") == 2, r)
    expect("a proposal", http_("GET", f"/api/proposals/{full}"), 200)
    expect("a proposal hash that is not hex", http_("GET", "/api/proposals/xyz"), 400)
    expect("an unknown proposal", http_("GET", "/api/proposals/" + "cd" * 32), 404)
    r = http_("GET", f"/api/proposals/{full}")
    block = dict((r.json or {}).get("block", {}))
    expect("the same block proposed again", http_("POST", "/api/blocks", dict(block, approvals=[])), 409)
    expect("a proposal carrying approvals", http_("POST", "/api/blocks", dict(block, approvals=[
        {"validator_key": validators[0][1], "signature": "11" * 64}])), 400)
    expect("a block that does not parse", http_("POST", "/api/blocks", raw=b"[1,2"), 400)
    expect("a block with a broken merkle root",
           http_("POST", "/api/blocks", dict(block, approvals=[], merkle_root="00" * 32)), 422)
    expect("a block as text/plain", http_("POST", "/api/blocks", raw=b"{}", ctype="text/plain"), 415)

    outsider = os.path.join(keys, "outsider.json")
    outsider_key = keygen(outsider)
    out = cli("approve", "--url", url, "--key", outsider, full)
    check("an outsider's approval is refused", out.returncode != 0, (out.stdout, out.stderr))
    expect("an approval with a bad signature",
           http_("POST", f"/api/proposals/{full}/approvals",
                 {"validator_key": validators[0][1], "signature": "11" * 64}), 422)
    expect("an approval that is not the shape",
           http_("POST", f"/api/proposals/{full}/approvals", {"validator_key": "zz", "signature": "00"}), 400)
    expect("an approval of an unknown proposal",
           http_("POST", "/api/proposals/" + "cd" * 32 + "/approvals",
                 {"validator_key": validators[0][1], "signature": "11" * 64}), 404, 422)
    expect("an approval by a key that is no validator",
           http_("POST", f"/api/proposals/{full}/approvals",
                 {"validator_key": outsider_key, "signature": "11" * 64}), 403)
    expect("a rejection that is not the shape",
           http_("POST", f"/api/proposals/{rival}/rejections", {"validator_key": validators[2][1]}), 400)
    out = cli("reject", "--url", url, "--key", validators[2][0], "--reason", "fewer votes", rival)
    check("a validator rejects the rival", out.returncode == 0, (out.stdout, out.stderr))
    out = cli("reject", "--url", url, "--key", validators[2][0], "--reason", "again", rival)
    # the service answers 409 duplicate_approval (the proxy checks it); the CLI, like the
    # daemon resending a verdict whose answer was lost, reports it recorded already
    check("a second verdict is not recorded again",
          "recorded already" in out.stdout + out.stderr, (out.stdout, out.stderr))
    expect("the rival with its rejection", http_("GET", f"/api/proposals/{rival}"), 200)
    out = cli("approve", "--url", url, "--key", validators[0][0], full)
    check("the first approval", out.returncode == 0, (out.stdout, out.stderr))
    out = cli("approve", "--url", url, "--key", validators[0][0], rival)
    check("an equivocation is refused", out.returncode != 0, (out.stdout, out.stderr))
    expect("a proposal with its approval", http_("GET", f"/api/proposals/{full}"), 200)
    expect("the equivocations", http_("GET", "/api/equivocations"), 200)
    out = cli("approve", "--url", url, "--key", validators[1][0], full)
    check("the second approval commits", out.returncode == 0, (out.stdout, out.stderr))

    # --- changes of the parameters (for a block far ahead, so the work stays votes)
    r = http_("GET", "/api/election")
    far = (r.json or {}).get("tip_height", 0) + 50
    r = admin("POST", "/admin/api/changes", {"kind": "difficulty", "difficulty": 3, "height": far})
    expect("the admin drafts a change", r, 201)
    draft = (r.json or {}).get("id", "00" * 32)
    expect("a draft of no kind", admin("POST", "/admin/api/changes", {"kind": "other"}), 400)
    expect("a draft for a height passed",
           admin("POST", "/admin/api/changes", {"kind": "difficulty", "difficulty": 3, "height": 1}), 409)
    expect("a draft of closes before the genesis",
           admin("POST", "/admin/api/changes", {"kind": "closes", "closes": 1, "height": far}), 422)
    out = cli("change", "sign", "--url", url, "--key", validators[0][0], draft)
    check("a validator signs the draft", out.returncode == 0, (out.stdout, out.stderr))
    expect("the changes with their signers", http_("GET", "/api/changes"), 200)
    expect("a signature over other bytes",
           http_("POST", f"/api/changes/{draft}/signatures",
                 {"validator_key": validators[1][1], "signature": "11" * 64}), 422)
    expect("a signature of an unknown change",
           http_("POST", "/api/changes/" + "cd" * 32 + "/signatures",
                 {"validator_key": validators[1][1], "signature": "11" * 64}), 404)
    expect("a change id that is not hex",
           http_("POST", "/api/changes/xyz/signatures",
                 {"validator_key": validators[1][1], "signature": "11" * 64}), 400)
    expect("a change that does not parse", http_("POST", "/api/changes", raw=b"{"), 400)
    r = http_("GET", "/api/election")
    expect("a change with no signature",
           http_("POST", "/api/changes", {"election_id": (r.json or {}).get("genesis_hash"),
                                          "effective_height": far + 1, "kind": "difficulty",
                                          "difficulty": 5, "signatures": []}), 422)

    # --- the chain
    expect("the last blocks", http_("GET", "/api/blocks"), 200)
    expect("blocks from the genesis", http_("GET", "/api/blocks?from=0&limit=2"), 200)
    expect("blocks with limit 0", http_("GET", "/api/blocks?limit=0"), 400)
    expect("the genesis block", http_("GET", "/api/blocks/0"), 200)
    r = http_("GET", f"/api/blocks/{full}")
    expect("block 1 by hash", r, 200)
    expect("block 1 again, not modified",
           http_("GET", f"/api/blocks/{full}", headers={"If-None-Match": f'"{full}"'}), 304)
    expect("a block not committed", http_("GET", "/api/blocks/99"), 404)
    expect("a block id that is neither", http_("GET", "/api/blocks/xyz"), 400)
    expect("a committed block proposed again", http_("POST", "/api/blocks", dict(block, approvals=[])), 409)
    r = http_("GET", "/api/chain/export")
    expect("the export", r, 200)
    etag = r.header("etag") or '"x"'
    expect("the export again, not modified",
           http_("GET", "/api/chain/export", headers={"If-None-Match": etag}), 304)
    expect("the export's internal location from outside",
           http_("GET", "/api/chain/export/" + full), 404)
    for t in txids:
        out = cli("receipt", "--url", url, t)
        check(f"receipt {t[:8]} verifies", out.returncode == 0, (out.stdout, out.stderr))
    expect("a committed vote", http_("GET", f"/api/votes/{txids[0]}"), 200)
    expect("a voter with a committed vote", http_("GET", f"/api/voters/{voter0}"), 200)
    expect("a key not on the roll", http_("GET", f"/api/voters/{outsider_key}"), 200)
    r = http_("GET", "/api/results")
    expect("the results", r, 200)
    res = r.json or {}
    # six keys on the roll (V001's and five imported), two entries never registered
    check("the electorate counts the roll and the unregistered entries; turnout is over it",
          (res.get("roll_size"), res.get("electorate"), res.get("turnout")) == (6, 8, 0.625), res)
    r = admin("GET", "/admin/api/eligible")
    expect("the eligibility entries after the votes", r, 200)
    entries = {v["voter_id"]: v for v in (r.json or {}).get("voters", [])}
    check("V001 has voted, with its vote's txid",
          entries.get("V001", {}).get("state") == "voted" and entries["V001"].get("txid") == txids[0], r)
    expect("the empty pool's work", http_("GET", "/api/work"), 200)

    # --- the close and the seal
    expect("the election closes", admin("POST", "/admin/api/close"), 200)
    expect("it closes only once", admin("POST", "/admin/api/close"), 409)
    out = cli("vote", "--url", url, "--key", voters[5], "--candidate", "1")
    check("a vote after the close is refused", out.returncode != 0, (out.stdout, out.stderr))
    expect("the seal's work", http_("GET", "/api/work"), 200)
    out = miner()
    check("the miner posts the seal block", out.returncode == 0, (out.stdout, out.stderr))
    r = http_("GET", "/api/proposals")
    seal = [p["hash"] for p in (r.json or {}).get("proposals", [])]
    if check("the seal block is proposed", len(seal) == 1, r):
        expect("the seal proposal", http_("GET", f"/api/proposals/{seal[0]}"), 200)
        for path, _ in validators[:2]:
            out = cli("approve", "--url", url, "--key", path, seal[0])
            check("an approval of the seal", out.returncode == 0, (out.stdout, out.stderr))
    r = http_("GET", "/api/election")
    check("the election is final", r.status == 200 and (r.json or {}).get("final") is True, r)
    expect("no work after the seal", http_("GET", "/api/work"), 409)
    expect("the final results", http_("GET", "/api/results"), 200)
    expect("the final export", http_("GET", "/api/chain/export"), 200)
    expect("the admin's view at the end", admin("GET", "/admin/api/election"), 200)
    out = subprocess.run([T.CHAINVOTE, "verify", url], capture_output=True, text=True, timeout=120)
    check("chainvote verify accepts the export", out.returncode == 0, (out.stdout, out.stderr))

    elections(keys, url)
    ceremony(keys, url)

    # --- routes and methods that do not exist
    expect("an unknown endpoint", http_("GET", "/api/nothing"), 404)
    expect("an unknown admin endpoint", admin("GET", "/admin/api/nothing"), 404)
    expect("a path below a vote", http_("GET", f"/api/votes/{txids[0]}/more"), 404)
    expect("DELETE of the votes", http_("DELETE", "/api/votes"), 405)
    expect("PUT of the election", http_("PUT", "/api/election", {}), 405)
    expect("GET of an approval list", http_("GET", f"/api/proposals/{full}/approvals"), 405)
    expect("PATCH of the results", http_("PATCH", "/api/results", {}), 405)
    expect("DELETE of the roll", admin("DELETE", "/admin/api/voters"), 405)

    expect("nginx's auth_request location from outside", http_("GET", "/_auth/admin"), 404)
    sign_in()

    # --- nginx's rate limit on registrations (last: it holds for a while)
    statuses = [http_("POST", "/api/register", {"voter_id": "V9", "code": "C", "public_key": pub2}).status
                for _ in range(30)]
    check("registrations beyond the rate are refused (429)", 429 in statuses, statuses)


def recovery(keys, pub):
    """Voter recovery in set-up: the entries with their states and counts (paged), a
    code reissued, a key revoked, and each refusal (V001 registered with pub, V002 and
    V003 unused)."""
    r = admin("GET", "/admin/api/eligible")
    expect("the eligibility entries with their states", r, 200)
    got = r.json or {}
    check("V001 registered with its key, V002 and V003 unused",
          [(v["voter_id"], v["state"], v.get("public_key")) for v in got.get("voters", [])]
          == [("V001", "registered", pub), ("V002", "unused", None), ("V003", "unused", None)]
          and got.get("next") is None, r)
    check("the counts per state", got.get("counts") ==
          {"eligible": 3, "unused": 2, "registered": 1, "voted": 0}, r)
    r = admin("GET", "/admin/api/eligible?limit=1")
    expect("a page of one entry", r, 200)
    check("it names the next page", (r.json or {}).get("next") == "V001", r)
    r = admin("GET", "/admin/api/eligible?after=V001&limit=5")
    expect("the page after V001", r, 200)
    check("it holds V002 and V003, the last page",
          [v["voter_id"] for v in (r.json or {}).get("voters", [])] == ["V002", "V003"]
          and (r.json or {}).get("next") is None, r)
    expect("a page of no entries", admin("GET", "/admin/api/eligible?limit=0"), 400)
    expect("a page after an id with a line break", admin("GET", "/admin/api/eligible?after=a%0Ab"), 400)

    reissue, revoke = "/admin/api/eligible/reissue", "/admin/api/eligible/revoke"
    r = admin("POST", reissue, {"voter_id": "V003"})
    expect("a new code for an unused entry", r, 200)
    code3 = (r.json or {}).get("code", "")
    r = admin("POST", reissue, {"voter_id": "V001"})
    expect("a new code for a registered voter", r, 409)
    check("it answers registered", r.code == "registered", r)
    r = admin("POST", reissue, {"voter_id": "V003", "code": "1234"})
    expect("a weak code", r, 422)
    check("it answers weak_code", r.code == "weak_code", r)
    expect("a new code for an unknown voter", admin("POST", reissue, {"voter_id": "V404"}), 404)
    expect("a reissue that is not the shape", admin("POST", reissue, {"voter": "V003"}), 400)
    expect("a reissue as text/plain", admin("POST", reissue, raw=b"V003", ctype="text/plain"), 415)
    r = admin("POST", revoke, {"voter_id": "V003"})
    expect("a revocation of a voter not registered", r, 409)
    check("it answers not_registered", r.code == "not_registered", r)
    pub3 = keygen(os.path.join(keys, "voter-reg3.json"))
    expect("a registration with the reissued code", http_("POST", "/api/register",
           {"voter_id": "V003", "code": code3, "public_key": pub3}), 201)
    r = admin("POST", revoke, {"voter_id": "V003", "code": "NEWCODE-3333-XYZ"})
    expect("the registered key revoked, with the administrator's code", r, 200)
    check("it names the revoked key and the new code", (r.json or {}).get("revoked_key") == pub3
          and (r.json or {}).get("code") == "NEWCODE-3333-XYZ", r)
    r = http_("POST", "/api/register", {"voter_id": "V003", "code": code3, "public_key": pub3})
    expect("a registration with the code before the revocation", r, 403)
    r = admin("GET", "/admin/api/eligible")
    check("V003 is unused again", [v["state"] for v in (r.json or {}).get("voters", [])]
          == ["registered", "unused", "unused"], r)


def sign_in():
    """The admin's sign-in through the proxy (a recovery code of the demo admin, so that
    no TOTP step the System signs in with is spent), its refusals, the sign-out, a new
    authenticator secret, and the lock-out after failures in a row. Last of the admin's
    calls: the rotation leaves the demo's secret file behind (it is written again) and
    the lock-out holds for 30 s."""
    with open(os.path.join(SYS.data, "demo", "admin-recovery-codes")) as f:
        codes = f.read().split()
    creds = {"user": "admin", "password": SYS.password()}
    r = http_("POST", "/admin/api/session", dict(creds, code=codes[0]))
    expect("a sign-in with a recovery code", r, 201)
    check("it sets the cookie; nine recovery codes left", T.session_cookie(r) is not None
          and (r.json or {}).get("recovery_codes_left") == 9, r)
    cookie = {"Cookie": f"cv_admin={T.session_cookie(r)}"}
    expect("the admin API with that session", http_("GET", "/admin/api/election", headers=cookie), 200)
    r = http_("POST", "/admin/api/session", dict(creds, code=codes[0]))
    expect("the same recovery code again", r, 401)
    check("it answers bad_credentials", r.code == "bad_credentials", r)
    r = http_("POST", "/admin/api/session", dict(creds, password="wrong", code=codes[1]))
    expect("a sign-in with a wrong password", r, 401)
    expect("a sign-in without a code", http_("POST", "/admin/api/session", creds), 400)
    expect("a sign-in as a form", http_("POST", "/admin/api/session", raw=b"user=admin",
                                        ctype="application/x-www-form-urlencoded"), 415)
    expect("a sign-in larger than nginx takes",
           http_("POST", "/admin/api/session", dict(creds, code="x" * 5000)), 413)
    expect("GET of the session", http_("GET", "/admin/api/session"), 405)
    r = http_("DELETE", "/admin/api/session", headers=cookie)
    expect("the sign-out", r, 200)
    check("it removes the cookie", "Max-Age=0" in (r.header("set-cookie") or ""), r.headers)
    r = http_("GET", "/admin/api/election", headers=cookie)
    expect("the admin API with the ended session", r, 401)
    check("it answers unauthorized", r.code == "unauthorized", r)
    expect("a sign-out without a session", http_("DELETE", "/admin/api/session"), 200)
    expect("a new secret without a session", http_("POST", "/admin/api/mfa/rotate"), 401)

    # a new authenticator secret: waits until a code of it is confirmed
    r = admin("POST", "/admin/api/mfa/rotate")
    expect("a new authenticator secret", r, 200)
    new = (r.json or {}).get("secret", "")
    r = admin("POST", "/admin/api/mfa/confirm", {"code": T.totp(SYS.totp_secret())})
    expect("a confirmation with a code of the old secret", r, 422)
    check("it answers bad_code", r.code == "bad_code", r)
    expect("a confirmation that is not the shape", admin("POST", "/admin/api/mfa/confirm", {"code": 1}), 400)
    r = admin("POST", "/admin/api/mfa/confirm", {"code": T.totp(new)})
    expect("a confirmation with a code of the new secret", r, 200)
    check("it answers the new secret and ten new recovery codes",
          (r.json or {}).get("secret") == new and len((r.json or {}).get("recovery_codes", [])) == 10, r)
    with open(os.path.join(SYS.data, "demo", "admin-totp"), "w") as f:
        f.write(new + "\n")   # as the admin's app would: the System signs in with it

    # failures in a row lock the sign-in
    r = None
    for _ in range(8):
        r = http_("POST", "/admin/api/session", dict(creds, code="not-a-code"))
        if r.status != 401:
            break
    expect("failed sign-ins in a row end locked", r, 429)
    check("it answers locked with Retry-After",
          r.code == "locked" and (r.header("retry-after") or "").isdigit(), (r, r.headers))


def elections(keys, url):
    """Other elections beside the default one (sealed by now): creation and its
    refusals, the list, a second election set up, opened and voted in through every
    operation of its /api/e/{slug}/ and /admin/api/e/{slug}/ paths, archiving and its
    refusals, unknown slugs."""
    r = http_("GET", "/api/elections")
    expect("the list with the default election", r, 200)
    listed = (r.json or {}).get("elections", [])
    check("it lists the default election, final", [(e["slug"], e["final"]) for e in listed]
          == [("default", True)], listed)

    # creation and its refusals
    r = admin("POST", "/admin/api/elections", {"slug": "second", "title": "Second", "difficulty": 1})
    expect("a second election created", r, 201)
    check("it answers its slug, in setup", (r.json or {}).get("slug") == "second"
          and (r.json or {}).get("state") == "setup", r)
    for bad in ("Second", "a_b", "", "x" * 33, "e/x"):
        expect(f"a new election with the slug {bad!r}",
               admin("POST", "/admin/api/elections", {"slug": bad, "title": "T"}), 400)
    expect("a new election without a slug", admin("POST", "/admin/api/elections", {"title": "T"}), 400)
    expect("a new election without a title", admin("POST", "/admin/api/elections", {"slug": "third"}), 400)
    expect("a new election with an unknown setting",
           admin("POST", "/admin/api/elections", {"slug": "third", "title": "T", "colour": 1}), 400)
    expect("a slug taken", admin("POST", "/admin/api/elections", {"slug": "second", "title": "T"}), 409)
    expect("the default election's slug",
           admin("POST", "/admin/api/elections", {"slug": "default", "title": "T"}), 409)
    expect("a new election as text/plain",
           admin("POST", "/admin/api/elections", raw=b"slug=x", ctype="text/plain"), 415)
    expect("a new election without credentials",
           http_("POST", "/admin/api/elections", {"slug": "third", "title": "T"}), 401)
    # registered, then refused its settings: listed as "new" until given good ones
    expect("a new election with a threshold of 1",
           admin("POST", "/admin/api/elections", {"slug": "third", "title": "T", "threshold": 1}), 422)
    r = http_("GET", "/api/elections")
    expect("the list with an election half-created", r, 200)
    states = {e["slug"]: e["state"] for e in (r.json or {}).get("elections", [])}
    check("it lists default, second in setup and third new",
          states == {"default": "closed", "second": "setup", "third": "new"}, states)
    expect("the half-created election given its settings",
           admin("POST", "/admin/api/elections", {"slug": "third", "title": "Third"}), 201)

    # the second election through its own paths
    E, A = "/api/e/second", "/admin/api/e/second"
    expect("its admin view", admin("GET", f"{A}/election"), 200)
    expect("the replication group under its paths", http_("GET", f"{E}/cluster"), 200)
    expect("its settings changed", admin("PUT", f"{A}/election", {"threshold": 2}), 200)
    for cid, name in ((1, "Oak"), (2, "Pine"), (3, "Yew")):
        expect(f"its candidate {cid}", admin("PUT", f"{A}/candidates/{cid}", {"name": name}), 200)
    expect("its candidate 3 removed", admin("DELETE", f"{A}/candidates/3"), 200)
    vals = []
    for i in range(3):
        path = os.path.join(keys, f"second-validator-{i}.json")
        vals.append((path, keygen(path)))
        expect(f"its validator {i}", admin("PUT", f"{A}/validators/{vals[-1][1]}", {"name": f"S{i}"}), 200)
    expect("its validator 2 removed", admin("DELETE", f"{A}/validators/{vals[2][1]}"), 200)
    expect("its eligibility import", admin("POST", f"{A}/eligible", {"voters": [{"voter_id": "S1"}]}), 201)
    r = admin("GET", f"{A}/eligible?limit=5")
    expect("its eligibility entries", r, 200)
    check("it lists S1, unused", [(v["voter_id"], v["state"]) for v in (r.json or {}).get("voters", [])]
          == [("S1", "unused")], r)
    expect("a code reissued in it", admin("POST", f"{A}/eligible/reissue", {"voter_id": "S1"}), 200)
    r = admin("POST", f"{A}/eligible/revoke", {"voter_id": "S1"})
    expect("a revocation in it of a voter not registered", r, 409)
    check("it answers not_registered", r.code == "not_registered", r)
    voter = os.path.join(keys, "second-voter.json")
    voter_key = keygen(voter)
    expect("its roll", admin("POST", f"{A}/voters", {"keys": [voter_key]}), 201)
    expect("a registration in it with a wrong code", http_("POST", f"{E}/register",
           {"voter_id": "S1", "code": "wrong", "public_key": keygen(os.path.join(keys, "s2.json"))}), 403)
    for p in ("election", "results", "blocks", "pool", "equivocations", f"voters/{voter_key}"):
        expect(f"GET {E}/{p} in setup", http_("GET", f"{E}/{p}"), 200)
    for p in ("work", "proposals", "chain/export", "proposals/" + "ab" * 32):
        expect(f"GET {E}/{p} in setup", http_("GET", f"{E}/{p}"), 409)
    expect("its election opens", admin("POST", f"{A}/open"), 200)
    r = http_("GET", f"{E}/election")
    expect("it is open", r, 200)
    check("it is open, not archived",
          (r.json or {}).get("state") == "open" and (r.json or {}).get("archived") is False, r)
    out = cli("vote", "--url", url, "--election", "second", "--key", voter, "--candidate", "2")
    ok = out.returncode == 0 and out.stdout.strip() != ""
    check("a vote in it by the CLI (--election)", ok, (out.stdout, out.stderr))
    txid = out.stdout.strip().split()[-1] if ok else "ab" * 32
    expect("its pending vote", http_("GET", f"{E}/votes/{txid}"), 200)
    expect("its vote in the default election", http_("GET", f"/api/votes/{txid}"), 404)
    expect("a vote in it that does not parse", http_("POST", f"{E}/votes", raw=b'{"x":'), 400)
    expect("its work", http_("GET", f"{E}/work"), 200)
    expect("a block to it that does not parse", http_("POST", f"{E}/blocks", raw=b"[1"), 400)
    r = admin("POST", f"{A}/changes", {"kind": "closes", "closes": 4102444800, "height": 40})
    expect("a change drafted in it", r, 201)
    draft = (r.json or {}).get("id", "00" * 32)
    out = cli("change", "sign", "--url", url, "--election", "second", "--key", vals[0][0], draft)
    check("its validator signs the draft (--election)", out.returncode == 0, (out.stdout, out.stderr))
    expect("its changes", http_("GET", f"{E}/changes"), 200)
    expect("a signature in it over other bytes", http_(
        "POST", f"{E}/changes/{draft}/signatures", {"validator_key": vals[1][1],
                                                     "signature": "11" * 64}), 422)
    expect("a change to it that does not parse", http_("POST", f"{E}/changes", raw=b"[1"), 400)
    out = miner("--election", "second")
    check("the miner (--election) proposes its block", out.returncode == 0, (out.stdout, out.stderr))
    r = http_("GET", f"{E}/proposals")
    expect("its proposals", r, 200)
    props = [p["hash"] for p in (r.json or {}).get("proposals", [])]
    prop = props[0] if props else "cd" * 32
    expect("its proposal", http_("GET", f"{E}/proposals/{prop}"), 200)
    expect("a rejection in it that is not the shape",
           http_("POST", f"{E}/proposals/{prop}/rejections", {"validator_key": vals[0][1]}), 400)
    expect("an approval in it by the default election's validator", http_(
        "POST", f"{E}/proposals/{prop}/approvals", {"validator_key": "04" + "11" * 64,
                                                     "signature": "11" * 64}), 400, 403)
    for path, _ in vals[:2]:
        out = cli("approve", "--url", url, "--election", "second", "--key", path, prop)
        check("an approval in it (--election)", out.returncode == 0, (out.stdout, out.stderr))
    expect("its block 1", http_("GET", f"{E}/blocks/1"), 200)
    expect("its export", http_("GET", f"{E}/chain/export"), 200)
    expect("its committed vote", http_("GET", f"{E}/votes/{txid}"), 200)
    expect("its results", http_("GET", f"{E}/results"), 200)
    expect("an open election is not archived", admin("POST", f"{A}/archive"), 409)
    expect("its election closes", admin("POST", f"{A}/close"), 200)
    expect("a closed election, not sealed, is not archived", admin("POST", f"{A}/archive"), 409)

    # archiving: a draft and a sealed election; then nothing in them changes
    T3 = "/admin/api/e/third"
    expect("a draft archived", admin("POST", f"{T3}/archive"), 200)
    r = admin("POST", f"{T3}/archive")
    expect("it is archived only once", r, 409)
    check("the second archive answers archived",
          ((r.json or {}).get("error") or {}).get("code") == "archived", r)
    expect("a candidate of an archived draft", admin("PUT", f"{T3}/candidates/1", {"name": "A"}), 409)
    expect("the settings of an archived draft", admin("PUT", f"{T3}/election", {"title": "New"}), 409)
    expect("an archived draft cannot open", admin("POST", f"{T3}/open"), 409)
    expect("the sealed default election archived", admin("POST", "/admin/api/archive"), 200)
    r = http_("GET", "/api/election")
    expect("the archived default election", r, 200)
    check("it says archived", (r.json or {}).get("archived") is True, r)
    r = http_("GET", "/api/elections")
    expect("the list at the end", r, 200)
    got = {e["slug"]: (e["state"], e["archived"]) for e in (r.json or {}).get("elections", [])}
    check("it lists each election's state and archive", got == {
        "default": ("closed", True), "second": ("closed", False), "third": ("setup", True)}, got)

    # slugs that name no election
    expect("an unknown slug", http_("GET", "/api/e/nope/election"), 404)
    expect("an unknown slug (admin)", admin("GET", "/admin/api/e/nope/election"), 404)
    expect("a new election's paths, unknown slug", admin("POST", "/admin/api/e/nope/open"), 404)
    expect("a slug breaking the rule", http_("GET", "/api/e/No_Such/results"), 404)
    expect("a slug breaking the rule (admin)", admin("GET", "/admin/api/e/No_Such/election"), 404)
    expect("an election's unknown endpoint", http_("GET", f"{E}/nothing"), 404)
    expect("DELETE of an election's votes", http_("DELETE", f"{E}/votes"), 405)


def ceremony(keys, url):
    """A secret election's key ceremony through every /api/ceremony operation, plain
    (the default election, open ballots: refusals) and under /api/e/{slug}/ (the whole
    ceremony by `chainvote trustee`, a reset, the open, a vote refused)."""
    r = http_("GET", "/api/ceremony")
    expect("the default election's ceremony", r, 200)
    check("it says ballots open", (r.json or {}).get("ballots") == "open", r)
    pub = keygen(os.path.join(keys, "ceremony-probe.json"))
    entry = {"setup_hash": "00" * 32, "validator_key": pub, "commitments": [pub, pub],
             "proofs": [{"c": "01" * 32, "v": "01" * 32}] * 2, "signature": "11" * 64}
    expect("a trustee entry with bad proofs", http_("POST", "/api/ceremony/entries", entry),
           422)
    expect("a trustee entry that is not the shape",
           http_("POST", "/api/ceremony/entries", {"x": 1}), 400)
    share = {"setup_hash": "00" * 32, "sender": pub, "recipient": pub, "ephemeral": pub,
             "nonce": "00" * 12, "ciphertext": "00" * 32, "tag": "00" * 16,
             "signature": "11" * 64}
    expect("a sealed share with a bad signature", http_("POST", "/api/ceremony/shares", share),
           422)
    expect("the shares addressed to a key", http_("GET", f"/api/ceremony/shares/{pub}"), 200)
    expect("the shares addressed to no key", http_("GET", "/api/ceremony/shares/zz"), 400)
    chk = {"setup_hash": "00" * 32, "trustee": pub, "sender": pub, "good": True,
           "signature": "11" * 64}
    expect("a share check with a bad signature", http_("POST", "/api/ceremony/checks", chk), 422)
    expect("a reset of an open election's ceremony",
           admin("POST", "/admin/api/ceremony/reset"), 409)
    expect("a decryption share that is not the shape",
           http_("POST", "/api/decryptions", {"x": 1}), 400)

    E, A = "/api/e/secret", "/admin/api/e/secret"
    r = admin("POST", "/admin/api/elections",
              {"slug": "secret", "title": "Secret", "difficulty": 1, "ballots": "secret",
               "quorum": 2})
    expect("a secret election created", r, 201)
    expect("its candidate", admin("PUT", f"{A}/candidates/1", {"name": "Oak"}), 200)
    trustees = []
    for i in range(2):
        path = os.path.join(keys, f"trustee-{i}.json")
        trustees.append((path, keygen(path), os.path.join(keys, f"trustee-{i}.secret")))
        expect(f"its validator {i}", admin("PUT", f"{A}/validators/{trustees[-1][1]}",
                                           {"name": f"T{i}"}), 200)
    voter = os.path.join(keys, "secret-voter.json")
    expect("its voter", admin("POST", f"{A}/voters", {"keys": [keygen(voter)]}), 200, 201)
    r = http_("GET", f"{E}/election")
    expect("the secret election", r, 200)
    check("it shows ballots secret and a setup_hash", (r.json or {}).get("ballots") == "secret"
          and len((r.json or {}).get("setup_hash", "")) == 64, r)
    expect("its open before the ceremony", admin("POST", f"{A}/open"), 409)

    def trustee(step, t):
        args = ["trustee", step, "--url", url, "--election", "secret", "--key", t[0]]
        return cli(*args, *(["--secret-out", t[2]] if step == "keygen" else ["--secret", t[2]]))
    for rnd in range(2):
        for t in trustees:
            out = trustee("keygen", t)
            check(f"a trustee's keygen (round {rnd + 1})", out.returncode == 0,
                  (out.stdout, out.stderr))
        if rnd == 0:
            expect("its ceremony reset", admin("POST", f"{A}/ceremony/reset"), 200)
            for t in trustees:
                os.unlink(t[2])
    expect("an entry that is not the shape", http_("POST", f"{E}/ceremony/entries", {}), 400)
    expect("a share that is not the shape", http_("POST", f"{E}/ceremony/shares", {}), 400)
    expect("a check that is not the shape", http_("POST", f"{E}/ceremony/checks", {}), 400)
    for _ in range(2):
        for t in trustees:
            out = trustee("shares", t)
            check("a trustee's shares", out.returncode in (0, 3), (out.stdout, out.stderr))
    r = http_("GET", f"{E}/ceremony")
    expect("its ceremony", r, 200)
    check("it is complete", (r.json or {}).get("complete") is True, r)
    expect("the shares addressed to its trustee",
           http_("GET", f"{E}/ceremony/shares/{trustees[0][1]}"), 200)
    expect("the secret election opens", admin("POST", f"{A}/open"), 200)
    expect("a ceremony reset once open", admin("POST", f"{A}/ceremony/reset"), 409)
    expect("its work, nothing pending", http_("GET", f"{E}/work"), 200)
    secret_ballots(url, E, A, trustees, voter)


def secret_ballots(url, E, A, trustees, voter):
    """The secret election's ballots, blocks, shares and tally through the proxy: a ballot
    by `chainvote vote`, its status, the work, the miner and `chainvote approve`, the
    close and the seal, the shares by `chainvote trustee decrypt`, the results."""
    def commit(what):
        out = miner("--election", "secret")
        check(f"the miner mines {what}", out.returncode == 0, (out.stdout, out.stderr))
        for t in trustees:
            out = cli("approve", "--url", url, "--election", "secret", "--key", t[0], "--all")
            check(f"a trustee approves {what}", out.returncode == 0, (out.stdout, out.stderr))

    expect("a share before the seal",
           http_("POST", f"{E}/decryptions", {"x": 1}), 400)
    out = cli("vote", "--url", url, "--election", "secret", "--key", voter, "--candidate", "1")
    check("a ballot cast with chainvote vote", out.returncode == 0, (out.stdout, out.stderr))
    txid = out.stdout.strip()
    expect("the pending ballot's status", http_("GET", f"{E}/votes/{txid}"), 200)
    r = http_("GET", f"{E}/pool")
    expect("the pool with the ballot", r, 200)
    check("it lists the ballot", [b.get("txid") for b in (r.json or {}).get("votes", [])] == [txid],
          r)
    r = http_("GET", f"{E}/work")
    expect("the work with the ballot", r, 200)
    check("it offers the ballot", len((r.json or {}).get("votes", [])) == 1, r)
    commit("the ballot")
    expect("the committed ballot's receipt", http_("GET", f"{E}/votes/{txid}"), 200)
    r = http_("GET", f"{E}/results")
    expect("the results before the decryption", r, 200)
    check("turnout only", (r.json or {}).get("decrypted") is False, r)
    expect("the election closes", admin("POST", f"{A}/close"), 200)
    commit("the seal")
    for t in trustees:
        out = cli("trustee", "decrypt", "--url", url, "--election", "secret", "--key", t[0],
                  "--share", t[2] + ".share")
        check("a trustee posts its decryption share", out.returncode == 0,
              (out.stdout, out.stderr))
    r = http_("GET", f"{E}/pool")
    expect("the pool with the shares", r, 200)
    check("it lists the shares", len((r.json or {}).get("decryptions", [])) == len(trustees), r)
    r = http_("GET", f"{E}/work")
    expect("the work with the shares", r, 200)
    commit("the shares")
    r = http_("GET", f"{E}/results")
    expect("the decrypted results", r, 200)
    check("the ballot is counted", (r.json or {}).get("decrypted") is True and
          (r.json or {}).get("total") == 1, r)
    expect("a block of shares", http_("GET", f"{E}/blocks/3"), 200)


def main():
    global SYS, PROXY
    if not check("python3-jsonschema is installed (tools/deps.sh)", jsonschema is not None):
        return
    with open(DOC_PATH) as f:
        desc = Description(json.load(f))
    jsonschema.Draft202012Validator.check_schema(
        dict(desc.doc["components"]["schemas"]["Error"]))
    static_checks(desc)
    SYS = T.System(prefix="cv-e2e-openapi-", WORKERS=2, VOTE_WORKERS=2)
    if not check("system starts (nginx and five programs)", SYS.start()):
        SYS.cleanup()
        return
    PROXY = Proxy(desc, "127.0.0.1", SYS.port)
    try:
        keys = os.path.join(SYS.tmp, "keys")
        os.makedirs(keys)
        scenario(keys)
    finally:
        PROXY.stop()
        SYS.cleanup()
    for problem in PROXY.problems:
        print(f"# {problem}")
    check(f"every answer ({PROXY.answers}, {PROXY.errors} of them errors) matches the description "
          f"({len(PROXY.problems)} problems)", PROXY.answers > 100 and not PROXY.problems,
          "the problems are listed above")
    unexercised = sorted(f"{m} {t}" for m, t, _, _ in desc.ops if (m, t) not in desc.seen)
    check("every described operation was exercised (not: "
          + (", ".join(unexercised) or "none") + ")", not unexercised, unexercised)
    for (m, t), statuses in sorted(desc.seen.items(), key=lambda x: x[0][1]):
        print(f"  seen {m} {t}: {' '.join(map(str, sorted(statuses)))}")


if __name__ == "__main__":
    RES.run(main)
