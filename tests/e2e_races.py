"""Races against the real nginx and FastCGI programs (tests/e2e_races.sh):
  - 64 concurrent votes by one voter: exactly one is accepted;
  - votes of many voters at once (written together, a batch per log flush) with a
    double vote among them and a vote of a voter who voted before: those two are
    refused as already_voted, every other is accepted, and every accepted vote is
    still there after every process of the system is killed and started again;
  - two blocks mined for the same height and approved concurrently up to the threshold:
    exactly one is committed, the other is discarded and its votes stay in the pool;
  - two concurrent approvals of one block that each reach the threshold: committed once;
  - a validator approving two blocks at one height (one after the other, and
    concurrently): the second is refused as equivocation and the evidence (both signed
    approvals) is kept and shown by GET /api/equivocations.
Requests of a race start together behind a barrier, each on its own open connection.
"""
import http.client
import os
import sys
import threading
import time

sys.dont_write_bytecode = True   # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cvtest as T  # noqa: E402

res = T.Results("e2e_races")
SYS = None
EL = None
DIFFICULTY = 8
fresh = []   # voters not used yet


def race(requests):
    """Sends (method, path, body) requests at the same moment; returns the Replies in
    order."""
    n = len(requests)
    conns = [http.client.HTTPConnection("127.0.0.1", SYS.port, timeout=60) for _ in range(n)]
    for c in conns:
        c.connect()
    barrier = threading.Barrier(n)
    out = [None] * n

    def go(i):
        method, path, body = requests[i]
        barrier.wait()
        out[i] = T.request(SYS, method, path, body, conn=conns[i])

    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in conns:
        c.close()
    return out


def one_voter_votes(round_no):
    voter = fresh.pop()
    now = int(time.time())
    specs = [(voter[0], voter[1], EL.candidates[i % 3], now + i) for i in range(64)]
    votes = T.sign_votes(EL.genesis_hash, specs)
    replies = race([("POST", "/api/votes", T.strip_vote(v)) for v in votes])
    ok = [r for r in replies if r.status == 202]
    refused = [r for r in replies if r.status == 409 and r.code == "already_voted"]
    res.check(f"64 concurrent votes by one voter: exactly one accepted (round {round_no})",
              len(ok) == 1, [r.status for r in replies])
    res.check(f"the 63 others refused as already_voted (round {round_no})",
              len(refused) == 63, sorted({(r.status, r.code) for r in replies}))
    r = T.request(SYS, "GET", "/api/pool?limit=1000")
    mine = [v for v in (r.json or {}).get("votes", []) if v["voter_key"] == voter[1]]
    res.check(f"the pool holds one vote of that voter (round {round_no})", len(mine) == 1,
              len(mine))
    return mine[0] if mine else None


def mixed_batch():
    voters = [fresh.pop() for _ in range(12)]
    earlier = one_vote(voters[0])
    now = int(time.time())
    specs = [(k[0], k[1], EL.candidates[i % 3], now) for i, k in enumerate(voters)]
    # the same voter again (another candidate: another txid), and the earlier voter
    specs.append((voters[5][0], voters[5][1], EL.candidates[(5 + 1) % 3], now))
    votes = T.sign_votes(EL.genesis_hash, specs)
    replies = race([("POST", "/api/votes", T.strip_vote(v)) for v in votes])
    ok = [i for i, r in enumerate(replies) if r.status == 202]
    refused = [i for i, r in enumerate(replies) if r.status == 409 and r.code == "already_voted"]
    res.check("votes at once with a double vote: the voter who voted before is refused",
              0 in refused, [(r.status, r.code) for r in replies])
    res.check("votes at once with a double vote: one of the double vote's two is accepted",
              (5 in ok) != (12 in ok) and (5 in refused or 12 in refused),
              [(r.status, r.code) for r in replies])
    res.check("votes at once with a double vote: every other vote is accepted",
              sorted(ok + refused) == list(range(13)) and len(ok) == 11,
              [(r.status, r.code) for r in replies])
    res.check("each accepted vote's acceptance names its txid",
              all(replies[i].json["acceptance"]["txid"] == replies[i].json["txid"] for i in ok),
              [replies[i].json for i in ok])
    txids = [replies[i].json["txid"] for i in ok] + [earlier]
    # every process killed at once, as a machine that stops would; then started again
    for p in SYS.all_pids():
        try:
            os.kill(p, 9)
        except ProcessLookupError:
            pass
    time.sleep(0.3)
    if not res.check("the system starts again after every process was killed", SYS.start(),
                     SYS.last_output):
        return
    found = [T.request(SYS, "GET", f"/api/votes/{t}") for t in txids]
    res.check("every accepted vote is in the pool after the kill",
              all(r.status == 200 and r.json["status"] == "pending" for r in found),
              [(r.status, r.code) for r in found])


