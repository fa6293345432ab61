"""A whole election over HTTP against the real nginx and FastCGI programs.

Started by tests/e2e_api.sh with BIN (chainvote, miner) and CGI (*.fcgi) in the
environment. The system runs on a free 127.0.0.1 port with its state in a temporary
directory and is stopped (by PID, through tools/run.sh) at the end.
"""
import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True   # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cvtest as T  # noqa: E402

CHAINVOTE = T.CHAINVOTE
MINER = T.MINER
children = T.children
RES = T.Results("e2e_api")
check = RES.check
SYS = None


def http(method, path, body=None, ctype="application/json", auth=None, raw=None):
    """Returns (status, parsed JSON or None, headers)."""
    r = T.request(SYS, method, path, body, ctype=ctype, auth=auth, raw=raw)
    return r.status, r.json, r.headers


def admin(method, path, body=None, **kw):
    return http(method, path, body, auth=SYS.admin_auth(), **kw)


def cli(*args, check_rc=None):
    r = subprocess.run([CHAINVOTE, *args], capture_output=True, text=True, timeout=60)
    return r


def keygen(path):
    cli("keygen", "-o", path)
    with open(path) as f:
        return json.load(f)["public_key"]


def err_code(doc):
    try:
        return doc["error"]["code"]
    except (TypeError, KeyError):
        return None


def main():
    global SYS
    SYS = T.System(prefix="cv-e2e-", WORKERS=2, VOTE_WORKERS=2)
    if not check("system starts (nginx and five programs)", SYS.start()):
        SYS.cleanup()
        return
    try:
        scenario()
    finally:
        SYS.cleanup()


