"""Two elections side by side in one installation, against the real nginx and programs:
  - the admin API creates a second election (slug b), sets it up and opens it under
    /admin/api/e/b/; bad slugs, a taken slug and an unauthenticated call are refused;
  - GET /api/elections lists both with their state; the default paths go on serving
    the default election; an unknown slug is a 404 JSON error;
  - a vote is cast in each (the API for the default, `chainvote vote --election b`
    for b); a vote for one posted to the other is refused;
  - the miner (`--election b` for b) mines both, validators approve, and the results
    are each election's own;
  - both exports pass `chainvote verify`; nginx's caches never serve one election's
    export or block for the other's;
  - the pages are served under /e/b/ and /admin/e/b/;
  - archiving: refused for an open election, done for a draft, which then refuses
    set-up and is listed as archived;
  - the data commands take --election; db_verify passes over every election's files.
Started by tests/e2e_elections.sh with BIN and CGI set."""
import json
import re
import os
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True   # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cvtest as T  # noqa: E402

res = T.Results("e2e_elections")


def cli(*args, timeout=120):
    return subprocess.run([T.CHAINVOTE, *args], capture_output=True, text=True,
                          timeout=timeout)


def key_file(tmp, name):
    """A voter key file made by `chainvote keygen`, and its public key."""
    path = os.path.join(tmp, name + ".json")
    r = cli("keygen", "-o", path)
    if r.returncode != 0:
        return None, None
    with open(path) as f:
        return path, json.load(f)["public_key"]


def mine_and_commit(sysm, el, election, vote_txid):
    """The miner once for election; approvals by two validators; whether the vote is
    then committed."""
    args = [T.MINER, "--url", sysm.url, "--once", "--threads", "1"]
    if election:
        args += ["--election", election]
    r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if not res.check(f"the miner posts a block for {election or 'the default election'}",
                     r.returncode == 0, r.stdout + r.stderr):
        return False
    p = T.request(sysm, "GET", T.epath("/api/proposals", election))
    props = (p.json or {}).get("proposals", []) if p.status == 200 else []
    if not res.check(f"one proposal waits in {election or 'default'}", len(props) == 1, p):
        return False
    h = props[0]["hash"]
    for a in T.approvals(h, el.validators[:2]):
        T.request(sysm, "POST", T.epath(f"/api/proposals/{h}/approvals", election), a)
    r = T.request(sysm, "GET", T.epath(f"/api/votes/{vote_txid}", election))
    return r.status == 200 and (r.json or {}).get("status") == "committed"


def counts(sysm, election):
    r = T.request(sysm, "GET", T.epath("/api/results", election))
    return {c["id"]: c.get("votes") for c in (r.json or {}).get("tally", [])}