def one_vote(voter):
    v = T.sign_votes(EL.genesis_hash, [(voter[0], voter[1], EL.candidates[0],
                                        int(time.time()))])[0]
    r = T.request(SYS, "POST", "/api/votes", T.strip_vote(v))
    res.check("a vote before the batch is accepted", r.status == 202, r)
    return r.json["txid"] if r.json else None


def tip_block():
    h = T.tip(SYS)
    return h, T.block_at(SYS, h)


def new_votes(n):
    now = int(time.time())
    vs = T.sign_votes(EL.genesis_hash, [(k[0], k[1], EL.candidates[0], now)
                                        for k in (fresh.pop() for _ in range(n))])
    for v in vs:
        r = T.request(SYS, "POST", "/api/votes", T.strip_vote(v))
        if r.status != 202:
            res.check("a vote for a race is accepted", False, r)
    return vs


def rival_blocks(n_rivals=2):
    """n_rivals mined blocks at the next height, each with its own fresh vote, posted
    as proposals."""
    h, tipb = tip_block()
    votes = new_votes(n_rivals)
    ts = max(int(time.time()), tipb["timestamp"])
    blocks = [T.make_block(h + 1, tipb["hash"], [v], ts, DIFFICULTY) for v in votes]
    for b in blocks:
        r = T.request(SYS, "POST", "/api/blocks", b)
        if not res.check(f"rival proposal at height {h + 1} accepted (202)", r.status == 202, r):
            return h, None, votes
    return h, blocks, votes


def approve(block, validator):
    a = T.approvals(block["hash"], [validator])[0]
    return a, T.request(SYS, "POST", f"/api/proposals/{block['hash']}/approvals", a)


def rival_commit(round_no):
    v = EL.validators
    h, blocks, votes = rival_blocks()
    if blocks is None:
        return
    a, b = blocks
    r1 = approve(a, v[0])[1]
    r2 = approve(b, v[2])[1]
    res.check(f"first approvals recorded without committing (round {round_no})",
              r1.status == 201 and r2.status == 201 and not r1.json["committed"]
              and not r2.json["committed"], (r1, r2))
    ap1 = T.approvals(a["hash"], [v[1]])[0]
    ap2 = T.approvals(b["hash"], [v[3]])[0]
    replies = race([("POST", f"/api/proposals/{a['hash']}/approvals", ap1),
                    ("POST", f"/api/proposals/{b['hash']}/approvals", ap2)])
    won = [i for i, r in enumerate(replies) if r.status == 201 and r.json.get("committed")]
    res.check(f"two rivals approved concurrently: exactly one committed (round {round_no})",
              len(won) == 1, replies)
    loser = [r for i, r in enumerate(replies) if i not in won]
    res.check(f"the other approval is refused with a 4xx JSON error (round {round_no})",
              len(loser) == 1 and 400 <= loser[0].status < 500 and loser[0].code, loser)
    new_h = T.tip(SYS)
    res.check(f"the chain grew by exactly one block (round {round_no})", new_h == h + 1,
              (h, new_h))
    if len(won) != 1:
        return
    winner, other = (a, b) if won[0] == 0 else (b, a)
    committed = T.block_at(SYS, h + 1)
    res.check(f"the committed block is the one whose approval won (round {round_no})",
              committed and committed["hash"] == winner["hash"], committed)
    r = T.request(SYS, "GET", f"/api/proposals/{other['hash']}")
    res.check(f"the rival proposal is discarded (round {round_no})", r.status == 404, r)
    lost_vote = votes[1] if won[0] == 0 else votes[0]
    r = T.request(SYS, "GET", f"/api/votes/{lost_vote['txid']}")
    res.check(f"the rival's vote is back to pending (round {round_no})",
              r.status == 200 and r.json.get("status") == "pending", r)


