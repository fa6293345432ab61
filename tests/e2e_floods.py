"""A flood of proposals at one height, from one client, against the real system:
  - 200 mined blocks built from five pool votes (every one a different ordered choice of
    votes, so a different merkle root) are each answered 202 or a 409 JSON error, and the
    height keeps the bound (64): blocks with more votes take the place of smaller ones,
    the rest are refused with proposals_full;
  - the same votes mined again with another timestamp are refused with same_votes;
  - GET /api/proposals stays small (a summary each, bytes bounded) and
    GET /api/proposals/{hash} serves the verdict stored at admission (every check true);
  - the validate workers' resident memory stays flat across repeated listings;
  - two validators running `chainvote approve --all` commit a block, and the chain
    passes chainvote verify.
Started by tests/e2e_floods.sh with BIN and CGI set."""
import base64
import itertools
import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True   # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cvtest as T  # noqa: E402

res = T.Results("e2e_floods")
BOUND = 64                  # CV_PROPOSALS_PER_HEIGHT
LIST_MAX_BYTES = 32 * 1024  # 64 summaries of about 300 bytes
RSS_GROWTH_MAX_KB = 4096


def b64u(h):
    return base64.urlsafe_b64encode(bytes.fromhex(h)).rstrip(b"=").decode()


def key_file(path, key):
    """A key file (chainvote-key/1, a JWK inside) for the (scalar, public) key."""
    scalar, public = key
    jwk = {"kty": "EC", "crv": "P-256", "x": b64u(public[2:66]), "y": b64u(public[66:130]),
           "d": b64u(scalar)}
    with open(path, "w") as f:
        json.dump({"format": "chainvote-key/1", "public_key": public, "private_key": jwk}, f)
    return path


def rss_kb(pids):
    out = {}
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        out[p] = int(line.split()[1])
        except OSError:
            pass
    return out


def post_block(sysm, blk):
    """POST /api/blocks; a 429 of nginx's rate limit is waited out."""
    for _ in range(50):
        r = T.request(sysm, "POST", "/api/blocks", blk, timeout=30)
        if r.status != 429:
            return r
        time.sleep(0.1)
    return r


