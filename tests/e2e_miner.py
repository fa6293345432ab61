"""The miner against the real system: it proposes, the validators decide, it goes on.
  - a running miner proposes a block for a fresh vote;
  - when enough validators reject it that the threshold can no longer be reached, the
    miner mines the height again, and the new proposal, approved, is committed;
  - the chain then passes chainvote verify.
Started by tests/e2e_miner.sh with BIN and CGI set."""
import os
import sys
import time

sys.dont_write_bytecode = True   # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cvtest as T  # noqa: E402

res = T.Results("e2e_miner")


def proposals(sysm):
    """The proposals listed, each fetched whole (the list is a summary each)."""
    r = T.request(sysm, "GET", "/api/proposals", timeout=10)
    out = []
    for s in (r.json.get("proposals", []) if r.status == 200 and r.json else []):
        rr = T.request(sysm, "GET", f"/api/proposals/{s['hash']}", timeout=10)
        if rr.status == 200 and rr.json:
            out.append(rr.json)
    return out


def rejections(block_hash, keys, reason):
    sigs = T.sign_many([(k[0], T.rejection_message(block_hash, reason)) for k in keys])
    return [{"validator_key": s[0], "signature": s[1], "reason": reason} for s in sigs]


def main():
    sysm = T.System(prefix="cv-miner-", WORKERS=2)
    try:
        el = T.setup_offline(sysm, res, n_voters=4, n_validators=3, threshold=2)
        if el is None:
            return
        if not res.check("system starts with a miner", sysm.start(MINER=1), sysm.last_output):
            return
        if not res.check("the election is open", T.fill_genesis(sysm, el)):
            return
        v = el.voters[0]
        vote = T.sign_votes(el.genesis_hash, [(v[0], v[1], el.candidates[0], int(time.time()))])[0]
        r = T.request(sysm, "POST", "/api/votes", T.strip_vote(vote))
        res.check("a vote is accepted", r.status == 202, (r.status, r.json))

        first = []
        res.check("the miner proposes a block with the vote",
                  T.wait_until(lambda: first.extend(proposals(sysm)) or first, 20),
                  sysm.log_tail("miner", 10))
        if not first:
            return
        h1 = first[0]["block"]["hash"]
        # two of three validators reject: one approval can no longer reach 2
        for rej in rejections(h1, el.validators[:2], "test: not this block"):
            rr = T.request(sysm, "POST", f"/api/proposals/{h1}/rejections", rej)
            res.check("a validator's rejection is recorded", rr.status == 201, (rr.status, rr.json))

        second = []
        res.check("the miner mines the height again after the rejection",
                  T.wait_until(lambda: second.extend(
                      p for p in proposals(sysm) if p["block"]["hash"] != h1) or second, 20),
                  sysm.log_tail("miner", 10))
        if not second:
            return
        h2 = second[0]["block"]["hash"]
        res.check("the new proposal is for the same height with the same vote",
                  second[0]["block"]["height"] == first[0]["block"]["height"] and
                  [T.vote_txid(x) for x in second[0]["block"]["votes"]] == [vote["txid"]],
                  second[0]["block"])
        committed = False
        for a in T.approvals(h2, el.validators[1:]):
            rr = T.request(sysm, "POST", f"/api/proposals/{h2}/approvals", a)
            committed = committed or bool(rr.status == 201 and rr.json and rr.json.get("committed"))
        res.check("approved by two validators, it is committed", committed)
        r = T.request(sysm, "GET", f"/api/votes/{vote['txid']}")
        res.check("the vote's receipt shows it in the chain",
                  r.status == 200 and r.json and r.json.get("status") == "committed",
                  (r.status, r.json))
        ok, out = T.verify_export(T.export(sysm))
        res.check("chainvote verify accepts the chain", ok, out)
    finally:
        sysm.cleanup()


if __name__ == "__main__":
    res.run(main)