def same_block_threshold():
    v = EL.validators
    h, blocks, _ = rival_blocks(1)
    if blocks is None:
        return
    b = blocks[0]
    approve(b, v[0])
    aps = T.approvals(b["hash"], [v[1], v[2], v[3]])
    replies = race([("POST", f"/api/proposals/{b['hash']}/approvals", ap) for ap in aps])
    won = [r for r in replies if r.status == 201 and r.json.get("committed")]
    res.check("three concurrent approvals past the threshold commit the block once",
              len(won) == 1 and T.tip(SYS) == h + 1, (replies, T.tip(SYS)))
    blk = T.block_at(SYS, h + 1)
    res.check("the committed block carries exactly threshold-many distinct approvals "
              "or more, all from validators",
              blk and len(blk["approvals"]) >= 2
              and len({x["validator_key"] for x in blk["approvals"]}) == len(blk["approvals"]),
              blk and blk["approvals"])


def equivocation():
    v = EL.validators
    h, blocks, _ = rival_blocks()
    if blocks is None:
        return
    a, b = blocks
    ap_a, r = approve(a, v[0])
    res.check("a validator's first approval at a height is recorded", r.status == 201, r)
    ap_b, r = approve(b, v[0])
    res.check("its approval of a second block at that height is refused (409 equivocation)",
              r.status == 409 and r.code == "equivocation", r)
    r = T.request(SYS, "GET", f"/api/proposals/{b['hash']}")
    counted = [x for x in (r.json or {}).get("approvals", [])
               if x["validator_key"] == v[0][1]]
    res.check("the refused approval is not counted on the second block", not counted,
              counted)
    r = T.request(SYS, "GET", "/api/equivocations")
    text = r.body.decode(errors="replace")
    res.check("GET /api/equivocations answers 200 JSON", r.status == 200 and r.json is not None,
              r)
    res.check("the evidence keeps the refused approval (its signature and block)",
              ap_b["signature"] in text and b["hash"] in text, r)
    res.check("the evidence keeps the earlier approval it contradicts (signature and block)",
              ap_a["signature"] in text and a["hash"] in text, r)
    # the second block commits, the first is discarded: the evidence must outlive both
    for k in (v[2], v[3]):
        approve(b, k)
    res.check("the other block commits without the refused approval", T.tip(SYS) == h + 1,
              T.tip(SYS))
    r = T.request(SYS, "GET", "/api/equivocations")
    text = r.body.decode(errors="replace")
    res.check("after the rival commits the evidence still holds both signed approvals",
              r.status == 200 and ap_a["signature"] in text and ap_b["signature"] in text, r)

    # the same, both approvals at once: one is recorded, the other is equivocation
    h, blocks, _ = rival_blocks()
    if blocks is None:
        return
    a, b = blocks
    aps = [T.approvals(a["hash"], [v[1]])[0], T.approvals(b["hash"], [v[1]])[0]]
    replies = race([("POST", f"/api/proposals/{a['hash']}/approvals", aps[0]),
                    ("POST", f"/api/proposals/{b['hash']}/approvals", aps[1])])
    ok = [r for r in replies if r.status == 201]
    eq = [r for r in replies if r.status == 409 and r.code == "equivocation"]
    res.check("two concurrent approvals by one validator at one height: one recorded, "
              "one refused as equivocation", len(ok) == 1 and len(eq) == 1, replies)


def main():
    global SYS, EL, fresh
    SYS = T.System(prefix="cv-races-", WORKERS=4)
    try:
        if not res.check("system starts", SYS.start(), SYS.last_output):
            return
        EL = T.setup_election(SYS, res, n_voters=72, n_validators=4, threshold=2,
                              difficulty=DIFFICULTY, max_block_votes=16)
        if EL is None:
            return
        fresh = list(EL.voters)
        for i in range(3):
            one_voter_votes(i + 1)
        for i in range(4):
            rival_commit(i + 1)
        same_block_threshold()
        equivocation()
        mixed_batch()
        ok, out = T.verify_export(T.export(SYS))
        res.check("chainvote verify accepts the chain after the races", ok, out)
    finally:
        SYS.cleanup()


if __name__ == "__main__":
    res.run(main)