def main():
    # under ASan freed memory waits in a quarantine, which would read as growth
    asan = ":".join(x for x in (os.environ.get("ASAN_OPTIONS"), "quarantine_size_mb=0") if x)
    sysm = T.System(prefix="cv-floods-", WORKERS=2, RATE_EXEMPT_LOOPBACK=1, ASAN_OPTIONS=asan)
    try:
        el = T.setup_offline(sysm, res, n_voters=6, n_validators=3, threshold=2)
        if el is None:
            return
        if not res.check("system starts", sysm.start(), sysm.last_output):
            return
        if not res.check("the election is open", T.fill_genesis(sysm, el)):
            return
        now = int(time.time())
        votes = T.sign_votes(el.genesis_hash, [(v[0], v[1], el.candidates[0], now)
                                               for v in el.voters[:5]])
        for v in votes:
            r = T.request(sysm, "POST", "/api/votes", T.strip_vote(v))
            res.check("a vote enters the pool", r.status == 202, r)
        tipb = T.block_at(sysm, 0)
        ts = max(now, tipb["timestamp"])

        # 200 blocks, smallest first: every ordered choice of 1, 2, 3 votes, then 4
        choices = [c for k in (1, 2, 3, 4) for c in itertools.permutations(votes, k)][:200]
        statuses, codes, first = {}, {}, None
        for c in choices:
            blk = T.make_block(1, tipb["hash"], list(c), ts, el.settings["difficulty"])
            r = post_block(sysm, blk)
            statuses[r.status] = statuses.get(r.status, 0) + 1
            if r.status == 409:
                codes[r.code] = codes.get(r.code, 0) + 1
            first = first or blk
        # 64 fill the height (5 + 20 + 39), the other 21 three-vote blocks and the first
        # 64 four-vote ones each take a smaller one's place, the last 51 find none
        res.check("every block is answered 202 or 409 (no 5xx, no other)",
                  set(statuses) <= {202, 409}, statuses)
        res.check("149 blocks admitted (64, then 85 in place of smaller ones)",
                  statuses.get(202) == 149, statuses)
        res.check("51 refused with a proposals_full JSON error",
                  codes == {"proposals_full": 51}, codes)

        r = T.request(sysm, "GET", "/api/proposals")
        props = (r.json or {}).get("proposals", [])
        res.check("the listing holds the bound of proposals", r.status == 200 and
                  len(props) == BOUND and r.json.get("limit") == BOUND, (r.status, len(props)))
        res.check("every proposal kept carries four votes (the smaller gave way)",
                  props and all(p["n_votes"] == 4 for p in props), [p["n_votes"] for p in props])
        res.check(f"the listing is small ({len(r.body)} bytes <= {LIST_MAX_BYTES})",
                  len(r.body) <= LIST_MAX_BYTES, len(r.body))
        res.check("a summary is hash, height, n_votes, verdict, counts, received_at",
                  props and set(props[0]) == {"hash", "height", "n_votes", "verdict",
                                              "n_approvals", "n_rejections", "received_at"},
                  props[:1])

        four = next(c for c in choices if len(c) == 4)
        again = T.make_block(1, tipb["hash"], list(four), ts + 1, el.settings["difficulty"])
        r = post_block(sysm, again)
        res.check("the same votes mined again are refused (409 same_votes)",
                  r.status == 409 and r.code == "same_votes", r)

        h = props[0]["hash"] if props else "00" * 32
        r = T.request(sysm, "GET", f"/api/proposals/{h}")
        d = r.json or {}
        checks = d.get("checks", {})
        res.check("one proposal is served with the verdict stored at admission",
                  r.status == 200 and d.get("verdict") == "ok" and d["block"]["hash"] == h and
                  all(checks.get(k) is True for k in ("version", "height", "link", "difficulty",
                                                      "pow", "hash", "timestamp", "vote_count",
                                                      "merkle")) and
                  [v["result"] for v in checks.get("votes", [])] == ["ok"] * 4 and
                  checks.get("rules", {}).get("ok") is True, d)

        # memory of the validate workers across repeated listings
        workers = sysm.workers("validate")
        for _ in range(10):
            T.request(sysm, "GET", "/api/proposals")
        before = rss_kb(workers)
        for _ in range(100):
            T.request(sysm, "GET", "/api/proposals")
        for p in props:
            T.request(sysm, "GET", f"/api/proposals/{p['hash']}")
        after = rss_kb(workers)
        growth = max((after.get(p, 0) - before[p] for p in before), default=None)
        res.check(f"the validate workers' memory stays flat (grew {growth} kB at most)",
                  growth is not None and growth <= RSS_GROWTH_MAX_KB, (before, after))

        # two validators with the CLI commit a block
        keys = [key_file(os.path.join(sysm.tmp, f"validator{i}.json"), el.validators[i])
                for i in range(2)]
        outs = []
        for k in keys:
            r = subprocess.run([T.CHAINVOTE, "approve", "--url", sysm.url, "--key", k, "--all"],
                               capture_output=True, text=True, timeout=120)
            outs.append((r.returncode, r.stdout, r.stderr))
        res.check("validator 1: approve --all approves one proposal",
                  outs[0][0] == 0 and "approved (1/2)" in outs[0][1], outs[0])
        res.check("validator 2: approve --all picks the same one and commits it",
                  outs[1][0] == 0 and "approved (2/2), committed" in outs[1][1], outs[1])
        res.check("the chain's tip is block 1", T.tip(sysm) == 1, T.tip(sysm))
        r = T.request(sysm, "GET", "/api/proposals")
        res.check("the rival proposals are discarded with the commit",
                  r.status == 200 and r.json.get("proposals") == [], r)
        ok, out = T.verify_export(T.export(sysm))
        res.check("chainvote verify accepts the chain", ok, out)
    finally:
        sysm.cleanup()


if __name__ == "__main__":
    res.run(main)
