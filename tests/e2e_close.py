"""The close, end to end (DESIGN section 2, "The close: the seal"), through nginx:
  - after POST /admin/api/close a vote is refused, and a block carrying a vote signed
    after the close (stamped back, never in the pool) is refused at admission, alone or
    beside a pending vote;
  - a block admitted before the close with a vote that was never pending cannot be
    committed by two validators, neither by the API nor by `chainvote approve --all`;
  - the export is byte-identical before and after the attack, and the results stay
    hidden (released after the close) and provisional;
  - the miner then commits the pending votes and mines the seal from the work template,
    two validators approve it, the results are final and shown, GET /api/work answers
    409 sealed, nothing follows, and `chainvote verify` calls the chain valid and final.
Started by tests/e2e_close.sh with BIN and CGI set."""
import base64
import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True   # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cvtest as T  # noqa: E402

res = T.Results("e2e_close")


def key_file(path, scalar, pub):
    """A key file as `chainvote keygen` writes it, from a (scalar, public) pair."""
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    p = bytes.fromhex(pub)
    doc = {"format": "chainvote-key/1", "public_key": pub,
           "private_key": {"kty": "EC", "crv": "P-256", "x": b64(p[1:33]), "y": b64(p[33:65]),
                           "d": b64(bytes.fromhex(scalar))}}
    with open(path, "w") as f:
        json.dump(doc, f)
    os.chmod(path, 0o600)
    return path


def post_block(sysm, block):
    return T.request(sysm, "POST", "/api/blocks", block)


def commit(sysm, block_hash, validators):
    committed = False
    for a in T.approvals(block_hash, validators):
        r = T.request(sysm, "POST", f"/api/proposals/{block_hash}/approvals", a)
        committed = committed or bool(r.status == 201 and r.json and r.json.get("committed"))
    return committed


def proposals(sysm):
    """The proposals waiting, whole (the listing has summaries)."""
    listed = (T.request(sysm, "GET", "/api/proposals").json or {}).get("proposals", [])
    out = []
    for p in listed:
        r = T.request(sysm, "GET", f"/api/proposals/{p['hash']}")
        if r.status == 200 and r.json:
            out.append(r.json)
    return out


def mine_once(sysm):
    return subprocess.run([T.MINER, "--url", sysm.url, "--once", "--threads", "1"],
                          capture_output=True, text=True, timeout=120)