def main():
    sysm = T.System(prefix="cv-elections-", WORKERS=2)
    tmp = tempfile.mkdtemp(prefix="cv-elections-keys-")
    try:
        if not res.check("system starts", sysm.start(), sysm.last_output):
            return
        auth = sysm.admin_auth()
        a = T.setup_election(sysm, res, n_voters=3)
        if a is None:
            return

        # ---- creating the second election ----
        r = T.request(sysm, "POST", "/admin/api/elections",
                      {"slug": "b", "title": "Second election", "difficulty": 8})
        res.check("creating an election needs the admin's password", r.status == 401, r)
        r = T.request(sysm, "POST", "/admin/api/elections",
                      {"slug": "b", "title": "Second election", "difficulty": 8}, auth=auth)
        res.check("the admin API creates election b in setup",
                  r.status == 201 and (r.json or {}).get("state") == "setup" and
                  r.json.get("slug") == "b", r)
        r = T.request(sysm, "POST", "/admin/api/elections",
                      {"slug": "b", "title": "Again"}, auth=auth)
        res.check("a taken slug is refused", r.status == 409 and r.code == "exists", r)
        for bad in ("B", "b/c", "", "x" * 33, 7):
            r = T.request(sysm, "POST", "/admin/api/elections", {"slug": bad, "title": "T"},
                          auth=auth)
            res.check(f"slug {bad!r} is refused as malformed",
                      r.status == 400 and r.code == "malformed", r)
        r = T.request(sysm, "POST", "/admin/api/elections", {"slug": "nt"}, auth=auth)
        res.check("a new election without a title is refused", r.status == 400, r)

        b = T.setup_election(sysm, res, n_voters=1, election="b", title="Second election",
                             open_it=False)
        if b is None:
            return
        # b's roll also holds a voter whose key file the CLI signs with
        path_b, pub_b = key_file(tmp, "voter-b")
        if not res.check("a voter key file is made", path_b is not None):
            return
        r = T.request(sysm, "POST", "/admin/api/e/b/voters", {"keys": [pub_b]}, auth=auth)
        res.check("b's roll takes the key", r.status in (200, 201), r)
        r = T.request(sysm, "GET", "/api/elections")
        listed = {e["slug"]: e for e in (r.json or {}).get("elections", [])}
        res.check("GET /api/elections lists both with their state",
                  r.status == 200 and listed.get("default", {}).get("state") == "open" and
                  listed.get("b", {}).get("state") == "setup" and
                  listed["b"].get("title") == "Second election", r)
        if not T.open_election(sysm, res, b, "b"):
            return
        res.check("the two elections have their own genesis",
                  a.genesis_hash != b.genesis_hash, (a.genesis_hash, b.genesis_hash))

        # ---- paths ----
        r = T.request(sysm, "GET", "/api/election")
        res.check("the default paths serve the default election",
                  r.status == 200 and r.json.get("genesis_hash") == a.genesis_hash, r)
        r = T.request(sysm, "GET", "/api/e/default/election")
        res.check("/api/e/default/ is the default election too",
                  r.status == 200 and r.json.get("genesis_hash") == a.genesis_hash, r)
        r = T.request(sysm, "GET", "/api/e/b/election")
        res.check("/api/e/b/election is b",
                  r.status == 200 and r.json.get("genesis_hash") == b.genesis_hash and
                  r.json.get("title") == "Second election", r)
        for path in ("/api/e/nope/election", "/api/e/nope/votes/" + "0" * 64,
                     "/api/e/nope/chain/export", "/api/e/NOPE/election", "/api/e/b/"):
            r = T.request(sysm, "GET", path)
            res.check(f"{path} is a 404 JSON error",
                      r.status == 404 and r.code == "not_found", r)
        r = T.request(sysm, "POST", "/admin/api/e/nope/open", {}, auth=auth)
        res.check("the admin API refuses an unknown election", r.status == 404, r)
        r = T.request(sysm, "GET", f"/api/e/b/chain/export/{b.genesis_hash}")
        res.check("an election's export at a tip is not reachable from outside",
                  r.status == 404, r)

        # ---- votes ----
        now = int(time.time())
        va = T.sign_votes(a.genesis_hash, [(a.voters[0][0], a.voters[0][1], 1, now)])[0]
        r = T.request(sysm, "POST", "/api/votes", T.strip_vote(va))
        res.check("a vote in the default election is accepted", r.status == 202, r)
        r = T.request(sysm, "POST", "/api/e/b/votes", T.strip_vote(va))
        res.check("the default election's vote posted to b is refused",
                  r.status in (403, 409, 422) and r.code == "wrong_election", r)
        r = cli("vote", "--url", sysm.url, "--election", "b", "--key", path_b,
                "--candidate", "2")
        res.check("chainvote vote --election b casts a vote in b", r.returncode == 0,
                  r.stdout + r.stderr)
        vb_txid = next((w for w in (r.stdout + r.stderr).split() if len(w) == 64), None)
        vb = T.sign_votes(b.genesis_hash, [(b.voters[0][0], b.voters[0][1], 3, now)])[0]
        r = T.request(sysm, "POST", "/api/votes", T.strip_vote(vb))
        res.check("b's vote posted to the default election is refused",
                  r.status in (403, 409, 422) and r.code == "wrong_election", r)
        r = cli("vote", "--url", sysm.url, "--election", "Bad!", "--key", path_b,
                "--candidate", "2")
        res.check("chainvote vote refuses a bad --election", r.returncode != 0, r.stderr)
        r = T.request(sysm, "POST", "/api/e/b/votes", T.strip_vote(vb))
        res.check("a second vote in b through the API is accepted", r.status == 202, r)

        # ---- mining both ----
        res.check("the default election's vote is committed",
                  mine_and_commit(sysm, a, None, va["txid"]))
        res.check("b's votes are committed",
                  mine_and_commit(sysm, b, "b", vb["txid"]))
        if vb_txid:
            r = T.request(sysm, "GET", f"/api/e/b/votes/{vb_txid}")
            res.check("the CLI's vote in b is committed",
                      r.status == 200 and r.json.get("status") == "committed", r)
        ca, cb = counts(sysm, None), counts(sysm, "b")
        res.check("results are each election's own",
                  ca.get(1) == 1 and ca.get(2) == 0 and ca.get(3) == 0 and
                  cb.get(1) == 0 and cb.get(2) == 1 and cb.get(3) == 1, (ca, cb))

        # ---- exports and caches ----
        ea = T.export(sysm)
        eb = T.export(sysm, election="b")
        eb2 = T.export(sysm, election="b")
        ea2 = T.export(sysm)
        for name, body, gh in (("default", ea, a.genesis_hash), ("b", eb, b.genesis_hash)):
            ok, out = T.verify_export(body)
            res.check(f"chainvote verify accepts {name}'s export", ok, out)
            blocks = json.loads(body).get("blocks", []) if body else []
            res.check(f"{name}'s export is its own chain",
                      len(blocks) == 2 and blocks[0].get("hash") == gh,
                      [x.get("hash") for x in blocks])
        res.check("each export served again from the cache is still its own",
                  ea2 == ea and eb2 == eb and ea != eb)
        # `chainvote verify URL --election b` fetches b's export and counts b's votes
        r = subprocess.run([T.CHAINVOTE, "verify", "--election", "b", sysm.url],
                           capture_output=True, text=True, timeout=120)
        res.check("chainvote verify URL --election b checks b's chain and its tally",
                  r.returncode == 0 and r.stdout.rstrip().endswith("valid") and
                  {int(m[0]): int(m[1]) for m in
                   re.findall(r"^candidate (\d+) \(.*\): (\d+)$", r.stdout, re.M)} ==
                  {1: 0, 2: 1, 3: 1}, r.stdout[-600:] + r.stderr[-300:])
        r = subprocess.run([T.CHAINVOTE, "verify", "--election", "nope", sysm.url],
                           capture_output=True, text=True, timeout=120)
        res.check("chainvote verify URL --election of no election fails", r.returncode != 0,
                  r.stdout[-300:] + r.stderr[-300:])
        for _ in range(2):
            ga = T.request(sysm, "GET", "/api/blocks/0")
            gb = T.request(sysm, "GET", "/api/e/b/blocks/0")
            res.check("the cached genesis blocks stay apart",
                      ga.status == 200 and gb.status == 200 and
                      ga.json.get("hash") == a.genesis_hash and
                      gb.json.get("hash") == b.genesis_hash, (ga, gb))

        # ---- pages ----
        for path in ("/e/b/", "/e/b/vote.html", "/e/b/js/api.js"):
            r = T.request(sysm, "GET", path)
            res.check(f"{path} is served", r.status == 200 and len(r.body) > 0, r)
        r = T.request(sysm, "GET", "/admin/e/b/", auth=auth)
        res.check("b's admin page is served to the signed-in admin",
                  r.status == 200 and b"Administration" in r.body, r)
        r = T.request(sysm, "GET", "/admin/e/b/")
        res.check("b's admin page sends whoever is not signed in to the sign-in page",
                  r.status == 303 and "/admin/login.html" in (r.header("Location") or ""),
                  r)

        # ---- archiving ----
        r = T.request(sysm, "POST", "/admin/api/e/b/archive", {}, auth=auth)
        res.check("an open election cannot be archived",
                  r.status == 409 and r.code == "bad_state", r)
        r = T.request(sysm, "POST", "/admin/api/elections", {"slug": "draft", "title": "Draft"},
                      auth=auth)
        res.check("a draft election is created", r.status == 201, r)
        r = T.request(sysm, "POST", "/admin/api/e/draft/archive", {}, auth=auth)
        res.check("the draft is archived", r.status == 200 and r.json.get("archived"), r)
        r = T.request(sysm, "PUT", "/admin/api/e/draft/candidates/1", {"name": "X"}, auth=auth)
        res.check("an archived election refuses set-up", r.status == 409 and
                  r.code == "archived", r)
        r = T.request(sysm, "GET", "/api/elections")
        listed = {e["slug"]: e for e in (r.json or {}).get("elections", [])}
        res.check("the list says which is archived",
                  listed.get("draft", {}).get("archived") is True and
                  listed.get("b", {}).get("archived") is False, r)

        # ---- the data commands ----
        r = subprocess.run(T.as_service_user([T.CHAINVOTE, "status", "--data",
                                              sysm.election_dir, "--election", "b"]),
                           capture_output=True, text=True, timeout=60)
        res.check("chainvote status --election b reads b",
                  r.returncode == 0 and "Second election" in r.stdout, r.stdout + r.stderr)
        r = subprocess.run(T.as_service_user([T.CHAINVOTE, "status", "--data",
                                              sysm.election_dir, "--election", "nope"]),
                           capture_output=True, text=True, timeout=60)
        res.check("chainvote status --election of an unknown election fails",
                  r.returncode == 1 and "no election nope" in r.stderr, r.stderr)
        sysm.stop()
        ok, out = T.db_verify(sysm.election_dir)
        res.check("db_verify passes over every election's databases",
                  ok and os.path.exists(os.path.join(sysm.election_dir, "e.b.meta.db")), out)
    finally:
        sysm.cleanup()
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    res.run(main)
