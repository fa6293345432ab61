"""Secret ballots through the service, the chain and the tally, against the real nginx and
programs, in election `council` (/api/e/council/...): three validators are the trustees,
quorum 2, three candidates.
  - the key ceremony through `chainvote trustee keygen|shares` (as e2e_ceremony), the open;
  - a ballot made here in Python (an independent prover: P-256 arithmetic written out) is
    taken (202 with a signed acceptance of its txid); voters cast ballots with
    `chainvote vote`, which encrypts the choice under K;
  - hostile ballots are refused with 4xx JSON and change nothing: a point off the curve,
    65 zero bytes for the identity, a 0/1 proof for 2, two ones (a sum of 2), a ballot
    copied under another voter's key, proofs bound to another election, a second ballot
    of a voter;
  - the miner commits the ballots from the work template, two validators approve with
    `chainvote approve --all`; a ballot's receipt (GET /api/votes/{txid}) is committed with
    an inclusion proof that leads to the block's merkle root;
  - /api/results shows turnout only until decrypted; `trustee decrypt` waits for the seal;
    the close, the seal mined and approved; two of three trustees post their decryption
    shares with `chainvote trustee decrypt`; a second post is refused as a duplicate; a
    share from a non-trustee is refused; the miner commits a block of shares;
  - /api/results then shows the counts of the choices made here, `chainvote verify`
    prints the same tally, and the export passes verify;
  - the default (open) election alongside keeps its votes and its blocks' shape.
Started by tests/e2e_ballots.sh with BIN and CGI set."""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True   # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cvtest as T  # noqa: E402
import e2e_ceremony as C  # noqa: E402  (the ceremony's helpers; its main() does not run)

res = T.Results("e2e_ballots")
SLUG = C.SLUG
N = C.N

# ---- P-256, written out: an independent prover for ballots (DESIGN section 6) ----
PR = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff
G = (0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296,
     0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5)


def add(p, q):
    if p is None:
        return q
    if q is None:
        return p
    if p[0] == q[0] and (p[1] + q[1]) % PR == 0:
        return None
    if p == q:
        m = 3 * (p[0] * p[0] - 1) * pow(2 * p[1], -1, PR) % PR
    else:
        m = (q[1] - p[1]) * pow(q[0] - p[0], -1, PR) % PR
    x = (m * m - p[0] - q[0]) % PR
    return x, (m * (p[0] - x) - p[1]) % PR


def mul(k, p):
    r = None
    k %= N
    while k:
        if k & 1:
            r = add(r, p)
        p = add(p, p)
        k >>= 1
    return r


def neg(p):
    return None if p is None else (p[0], (-p[1]) % PR)


def enc(p):
    return b"\x04" + p[0].to_bytes(32, "big") + p[1].to_bytes(32, "big")


def dec(h):
    b = bytes.fromhex(h)
    return int.from_bytes(b[1:33], "big"), int.from_bytes(b[33:], "big")


def rnd():
    return int.from_bytes(os.urandom(32), "big") % (N - 1) + 1


def sc(x):
    return (x % N).to_bytes(32, "big")


