"""Changes of the parameters in force, end to end (docs/GOVERNANCE.md), through nginx:
  - hostile changes are refused with a JSON error and change nothing: no signature, two,
    a signature over other bytes, a key that is no validator, another election, a height
    passed, malformed JSON; a signature added twice, or over other bytes;
  - a change with fewer than threshold signatures is never offered by GET /api/work;
  - `chainvote change propose|sign|list` extends closes: once three of four validators
    signed, the work template is the change alone, the miner mines it, `chainvote
    approve --all` commits it, and /api/election shows the closes in force;
  - a leaked validator key is replaced: after the effective height the old key's
    approval is refused (403 not_validator, and by `chainvote approve`), the new key's
    counts, and the new key may sign changes;
  - the difficulty changes: the next templates and blocks are at the new difficulty;
  - after the seal a change is refused (409 sealed);
  - `chainvote verify` calls the whole chain valid and names every change.
Started by tests/e2e_changes.sh with BIN and CGI set."""
import base64
import json
import os
import struct
import subprocess
import sys
import time

sys.dont_write_bytecode = True   # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cvtest as T  # noqa: E402

res = T.Results("e2e_changes")

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


KIND = {"closes": 1, "validator_key": 2, "difficulty": 3}


def message(ch):
    """The change's signed message (docs/GOVERNANCE.md), built here byte for byte."""
    m = (b"chainvote/change/1" + bytes.fromhex(ch["election_id"]) +
         struct.pack(">QB", ch["effective_height"], KIND[ch["kind"]]))
    if ch["kind"] == "closes":
        m += struct.pack(">Q", ch["closes"])
    elif ch["kind"] == "difficulty":
        m += struct.pack(">B", ch["difficulty"])
    else:
        m += bytes.fromhex(ch["old_key"]) + bytes.fromhex(ch["new_key"])
    return m


def signed(ch, keys, msg=None):
    """ch with signatures of keys (scalar, public) in ascending key order."""
    sigs = T.sign_many([(k[0], msg if msg is not None else message(ch)) for k in keys])
    out = dict(ch)
    out["signatures"] = sorted(({"validator_key": s[0], "signature": s[1]} for s in sigs),
                               key=lambda s: s["validator_key"])
    return out


def cli(sysm, *args):
    r = subprocess.run([T.CHAINVOTE, *args, "--url", sysm.url], capture_output=True,
                       text=True, timeout=120)
    return r.returncode, r.stdout + r.stderr


def changes(sysm):
    return T.request(sysm, "GET", "/api/changes").json or {}


def mine_once(sysm):
    return subprocess.run([T.MINER, "--url", sysm.url, "--once", "--threads", "1"],
                          capture_output=True, text=True, timeout=300)


def approve_all(sysm, keys):
    return [cli(sysm, "approve", "--key", k, "--all") for k in keys]


def vote_and_commit(sysm, el, voter, keys, what):
    """One vote mined and committed by `chainvote approve --all` of keys."""
    h = T.tip(sysm)
    v = T.sign_votes(el.genesis_hash, [(voter[0], voter[1], 1, int(time.time()))])[0]
    r = T.request(sysm, "POST", "/api/votes", T.strip_vote(v))
    res.check(f"{what}: a vote is accepted", r.status == 202, r)
    out = mine_once(sysm)
    res.check(f"{what}: the miner proposes it", out.returncode == 0, (out.stdout, out.stderr))
    outs = approve_all(sysm, keys)
    return res.check(f"{what}: the block commits", T.tip(sysm) == h + 1, outs)


def sign_and_commit(sysm, files, change_id, signers, approvers, what):
    """signers sign change_id with `chainvote change sign`; then it is mined and
    committed by approvers. True when the tip moved by one block carrying the change."""
    for k in signers:
        rc, out = cli(sysm, "change", "sign", "--key", files[k], change_id)
        res.check(f"{what}: validator {k} signs with chainvote change sign", rc == 0, out)
    r = T.request(sysm, "GET", "/api/work")
    res.check(f"{what}: the work template is the change alone",
              r.status == 200 and (r.json or {}).get("votes") == [] and
              (r.json or {}).get("change", {}).get("kind") is not None, r)
    h = T.tip(sysm)
    out = mine_once(sysm)
    res.check(f"{what}: the miner mines the change", out.returncode == 0, (out.stdout, out.stderr))
    outs = approve_all(sysm, [files[k] for k in approvers])
    ok = T.tip(sysm) == h + 1
    res.check(f"{what}: chainvote approve --all commits it", ok, outs)
    b = T.block_at(sysm, h + 1) or {}
    res.check(f"{what}: the committed block carries the change and no vote",
              b.get("votes") == [] and (b.get("change") or {}).get("effective_height") == h + 2, b)
    lst = changes(sysm).get("changes", [])
    res.check(f"{what}: GET /api/changes lists it committed at its height",
              any(c["id"] == change_id and c["status"] == "committed" and c["height"] == h + 1
                  for c in lst), lst)
    return ok