def main():
    sysm = T.System(prefix="cv-close-")
    try:
        if not res.check("system starts", sysm.start(), sysm.last_output):
            return
        el = T.setup_election(sysm, res, n_voters=6, difficulty=8, open_it=False)
        if el is None:
            return
        auth = sysm.admin_auth()
        r = T.request(sysm, "PUT", "/admin/api/election", {"results_after_close": True}, auth=auth)
        res.check("results are released after the close", r.status in (200, 201), r)
        if not T.open_election(sysm, res, el):
            return
        now = int(time.time())
        v = el.voters
        pooled = T.sign_votes(el.genesis_hash, [(v[0][0], v[0][1], 1, now),
                                                (v[1][0], v[1][1], 2, now)])
        for vote in pooled:
            r = T.request(sysm, "POST", "/api/votes", T.strip_vote(vote))
            res.check("a vote before the close is accepted", r.status == 202, r)
        # before the close: a proposal whose vote never was in the pool (sent to a miner)
        direct = T.sign_votes(el.genesis_hash, [(v[2][0], v[2][1], 3, now)])[0]
        early = T.make_block(1, el.genesis_hash, [direct], now, 8)
        r = post_block(sysm, early)
        res.check("before the close a block may carry a vote sent to its miner", r.status == 202, r)

        r = T.request(sysm, "POST", "/admin/api/close", {}, auth=auth)
        res.check("the admin closes the election", r.status == 200 and r.json, r)
        r = T.request(sysm, "GET", "/api/election")
        closed_at = (r.json or {}).get("closed_at")
        res.check("the election says closed, not final",
                  r.status == 200 and r.json.get("state") == "closed" and
                  isinstance(closed_at, int) and r.json.get("final") is False, r)
        before = T.export(sysm)

        # the attack: votes signed after the close, stamped at or before it
        time.sleep(1.1)
        late = T.sign_votes(el.genesis_hash, [(v[3][0], v[3][1], 3, closed_at),
                                              (v[4][0], v[4][1], 3, el.genesis_timestamp)])
        r = T.request(sysm, "POST", "/api/votes", T.strip_vote(late[0]))
        res.check("a vote after the close is refused (409 closed)",
                  r.status == 409 and r.code == "closed", r)
        b = T.make_block(1, el.genesis_hash, [late[0]], int(time.time()), 8)
        r = post_block(sysm, b)
        res.check("a block with a back-dated vote signed after the close is refused (422 late_vote)",
                  r.status == 422 and r.code == "late_vote", r)
        b = T.make_block(1, el.genesis_hash, [pooled[0], late[1]], int(time.time()), 8)
        r = post_block(sysm, b)
        res.check("a pending vote does not carry a late one in (422 late_vote, vote 1)",
                  r.status == 422 and r.code == "late_vote" and
                  ((r.json or {}).get("error") or {}).get("vote") == 1, r)
        for a in T.approvals(early["hash"], el.validators[:2]):
            r = T.request(sysm, "POST", f"/api/proposals/{early['hash']}/approvals", a)
            res.check("an approval of the block admitted before the close is refused (422 late_vote)",
                      r.status == 422 and r.code == "late_vote", r)
        keys = [key_file(os.path.join(sysm.tmp, f"validator-{i}.json"), *el.validators[i])
                for i in range(2)]
        for k in keys:
            out = subprocess.run([T.CHAINVOTE, "approve", "--url", sysm.url, "--key", k,
                                  early["hash"]], capture_output=True, text=True, timeout=60)
            res.check("chainvote approve of that block is refused",
                      out.returncode != 0 and "late_vote" in out.stdout + out.stderr,
                      (out.returncode, out.stdout, out.stderr))
        r = T.request(sysm, "GET", "/api/results")
        res.check("the results stay hidden and provisional",
                  r.status == 200 and r.json.get("hidden") is True and
                  r.json.get("final") is False and r.json.get("committed") == 0, r)
        after = T.export(sysm)
        res.check("the export is byte-identical before and after the attack",
                  before is not None and before == after, (len(before or b""), len(after or b"")))

        # the seal is not mined, proposed or approved while votes pending at the close are left
        r = T.request(sysm, "GET", "/api/work")
        res.check("the work template offers the pending votes, no seal",
                  r.status == 200 and len(r.json.get("votes", [])) == 2 and "seal" not in r.json, r)
        out = mine_once(sysm)
        res.check("the miner proposes the pending votes", out.returncode == 0, (out.stdout, out.stderr))
        props = proposals(sysm)
        mined = [p for p in props if p["block"]["hash"] != early["hash"]]
        if not res.check("one new proposal", len(mined) == 1, props):
            return
        res.check("two validators commit the pending votes",
                  commit(sysm, mined[0]["block"]["hash"], el.validators[1:3]))
        r = T.request(sysm, "GET", "/api/work")
        seal = (r.json or {}).get("seal") or {}
        res.check("then the work template is the seal of this close",
                  r.status == 200 and r.json.get("votes") == [] and
                  seal.get("election_id") == el.genesis_hash and
                  seal.get("closed_at") == closed_at, r)
        out = mine_once(sysm)
        res.check("the miner mines the seal", out.returncode == 0 and "seal" in out.stdout,
                  (out.stdout, out.stderr))
        props = proposals(sysm)
        sealp = [p for p in props if p["block"].get("seal")]
        if not res.check("the seal is a proposal", len(sealp) == 1, props):
            return
        outs = [subprocess.run([T.CHAINVOTE, "approve", "--url", sysm.url, "--key", k, "--all"],
                               capture_output=True, text=True, timeout=60) for k in keys]
        res.check("two validators commit the seal with chainvote approve --all",
                  all(o.returncode == 0 for o in outs) and T.tip(sysm) == 2,
                  [(o.returncode, o.stdout, o.stderr) for o in outs])
        r = T.request(sysm, "GET", "/api/results")
        tally = {c["id"]: c.get("votes") for c in (r.json or {}).get("tally", [])}
        res.check("the results are final and shown: the pending votes, nothing else",
                  r.status == 200 and r.json.get("final") is True and
                  r.json.get("hidden") is False and tally == {1: 1, 2: 1, 3: 0}, r)
        r = T.request(sysm, "GET", "/api/election")
        res.check("the election says final with the seal's height",
                  r.status == 200 and r.json.get("final") is True and
                  r.json.get("seal_height") == 2, r)
        r = T.request(sysm, "GET", "/api/work")
        res.check("no work follows the seal (409 sealed)", r.status == 409 and r.code == "sealed", r)
        b = T.make_block(3, sealp[0]["block"]["hash"], [pooled[0]], int(time.time()), 8)
        r = post_block(sysm, b)
        res.check("no block follows the seal", r.status in (409, 422), r)
        ok, out = T.verify_export(T.export(sysm))
        res.check("chainvote verify: valid and final",
                  ok and "final: sealed, closed at %d" % closed_at in out, out)
    finally:
        sysm.cleanup()


res.run(main)