def make_ballot(eid, voter, K, ms, timestamp, forge=None):
    """A ballot of plaintexts ms (one per candidate) by voter (scalar hex, key hex) under
    K, with 0/1 proofs that claim m in {0, 1} (a plaintext 2 is proven as if 1: the proof
    cannot hold) and the sum proof for 1."""
    d, key_hex = voter
    e, vk = bytes.fromhex(eid), bytes.fromhex(key_hex)
    cts, proofs, R = [], [], 0
    for i, m in enumerate(ms):
        r = rnd()
        R += r
        A, B = mul(r, G), add(mul(m, G), mul(r, K))
        real = 1 if m >= 1 else 0
        w, c_o, v_o = rnd(), rnd(), rnd()
        other = 1 - real
        a_o = add(mul(v_o, G), mul(c_o, A))
        b_o = add(mul(v_o, K), mul(c_o, add(B, neg(mul(other, G)))))
        a_r, b_r = mul(w, G), mul(w, K)
        pts = {real: (a_r, b_r), other: (a_o, b_o)}
        c = C.hs(b"chainvote/ballot-proof/1", e + vk + i.to_bytes(2, "big") + enc(A) + enc(B) +
                 enc(pts[0][0]) + enc(pts[0][1]) + enc(pts[1][0]) + enc(pts[1][1]))
        c_r = (c - c_o) % N
        v_r = (w - c_r * r) % N
        cv = {real: (c_r, v_r), other: (c_o, v_o)}
        cts.append((A, B))
        proofs.append(cv)
    As, Bs = None, None
    for A, B in cts:
        As, Bs = add(As, A), add(Bs, B)
    w = rnd()
    cs = C.hs(b"chainvote/ballot-sum/1", e + vk + enc(As) + enc(Bs) + enc(mul(w, G)) +
              enc(mul(w, K)))
    vs = (w - cs * R) % N
    b = {"election_id": eid, "voter_key": key_hex, "timestamp": timestamp,
         "ciphertexts": [{"a": enc(A).hex(), "b": enc(B).hex()} for A, B in cts],
         "proofs": [{"c0": sc(p[0][0]).hex(), "v0": sc(p[0][1]).hex(),
                     "c1": sc(p[1][0]).hex(), "v1": sc(p[1][1]).hex()} for p in proofs],
         "sum_proof": {"c": sc(cs).hex(), "v": sc(vs).hex()}}
    if forge:
        forge(b)
    return sign_ballot(b, d)


def ballot_payload(b):
    out = (b"chainvote/ballot/1" + bytes.fromhex(b["election_id"]) + bytes.fromhex(b["voter_key"]) +
           b["timestamp"].to_bytes(8, "big") + len(b["ciphertexts"]).to_bytes(2, "big"))
    out += b"".join(bytes.fromhex(c["a"]) + bytes.fromhex(c["b"]) for c in b["ciphertexts"])
    out += b"".join(bytes.fromhex(p[k]) for p in b["proofs"] for k in ("c0", "v0", "c1", "v1"))
    return out + bytes.fromhex(b["sum_proof"]["c"]) + bytes.fromhex(b["sum_proof"]["v"])


def sign_ballot(b, d):
    b["signature"] = T.sign_many([(d, ballot_payload(b))])[0][1]
    return b


def leaf_hash(leaf):
    return hashlib.sha256(b"\x00" + leaf).digest()


def path_root(leaf_h, index, size, path):
    """RFC 9162 2.1.3.2: the root an audit path leads to."""
    fn, sn, r = index, size - 1, leaf_h
    for p in path:
        p = bytes.fromhex(p)
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def P(path):
    return T.epath(path, SLUG)


def state(sysm):
    """What a refused write must leave as it was: results, pool and tip."""
    r = T.request(sysm, "GET", P("/api/results"))
    j = r.json or {}
    return (j.get("pending"), j.get("committed"), j.get("tip_height"))


def miner_once(sysm, election=SLUG):
    args = [T.MINER, "--url", sysm.url, "--once", "--threads", "1"]
    if election:
        args += ["--election", election]
    return subprocess.run(args, capture_output=True, text=True, timeout=300)


def approve_all(sysm, trustees, n=2):
    return [C.cli("approve", "--url", sysm.url, "--election", SLUG, "--key", t.key_path, "--all")
            for t in trustees[:n]]


def commit_next(sysm, trustees, what):
    """Mines the next block from the work template and has two validators approve it."""
    before = state(sysm)[2]
    m = miner_once(sysm)
    outs = approve_all(sysm, trustees)
    after = state(sysm)[2]
    return res.check(what, m.returncode == 0 and after == (before or 0) + 1,
                     (m.stdout[-600:], m.stderr[-600:], [o.stdout + o.stderr for o in outs]))