def proposed_id(out):
    for line in out.splitlines():
        if line.startswith("change ") and " proposed:" in line:
            return line.split()[1]
    return None


def main():
    sysm = T.System(prefix="cv-changes-")
    try:
        if not res.check("system starts", sysm.start(), sysm.last_output):
            return
        el = T.setup_election(sysm, res, n_voters=8, n_validators=4, threshold=3, difficulty=8)
        if el is None:
            return
        vals = el.validators
        files = [key_file(os.path.join(sysm.tmp, f"validator-{i}.json"), *vals[i])
                 for i in range(4)]
        r = T.request(sysm, "GET", "/api/changes")
        res.check("GET /api/changes: none yet, four validators in force, threshold 3",
                  r.status == 200 and r.json.get("changes") == [] and
                  len(r.json.get("validators", [])) == 4 and r.json.get("threshold") == 3, r)
        if not vote_and_commit(sysm, el, el.voters[0], files[:3], "block 1"):
            return
        eid = el.genesis_hash
        closes = el.genesis_timestamp + 7200
        base = {"election_id": eid, "effective_height": 3, "kind": "closes", "closes": closes}

        # ---- hostile changes: a clear JSON error, nothing stored ----
        hostile = [
            ("no signature", dict(base, signatures=[]), 422, "change_signatures"),
            ("two signatures at once", signed(base, vals[:2]), 422, "change_signatures"),
            ("a signature over other bytes", signed(base, vals[:1], msg=b"other bytes"),
             422, "bad_signature"),
            ("a key that is no validator", signed(base, T.keygen(1)), 422, "change_signatures"),
            ("another election", signed(dict(base, election_id="00" * 32), vals[:1]), 422,
             "bad_change"),
            ("a height passed", signed(dict(base, effective_height=2), vals[:1]), 409, "stale"),
            ("closes before the genesis", signed(dict(base, closes=1), vals[:1]), 422,
             "bad_change"),
        ]
        for what, body, status, code in hostile:
            r = T.request(sysm, "POST", "/api/changes", body)
            res.check(f"a change with {what} is refused ({status} {code})",
                      r.status == status and r.code == code, r)
        r = T.request(sysm, "POST", "/api/changes", raw=b'{"kind": "closes"', ctype="application/json")
        res.check("malformed JSON is refused (400 malformed)", r.status == 400 and r.code == "malformed", r)
        res.check("nothing was stored", changes(sysm).get("changes") == [], changes(sysm))

        # ---- closes extended with chainvote change ----
        rc, out = cli(sysm, "change", "propose", "--key", files[0], "--closes", str(closes))
        cid = proposed_id(out)
        res.check("chainvote change propose --closes: proposed with one signature",
                  rc == 0 and cid is not None and "1 signature" in out, out)
        rc, out = cli(sysm, "change", "sign", "--key", files[0], cid or "00" * 32)
        res.check("the proposer signing again is refused", rc != 0 and "already" in out, out)
        r = T.request(sysm, "POST", f"/api/changes/{cid}/signatures",
                      signed(base, vals[1:2], msg=b"not this change")["signatures"][0])
        res.check("a signature over other bytes is refused (422 bad_signature)",
                  r.status == 422 and r.code == "bad_signature", r)
        r = T.request(sysm, "POST", f"/api/changes/{'ab' * 32}/signatures",
                      signed(base, vals[1:2])["signatures"][0])
        res.check("a signature for an unknown change is refused (404 not_found)",
                  r.status == 404 and r.code == "not_found", r)
        rc, out = cli(sysm, "change", "sign", "--key", files[1], cid)
        res.check("validator 1 signs: two of three", rc == 0 and "2 signatures" in out, out)
        r = T.request(sysm, "GET", "/api/work")
        res.check("with too few signatures the change is never offered",
                  r.status == 200 and "change" not in (r.json or {}), r)
        lst = changes(sysm).get("changes", [])
        res.check("GET /api/changes: pending, signed by validators 0 and 1 by name",
                  len(lst) == 1 and lst[0]["status"] == "pending" and lst[0]["height"] == 2 and
                  sorted(s["name"] for s in lst[0]["signers"]) == ["Validator 0", "Validator 1"],
                  lst)
        rc, out = cli(sysm, "change", "list")
        res.check("chainvote change list names it and its signers",
                  rc == 0 and cid in out and "Validator 1" in out, out)
        if not sign_and_commit(sysm, files, cid, [2], [0, 1, 2], "closes extended"):
            return
        r = T.request(sysm, "GET", "/api/election")
        res.check("GET /api/election shows the closes in force",
                  r.status == 200 and r.json.get("closes") == closes, r)

        # ---- a leaked key replaced: validator 3's ----
        leaked = vals[3]
        fresh = T.keygen(1)[0]
        fresh_file = key_file(os.path.join(sysm.tmp, "validator-3-new.json"), *fresh)
        rc, out = cli(sysm, "change", "propose", "--key", files[0], "--old-key", leaked[1],
                      "--new-key", fresh[1])
        cid = proposed_id(out)
        res.check("chainvote change propose --old-key --new-key", rc == 0 and cid, out)
        if not sign_and_commit(sysm, files, cid, [1, 2], [0, 1, 2], "key replaced"):
            return
        h = T.tip(sysm)
        v = T.sign_votes(eid, [(el.voters[1][0], el.voters[1][1], 2, int(time.time()))])[0]
        r = T.request(sysm, "POST", "/api/votes", T.strip_vote(v))
        res.check("after the change a vote is accepted", r.status == 202, r)
        out = mine_once(sysm)
        props = (T.request(sysm, "GET", "/api/proposals").json or {}).get("proposals", [])
        if not res.check("the miner proposes it", out.returncode == 0 and len(props) == 1,
                         (out.stdout, props)):
            return
        bh = props[0]["hash"]
        r = T.request(sysm, "POST", f"/api/proposals/{bh}/approvals", T.approvals(bh, [leaked])[0])
        res.check("the leaked key's approval is refused (403 not_validator)",
                  r.status == 403 and r.code == "not_validator", r)
        rc, out = cli(sysm, "approve", "--key", files[3], "--all")
        res.check("chainvote approve with the leaked key is refused", rc != 0, out)
        r = T.request(sysm, "GET", f"/api/proposals/{bh}")
        res.check("nothing was recorded for it", r.status == 200 and r.json.get("n_approvals") == 0, r)
        outs = approve_all(sysm, [fresh_file, files[0], files[1]])
        res.check("the new key's approval counts: the block commits with it",
                  T.tip(sysm) == h + 1 and
                  fresh[1] in [a["validator_key"] for a in (T.block_at(sysm, h + 1) or {}).get("approvals", [])],
                  outs)

        # ---- the difficulty: proposed by the new key ----
        rc, out = cli(sysm, "change", "propose", "--key", fresh_file, "--difficulty", "4")
        cid = proposed_id(out)
        res.check("the new key proposes a change of the difficulty", rc == 0 and cid, out)
        rc, out = cli(sysm, "change", "sign", "--key", files[3], cid or "00" * 32)
        res.check("the leaked key cannot sign it", rc != 0 and "change_signatures" in out, out)
        if not sign_and_commit(sysm, files + [fresh_file], cid, [0, 1], [4, 0, 1], "difficulty"):
            return
        r = T.request(sysm, "GET", "/api/election")
        res.check("GET /api/election shows difficulty 4", r.json.get("difficulty") == 4, r)
        if not vote_and_commit(sysm, el, el.voters[2], [fresh_file, files[1], files[2]],
                               "at difficulty 4"):
            return
        b = T.block_at(sysm, T.tip(sysm)) or {}
        res.check("the block after the change is at difficulty 4", b.get("difficulty") == 4, b)

        # ---- a change that missed its height ----
        rc, out = cli(sysm, "change", "propose", "--key", files[0], "--difficulty", "6")
        missed = proposed_id(out)
        vote_and_commit(sysm, el, el.voters[3], [fresh_file, files[1], files[2]], "a vote first")
        lst = changes(sysm).get("changes", [])
        res.check("a change whose block height passed is listed as missed",
                  any(c["id"] == missed and c["status"] == "missed" for c in lst), lst)
        rc, out = cli(sysm, "change", "sign", "--key", files[1], missed or "00" * 32)
        res.check("and cannot be signed any more", rc != 0, out)

        # ---- the close, the seal, and no change after it ----
        r = T.request(sysm, "POST", "/admin/api/close", {}, auth=sysm.admin_auth())
        res.check("the admin closes the election", r.status == 200, r)
        rc, out = cli(sysm, "change", "propose", "--key", files[0], "--closes", str(closes + 60))
        res.check("after the close, closes no longer changes (409 closed)",
                  rc != 0 and "closed" in out, out)
        h = T.tip(sysm)
        out = mine_once(sysm)
        approve_all(sysm, [fresh_file, files[0], files[1]])
        r = T.request(sysm, "GET", "/api/election")
        if not res.check("the seal commits", r.json.get("final") is True, r):
            return
        body = signed(dict(base, kind="difficulty", difficulty=5, effective_height=h + 3), vals[:1])
        del body["closes"]
        r = T.request(sysm, "POST", "/api/changes", body)
        res.check("after the seal a change is refused (409 sealed)",
                  r.status == 409 and r.code == "sealed", r)
        ok, out = T.verify_export(T.export(sysm))
        res.check("chainvote verify: valid and final, every change named",
                  ok and "final: sealed" in out and out.count("change at height") == 3, out)
    finally:
        sysm.cleanup()


if __name__ == "__main__":
    res.run(main)