def scenario():
    keys = os.path.join(SYS.tmp, "keys")
    os.makedirs(keys)

    # --- admin access is nginx's to decide
    st, doc, _ = http("GET", "/admin/api/election")
    check("admin refused without credentials (401)", st == 401, st)
    st, doc, _ = http("GET", "/admin/api/election", auth="admin:wrong")
    check("admin refused with a wrong password (401)", st == 401, st)

    # --- set-up through /admin/
    settings = {"title": "Test election", "threshold": 2, "difficulty": 12,
                "max_block_votes": 8, "opens": 0, "closes": 0, "results_after_close": False}
    st, doc, _ = admin("PUT", "/admin/api/election", settings)
    check("admin creates the election", st in (200, 201), (st, doc))
    st, doc, _ = admin("PUT", "/admin/api/election", dict(settings, threshold=1))
    check("threshold below 2 refused (422)", st == 422 or st == 400, (st, doc))
    for cid, name in ((1, "Alder Party"), (2, "Birch Alliance"), (3, "Cedar Union")):
        st, doc, _ = admin("PUT", f"/admin/api/candidates/{cid}", {"name": name})
        check(f"candidate {cid} added", st in (200, 201), (st, doc))
    st, doc, _ = admin("PUT", "/admin/api/candidates/0", {"name": "Zero"})
    check("candidate id 0 refused", 400 <= st < 500, (st, doc))
    validators = []
    for i in range(3):
        path = os.path.join(keys, f"validator-{i}.json")
        key = keygen(path)
        validators.append(path)
        st, doc, _ = admin("PUT", f"/admin/api/validators/{key}", {"name": f"Validator {i}"})
        check(f"validator {i} added", st in (200, 201), (st, doc))
    st, doc, _ = admin("PUT", "/admin/api/validators/04" + "00" * 64, {"name": "Off curve"})
    check("validator key off the curve refused", 400 <= st < 500, (st, doc))

    st, doc, _ = admin("POST", "/admin/api/eligible",
                       {"voters": [{"voter_id": "V001"}, {"voter_id": "V002", "code": "CODE-TWO-22"}]})
    check("eligibility import answers the codes once", st in (200, 201) and doc is not None, (st, doc))
    codes = {}
    for v in (doc or {}).get("voters", []):
        codes[v.get("voter_id")] = v.get("code")
    check("generated code returned for V001", bool(codes.get("V001")), doc)

    voters = []
    pub = keygen(os.path.join(keys, "voter-reg.json"))
    st, doc, _ = http("POST", "/api/register", {"voter_id": "V001", "code": "wrong", "public_key": pub})
    check("registration with a wrong code refused (403)", st == 403, (st, doc))
    st, doc, _ = http("POST", "/api/register", {"voter_id": "V001", "code": codes.get("V001", ""), "public_key": pub})
    check("registration with the one-time code accepted", st in (200, 201), (st, doc))
    voters.append(os.path.join(keys, "voter-reg.json"))
    pub2 = keygen(os.path.join(keys, "voter-reg2.json"))
    st, doc, _ = http("POST", "/api/register", {"voter_id": "V001", "code": codes.get("V001", ""), "public_key": pub2})
    check("a spent code is refused", st == 403, (st, doc))
    st, doc, _ = http("POST", "/api/register", raw=b"voter_id=V002", ctype="application/x-www-form-urlencoded")
    check("registration that is not JSON refused (415)", st == 415, (st, doc))

    extra = []
    for i in range(4):
        path = os.path.join(keys, f"voter-{i}.json")
        extra.append(keygen(path))
        voters.append(path)
    st, doc, _ = admin("POST", "/admin/api/voters", {"keys": extra})
    check("admin puts voter keys on the roll", st in (200, 201), (st, doc))

    st, doc, _ = admin("POST", "/admin/api/open", {})
    check("election opens", st == 200, (st, doc))
    st, doc, _ = http("GET", "/api/election")
    check("election is open with a genesis hash", st == 200 and doc and doc.get("state") == "open"
          and len(doc.get("genesis_hash") or "") == 64, (st, doc))
    st, doc, _ = http("POST", "/api/register", {"voter_id": "V002", "code": "CODE-TWO-22", "public_key": pub2})
    check("registration after opening refused (409)", st == 409, (st, doc))

    # --- votes
    txids = []
    choices = [1, 2, 1, 3, 1]
    for path, cand in zip(voters, choices):
        r = cli("vote", "--url", SYS.url, "--key", path, "--candidate", str(cand))
        ok = r.returncode == 0 and len(r.stdout.strip().split()[-1]) == 64 if r.stdout.strip() else False
        check(f"vote for {cand} accepted", ok, (r.returncode, r.stdout, r.stderr))
        if ok:
            txids.append(r.stdout.strip().split()[-1])
    r = cli("vote", "--url", SYS.url, "--key", voters[0], "--candidate", "2")
    check("second vote by the same voter refused (already_voted)", r.returncode != 0 and "already_voted" in (r.stdout + r.stderr), (r.stdout, r.stderr))
    st, doc, _ = http("POST", "/api/votes", raw=b'{"election_id":', ctype="application/json")
    check("truncated vote JSON refused (400)", st == 400 and err_code(doc) is not None, (st, doc))
    st, doc, _ = http("POST", "/api/votes", raw=b"x" * 70000, ctype="application/json")
    check("oversized vote refused (413 JSON)", st == 413 and err_code(doc) == "too_large", (st, doc))
    st, doc, _ = http("POST", "/api/votes", raw=b"{}", ctype="text/plain")
    check("vote that is not JSON refused (415)", st == 415, (st, doc))
    if txids:
        st, doc, _ = http("GET", f"/api/votes/{txids[0]}")
        check("a new vote is pending", st == 200 and doc.get("status") == "pending", (st, doc))
        check("a vote in the pool is in no proposal yet, and the threshold is said",
              doc.get("proposals") == [] and doc.get("threshold") == 2, doc)
    st, doc, _ = http("GET", "/api/votes/" + "ab" * 32)
    check("unknown txid is 404", st == 404, (st, doc))

    # --- mining: a rival proposal with fewer votes, then the full block
    st, work, _ = http("GET", "/api/work")
    check("work template lists the pending votes", st == 200 and len(work.get("votes", [])) == len(txids), (st, work))
    r = subprocess.run([MINER, "--url", SYS.url, "--once", "--threads", "1", "--max-votes", "1"], capture_output=True, text=True, timeout=120)
    check("miner posts a one-vote proposal", r.returncode == 0, (r.stdout, r.stderr))
    r = subprocess.run([MINER, "--url", SYS.url, "--once", "--threads", "2"], capture_output=True, text=True, timeout=120)
    check("miner posts a full proposal", r.returncode == 0, (r.stdout, r.stderr))
    st, doc, _ = http("GET", "/api/proposals")
    props = (doc or {}).get("proposals", [])
    check("two rival proposals at height 1", st == 200 and len(props) == 2, (st, doc))
    full = [p for p in props if p["n_votes"] == len(txids)]
    rival = [p for p in props if p["n_votes"] == 1]
    if not (full and rival):
        check("proposals have the expected vote counts", False, props)
        return
    full_hash, rival_hash = full[0]["hash"], rival[0]["hash"]

    # approvals: a non-validator is refused, then two validators commit
    outsider = os.path.join(keys, "outsider.json")
    keygen(outsider)
    r = cli("approve", "--url", SYS.url, "--key", outsider, full_hash)
    check("approval by a non-validator refused", r.returncode != 0 and "not_validator" in (r.stdout + r.stderr), (r.stdout, r.stderr))
    with open(outsider) as f:
        outsider_key = json.load(f)["public_key"]
    st, doc, _ = http("POST", f"/api/proposals/{full_hash}/approvals",
                      {"validator_key": outsider_key, "signature": "11" * 64})
    check("server refuses an approval signed by a non-validator (403)",
          st == 403 and err_code(doc) == "not_validator", (st, doc))
    r = cli("approve", "--url", SYS.url, "--key", validators[0], full_hash)
    check("first approval recorded, not yet committed", r.returncode == 0, (r.stdout, r.stderr))
    waits = [(http("GET", f"/api/votes/{t}")[1] or {}).get("proposals") for t in txids]
    check("a pending vote lists the proposals that hold it, with their approvals",
          all(any(p["hash"] == full_hash and p["n_approvals"] == 1 and p["height"] == 1 for p in w or [])
              for w in waits) and sum(any(p["hash"] == rival_hash for p in w or []) for w in waits) == 1,
          waits)
    r = cli("approve", "--url", SYS.url, "--key", validators[0], rival_hash)
    check("same validator approving the rival is refused (equivocation)", r.returncode != 0 and "equivocation" in (r.stdout + r.stderr), (r.stdout, r.stderr))
    r = cli("approve", "--url", SYS.url, "--key", validators[1], full_hash)
    check("second approval commits the block", r.returncode == 0, (r.stdout, r.stderr))
    st, doc, _ = http("GET", "/api/blocks/1")
    check("block 1 is committed with two approvals", st == 200 and doc.get("hash") == full_hash and len(doc.get("approvals", [])) == 2, (st, doc))
    st, doc, _ = http("GET", f"/api/proposals/{rival_hash}")
    check("the rival proposal was discarded", st == 404, (st, doc))

    # --- receipts, results, export
    for t in txids:
        r = cli("receipt", "--url", SYS.url, t)
        check(f"receipt {t[:8]} verifies", r.returncode == 0 and "verified" in r.stdout, (r.stdout, r.stderr))
    st, doc, _ = http("GET", "/api/results")
    tally = {}
    for c in (doc or {}).get("tally", []):
        tally[c.get("id")] = c.get("votes")
    check("results tally 1:3 2:1 3:1", tally == {1: 3, 2: 1, 3: 1}, (st, doc))
    # five keys on the roll, and V002 entitled though never registered: six
    check("turnout is the votes over the electorate (roll keys + unregistered entries)",
          doc.get("roll_size") == 5 and doc.get("electorate") == 6
          and abs(doc.get("turnout", 0) - 5 / 6) < 1e-5, doc)
    r = subprocess.run([CHAINVOTE, "verify", SYS.url], capture_output=True, text=True, timeout=60)
    check("chainvote verify accepts the service's export", r.returncode == 0, (r.stdout, r.stderr))

    # --- the public voter lookup
    with open(voters[0]) as f:
        voter0 = json.load(f)["public_key"]
    st, doc, _ = http("GET", f"/api/voters/{voter0}")
    check("voter lookup: on the roll, vote committed", st == 200 and doc.get("on_roll") is True
          and doc.get("status") == "committed" and doc.get("txid") == txids[0], (st, doc))
    st, doc, _ = http("GET", f"/api/voters/{outsider_key}")
    check("voter lookup: an outsider is not on the roll and has not voted", st == 200
          and doc.get("on_roll") is False and doc.get("status") == "not_voted", (st, doc))
    st, doc, _ = http("GET", "/api/voters/04zz")
    check("voter lookup: a malformed key is 400", st == 400 and err_code(doc) == "malformed", (st, doc))

    # --- the audit log: administrative and validator requests, never a body
    with open(os.path.join(SYS.election_dir, "audit.log")) as f:
        audit_text = f.read()
    audit = [json.loads(line) for line in audit_text.splitlines()]
    check("audit log: the election's creation by the admin user",
          any(a["path"] == "/admin/api/election" and a["method"] == "PUT"
              and a["remote_user"] == "admin" for a in audit), audit[:3])
    check("audit log: the opening", any(a["path"] == "/admin/api/open" and a["status"] == 200
                                        for a in audit), audit[-3:])
    check("audit log: the outsider's refused approval is not in it (it changed nothing)",
          not any(a.get("validator_key") == outsider_key for a in audit), audit[-5:])
    check("audit log: a validator's signed verdict, with its key",
          any(a.get("validator_key") and a["path"].endswith("/approvals") for a in audit),
          audit[-5:])
    check("audit log: the committing approval", sum(
        1 for a in audit if a["path"].endswith("/approvals") and a["status"] == 201) >= 2, audit)
    check("audit log: no registration code in it",
          all(c and c not in audit_text for c in codes.values()), codes)

    # --- negative cases for the other endpoints
    st, doc, _ = http("GET", "/api/nothing")
    check("unknown endpoint is a JSON 404", st == 404 and err_code(doc) == "not_found", (st, doc))
    st, doc, _ = http("GET", "/api/blocks/99")
    check("unknown block height is 404", st == 404 and err_code(doc) is not None, (st, doc))
    st, doc, _ = http("POST", "/api/blocks", raw=b"[1,2", ctype="application/json")
    check("malformed block refused (400)", st == 400, (st, doc))
    st, doc, _ = http("GET", f"/api/blocks/{full_hash}")
    st, doc, _ = http("POST", "/api/blocks", {k: v for k, v in doc.items() if k != "approvals"})
    check("re-posting a committed block is stale (409)", st == 409, (st, doc))
    st, doc, _ = http("POST", f"/api/proposals/{full_hash}/approvals", {"validator_key": "zz", "signature": "00"})
    check("malformed approval refused", 400 <= st < 500, (st, doc))

    # --- a killed worker is replaced and the service keeps answering
    master = SYS.pid("vote")
    kids = children(master)
    check("vote program runs its workers", len(kids) == 2, kids)
    if kids:
        os.kill(int(kids[0]), 9)
        # the worker died idle: the other one answers at once, no request is lost
        a = http("GET", "/api/votes/" + txids[0])
        check("the next request after a worker's death is answered", a[0] == 200, a[:2])
        answers = [http("GET", "/api/votes/" + txids[0])[0] for _ in range(20)]
        check("and goes on answering", answers == [200] * 20, answers)
        replaced = T.wait_until(
            lambda: len(children(master)) == 2 and kids[0] not in children(master), 10)
        check("the killed worker was replaced", replaced, children(master))


if __name__ == "__main__":
    RES.run(main)