def main():
    sysm = T.System(prefix="cv-ballots-", WORKERS=2)
    tmp = tempfile.mkdtemp(prefix="cv-ballots-keys-")
    try:
        if not res.check("system starts", sysm.start(), sysm.last_output):
            return
        auth = sysm.admin_auth()
        # the default election, open, alongside
        opened = T.setup_election(sysm, res, n_voters=3, difficulty=4,
                                  candidates=((1, "Yes"), (2, "No")))
        if opened is None:
            return
        ov = T.sign_votes(opened.genesis_hash,
                          [(opened.voters[0][0], opened.voters[0][1], 1,
                            opened.genesis_timestamp)])[0]
        ov.pop("txid")
        r = T.request(sysm, "POST", "/api/votes", ov)
        res.check("the open election takes a vote", r.status == 202, r)

        r = T.request(sysm, "POST", "/admin/api/elections", {"slug": SLUG, "title": "Council"},
                      auth=auth)
        if not res.check("election council is created", r.status == 201, r):
            return
        trustees = [C.Trustee(tmp, i) for i in range(3)]
        trustees.sort(key=lambda t: t.pub)
        settings = {"title": "Council", "threshold": 2, "difficulty": 4, "max_block_votes": 16,
                    "ballots": "secret", "quorum": 2}
        r = T.request(sysm, "PUT", P("/admin/api/election"), settings, auth=auth)
        res.check("the election is secret, quorum 2", r.status == 200, r)
        for cid, name in ((1, "Alder"), (2, "Birch"), (3, "Cedar")):
            T.request(sysm, "PUT", P(f"/admin/api/candidates/{cid}"), {"name": name}, auth=auth)
        for i, t in enumerate(trustees):
            T.request(sysm, "PUT", P(f"/admin/api/validators/{t.pub}"),
                      {"name": f"Trustee {i + 1}"}, auth=auth)
        # voters: key files for the CLI, and their scalars for the ballots made here
        voters = [C.Trustee(tmp, 10 + i) for i in range(7)]
        r = T.request(sysm, "POST", P("/admin/api/voters"), {"keys": [v.pub for v in voters]},
                      auth=auth)
        res.check("seven voters on the roll", r.status in (200, 201), r)
        for t in trustees:
            r = t.run(sysm, "keygen")
            res.check(f"{t.name} posts its trustee entry", r.returncode == 0, r.stderr)
        for _ in range(2):
            for t in trustees:
                t.run(sysm, "shares")
        if not res.check("every trustee holds s_j",
                         all(os.path.exists(t.secret + ".share") for t in trustees)):
            return
        r = T.request(sysm, "POST", P("/admin/api/open"), {}, auth=auth)
        if not res.check("the secret election opens", r.status == 200, r):
            return
        el = T.request(sysm, "GET", P("/api/election")).json
        eid, gts = el["genesis_hash"], el["genesis_timestamp"]
        g = T.request(sysm, "GET", P("/api/blocks/0")).json
        K = None
        for tr in g["secrecy"]["trustees"]:
            K = add(K, dec(tr["commitments"][0]))
        keyd = {v.pub: format(v.d, "064x") for v in voters}

        def vk(i):
            return (keyd[voters[i].pub], voters[i].pub)

        # ---- hostile ballots: refused, nothing changed ----
        before = state(sysm)

        def off_curve(b):
            a = bytearray.fromhex(b["ciphertexts"][0]["a"])
            a[64] ^= 1
            b["ciphertexts"][0]["a"] = a.hex()

        def identity(b):
            b["ciphertexts"][1]["b"] = "00" * 65

        hostile = [
            ("a point off the curve", make_ballot(eid, vk(0), K, [1, 0, 0], gts, off_curve),
             422, "ballot_point"),
            ("65 zero bytes for the identity", make_ballot(eid, vk(0), K, [1, 0, 0], gts,
                                                           identity), 422, "ballot_point"),
            ("a 0/1 proof for a plaintext 2", make_ballot(eid, vk(0), K, [2, 0, 0], gts),
             422, "ballot_proof"),
            ("two ones (a sum of 2)", make_ballot(eid, vk(0), K, [1, 1, 0], gts),
             422, "ballot_sum_proof"),
        ]
        copied = make_ballot(eid, vk(1), K, [0, 1, 0], gts)
        copied["voter_key"] = voters[0].pub
        hostile.append(("a ballot copied under another voter's key",
                        sign_ballot(copied, vk(0)[0]), 422, None))
        other = "11" * 32
        wrong_el = make_ballot(other, vk(0), K, [0, 1, 0], gts)
        wrong_el["election_id"] = eid
        hostile.append(("proofs bound to another election", sign_ballot(wrong_el, vk(0)[0]),
                        422, None))
        for what, b, status, code in hostile:
            r = T.request(sysm, "POST", P("/api/votes"), b)
            res.check(f"{what}: {status}{' ' + code if code else ''} JSON",
                      r.status == status and r.code and (code is None or r.code == code), r)
        res.check("the hostile ballots changed nothing", state(sysm) == before,
                  (before, state(sysm)))
        r = T.request(sysm, "GET", P(f"/api/voters/{voters[0].pub}"))
        res.check("voter 1 has still not voted", (r.json or {}).get("status") == "not_voted", r)

        # ---- ballots in ----
        py = make_ballot(eid, vk(6), K, [0, 1, 0], gts + 1)
        r = T.request(sysm, "POST", P("/api/votes"), py)
        txid_py = hashlib.sha256(ballot_payload(py)).hexdigest()
        acc = (r.json or {}).get("acceptance") or {}
        res.check("a ballot made in Python is taken: 202 with its txid and acceptance",
                  r.status == 202 and r.json.get("txid") == txid_py and
                  acc.get("txid") == txid_py, r)
        choices = [1, 2, 1, 3, 1, 3]
        for i, c in enumerate(choices):
            out = C.cli("vote", "--url", sysm.url, "--election", SLUG, "--key",
                        voters[i].key_path, "--candidate", str(c),
                        *(["--receipt-out", os.path.join(tmp, "r0.json")] if i == 0 else []))
            res.check(f"voter {i + 1} casts a ballot with chainvote vote", out.returncode == 0,
                      out.stdout + out.stderr)
        with open(os.path.join(tmp, "r0.json")) as f:
            receipt = json.load(f)
        res.check("the receipt file holds the ballot and its acceptance",
                  receipt.get("ballot", {}).get("voter_key") == voters[0].pub and
                  receipt["acceptance"]["txid"] == receipt["ballot"]["txid"], receipt)
        out = C.cli("vote", "--url", sysm.url, "--election", SLUG, "--key", voters[0].key_path,
                    "--candidate", "2")
        res.check("a second ballot of a voter is refused (already_voted)",
                  out.returncode != 0 and "already_voted" in out.stderr, out.stderr)
        r = T.request(sysm, "GET", P(f"/api/votes/{txid_py}"))
        res.check("GET /api/votes/{txid} shows the pending ballot",
                  r.status == 200 and r.json["status"] == "pending" and
                  r.json["ballot"]["txid"] == txid_py, r)
        r = T.request(sysm, "GET", P("/api/work"))
        res.check("the work template offers the seven ballots, no shares",
                  r.status == 200 and len(r.json["votes"]) == 7 and r.json["decryptions"] == []
                  and "ciphertexts" in r.json["votes"][0], r)

        # ---- committed ----
        commit_next(sysm, trustees, "the miner commits the ballots, two validators approve")
        r = T.request(sysm, "GET", P(f"/api/votes/{txid_py}"))
        st = r.json or {}
        root = (T.request(sysm, "GET", P("/api/blocks/1")).json or {}).get("merkle_root")
        lh = leaf_hash(ballot_payload(py) + bytes.fromhex(py["signature"]))
        ok = st.get("status") == "committed" and path_root(
            lh, st["index"], st["tree_size"], st["path"]) == bytes.fromhex(root or "")
        res.check("the ballot's receipt is committed; its path leads to block 1's merkle root",
                  ok, st)
        b1 = T.request(sysm, "GET", P("/api/blocks/1")).json or {}
        res.check("block 1 has the ballots in \"votes\" and an empty \"decryptions\"",
                  len(b1.get("votes", [])) == 7 and b1.get("decryptions") == [], b1.keys())
        r = T.request(sysm, "GET", P("/api/results"))
        j = r.json or {}
        res.check("results before the decryption: turnout only, the tally pending",
                  j.get("ballots") == "secret" and j.get("decrypted") is False and
                  j.get("committed") == 7 and "total" not in j and
                  all("votes" not in c for c in j.get("tally", [])), j)
        out = trustees[0].run(sysm, "decrypt", "--share", trustees[0].secret + ".share")
        res.check("trustee decrypt waits for the seal (exit 3)", out.returncode == 3,
                  out.stdout + out.stderr)

        # ---- the close and the seal ----
        r = T.request(sysm, "POST", P("/admin/api/close"), {}, auth=auth)
        res.check("the admin closes the election", r.status == 200, r)
        late = make_ballot(eid, vk(5), K, [1, 0, 0], gts)
        r = T.request(sysm, "POST", P("/api/votes"), late)
        res.check("a ballot after the close is refused: 409 closed",
                  r.status == 409 and r.code == "closed", r)
        commit_next(sysm, trustees, "the seal is mined and approved")
        r = T.request(sysm, "GET", P("/api/election"))
        res.check("the election is final with its seal", (r.json or {}).get("final") is True, r)

        # ---- decryption shares ----
        for t in trustees[:2]:
            out = t.run(sysm, "decrypt", "--share", t.secret + ".share")
            res.check(f"{t.name} posts its decryption share", out.returncode == 0 and
                      len(out.stdout.strip()) == 64, out.stdout + out.stderr)
        before = state(sysm)
        out = trustees[0].run(sysm, "decrypt", "--share", trustees[0].secret + ".share")
        res.check("a second share of a trustee is refused as a duplicate (told, exit 0)",
                  out.returncode == 0 and "posted already" in out.stdout, out.stdout + out.stderr)
        outsider = C.Trustee(tmp, 99)
        out = C.cli("trustee", "decrypt", "--url", sysm.url, "--election", SLUG, "--key",
                    outsider.key_path, "--share", trustees[2].secret + ".share")
        res.check("a non-trustee's decrypt is refused", out.returncode == 1, out.stderr)
        res.check("the refused shares changed nothing", state(sysm) == before,
                  (before, state(sysm)))
        r = T.request(sysm, "GET", P("/api/work"))
        res.check("the work template offers the two shares",
                  r.status == 200 and r.json["votes"] == [] and len(r.json["decryptions"]) == 2, r)
        commit_next(sysm, trustees, "the miner commits the shares, two validators approve")

        # ---- the tally ----
        want = {1: 3, 2: 2, 3: 2}   # voters 1-6 by the CLI, voter 7's ballot for 2
        r = T.request(sysm, "GET", P("/api/results"))
        j = r.json or {}
        got = {c["id"]: c.get("votes") for c in j.get("tally", [])}
        res.check("/api/results shows the decrypted counts of the choices made",
                  j.get("decrypted") is True and got == want and j.get("total") == 7, j)
        body = T.export(sysm, election=SLUG)
        ok, text = T.verify_export(body)
        res.check("the export passes chainvote verify", ok, text)
        res.check("chainvote verify prints the same tally", all(
            f"{n}" in text for n in ("Alder", "Birch", "Cedar")) and "pending" not in text and
            "3" in text, text)
        r = T.request(sysm, "GET", P("/api/work"))
        res.check("once decrypted the work template says sealed",
                  r.status == 409 and r.code == "sealed", r)

        # ---- the open election alongside ----
        r = T.request(sysm, "GET", "/api/work")
        res.check("the open election's template has its vote and no decryptions key",
                  r.status == 200 and len(r.json["votes"]) == 1 and "decryptions" not in r.json,
                  r)
        m = miner_once(sysm, None)
        r = T.request(sysm, "GET", "/api/proposals")
        res.check("the open election's miner proposes its vote",
                  m.returncode == 0 and len((r.json or {}).get("proposals", [])) == 1,
                  (m.stdout + m.stderr, r))
    finally:
        sysm.stop()
        sysm.cleanup()
        T.remove_tree(tmp)


if __name__ == "__main__":
    res.run(main)
