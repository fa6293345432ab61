"""Receipts against the real system (tools/run.sh on a free loopback port):
  - GET /api/election publishes the service key, the key file in the data directory is
    mode 0600 and holds that key;
  - a vote's 202 carries an acceptance that verifies under the published key (the CLI
    checks it and keeps it with --receipt-out; a tampered acceptance is refused);
  - a block in which the miner swapped a vote's signature for its (r, n-s) twin commits,
    and the voter's receipt check (CLI, with the voter's own receipt file) still passes;
  - chainvote verify --receipts DIR passes when every accepted vote is in the chain,
    reports an accepted vote that is not (pending while the chain is not sealed), and
    fails on an acceptance the service did not sign.
Started by tests/e2e_receipts.sh with BIN and CGI set."""
import json
import os
import shutil
import struct
import subprocess
import sys
import time

sys.dont_write_bytecode = True   # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cvtest as T  # noqa: E402

res = T.Results("e2e_receipts")
ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def cli(*args):
    return subprocess.run([T.CHAINVOTE, *args], capture_output=True, text=True, timeout=120)


def twin(sig_hex):
    """The other valid ECDSA signature of the same message: (r, n - s)."""
    r, s = sig_hex[:64], int(sig_hex[64:], 16)
    return r + format(ORDER - s, "064x")


def acceptance_message(txid, accepted_at):
    return b"chainvote/accept/1" + bytes.fromhex(txid) + struct.pack(">Q", accepted_at)


def receipt_file(path, vote, acceptance):
    with open(path, "w") as f:
        json.dump({"format": "chainvote-receipt/1", "vote": vote, "acceptance": acceptance}, f)


def keyfile_voters(d, n):
    """n voters with key files (the CLI votes with a key file): (path, public key)."""
    out = []
    for i in range(n):
        path = os.path.join(d, f"voter-{i}.json")
        r = cli("keygen", "-o", path)
        out.append((path, r.stderr.strip()))
    return out


def main():
    sysm = T.System(prefix="cv-receipts-", WORKERS=2)
    try:
        run(sysm)
    finally:
        sysm.cleanup()


def run(sysm):
    if not res.check("system starts", sysm.start(), sysm.last_output):
        return
    work = os.path.join(sysm.tmp, "work")
    rdir = os.path.join(sysm.tmp, "receipts")
    os.makedirs(work)
    os.makedirs(rdir)
    voters = keyfile_voters(work, 4)
    el = T.setup_election(sysm, res, n_validators=3, threshold=2, difficulty=4, voters=voters)
    if el is None:
        return

    # --- the service key: published, kept secret in the data directory
    r = T.request(sysm, "GET", "/api/election")
    service_key = (r.json or {}).get("service_key", "")
    res.check("GET /api/election publishes a service_key (65-byte point)",
              r.status == 200 and len(service_key) == 130 and service_key.startswith("04"), r)
    key_path = os.path.join(sysm.election_dir, "service-key.json")
    mode = os.stat(key_path).st_mode & 0o777 if os.path.exists(key_path) else None
    res.check("the service key file is in the data directory with mode 0600", mode == 0o600, mode)
    pub = T.sign_many([(key_path, b"x")])[0]
    res.check("the key file holds the published key", pub and pub[0] == service_key, pub)

    # --- a vote posted directly: the 202 carries a verifiable acceptance
    a = voters[0]
    vote_a = T.sign_votes(el.genesis_hash, [(a[0], a[1], 1, int(time.time()))])[0]
    r = T.request(sysm, "POST", "/api/votes", T.strip_vote(vote_a))
    acc = (r.json or {}).get("acceptance") or {}
    res.check("the 202 carries an acceptance of the vote's txid by the service key",
              r.status == 202 and acc.get("txid") == vote_a["txid"]
              and acc.get("service_key") == service_key
              and isinstance(acc.get("accepted_at"), int)
              and abs(acc["accepted_at"] - time.time()) < 60, r)
    file_a = os.path.join(rdir, "a.json")
    receipt_file(file_a, T.strip_vote(vote_a) | {"txid": vote_a["txid"]}, acc)
    p = cli("receipt", "--url", sysm.url, "--receipt", file_a)
    res.check("chainvote receipt --receipt verifies the acceptance (pending)",
              p.returncode == 0 and "signature verified" in p.stdout and "pending" in p.stdout,
              (p.stdout, p.stderr))
    bad = os.path.join(work, "tampered.json")
    receipt_file(bad, T.strip_vote(vote_a) | {"txid": vote_a["txid"]},
                 dict(acc, accepted_at=acc.get("accepted_at", 0) + 1))
    p = cli("receipt", "--url", sysm.url, "--receipt", bad)
    res.check("a tampered acceptance is refused", p.returncode == 1
              and "does not verify" in p.stderr, (p.stdout, p.stderr))

    # --- a vote through the CLI: it checks the acceptance and keeps the receipt
    b = voters[1]
    file_b = os.path.join(rdir, "b.json")
    p = cli("vote", "--url", sysm.url, "--key", b[0], "--candidate", "2", "--receipt-out", file_b)
    res.check("chainvote vote verifies the acceptance and writes the receipt file",
              p.returncode == 0 and os.path.exists(file_b), (p.stdout, p.stderr))
    if not os.path.exists(file_b):
        return
    res.check("the receipt file is mode 0600", os.stat(file_b).st_mode & 0o777 == 0o600)
    with open(file_b) as f:
        receipt_b = json.load(f)
    vote_b = receipt_b["vote"]
    res.check("the receipt file holds the vote and its acceptance",
              vote_b["txid"] == p.stdout.strip() and receipt_b["acceptance"]["txid"] == vote_b["txid"],
              receipt_b)

    # --- a block in which the miner swapped voter b's signature for its twin
    ts = max(int(time.time()), el.genesis_timestamp)
    committed_b = dict(T.strip_vote(vote_b), signature=twin(vote_b["signature"]))
    block = T.make_block(1, el.genesis_hash, [T.strip_vote(vote_a), committed_b], ts, 4)
    r = T.request(sysm, "POST", "/api/blocks", block)
    res.check("a block with the twin signature is a valid proposal", r.status == 202, r)
    for ap in T.approvals(block["hash"], el.validators[:2]):
        r = T.request(sysm, "POST", f"/api/proposals/{block['hash']}/approvals", ap)
    b1 = T.block_at(sysm, 1) or {}
    res.check("it commits with the twin signature in the chain",
              b1.get("hash") == block["hash"]
              and [v["signature"] for v in b1.get("votes", [])][1:] == [committed_b["signature"]]
              and committed_b["signature"] != vote_b["signature"], b1)
    p = cli("receipt", "--url", sysm.url, "--receipt", file_b)
    res.check("the voter's receipt (own signature) still verifies against the twin",
              p.returncode == 0 and "inclusion proof verified" in p.stdout, (p.stdout, p.stderr))
    p = cli("receipt", "--url", sysm.url, vote_b["txid"])
    res.check("chainvote receipt TXID verifies it too", p.returncode == 0
              and "inclusion proof verified" in p.stdout, (p.stdout, p.stderr))
    p = cli("receipt", "--url", sysm.url, "--receipt", file_a)
    res.check("the other voter's receipt verifies", p.returncode == 0, (p.stdout, p.stderr))

    # --- verify --receipts
    p = cli("verify", "--receipts", rdir, sysm.url)
    res.check("verify --receipts passes when every accepted vote is in the chain",
              p.returncode == 0 and "receipts: 2 checked, 2 in the chain, 0 missing" in p.stdout,
              (p.stdout, p.stderr))
    body = T.export(sysm)
    export_path = os.path.join(work, "export.json")
    with open(export_path, "wb") as f:
        f.write(body or b"")
    p = cli("verify", "--receipts", rdir, "--service-key", service_key, export_path)
    res.check("verify --receipts with --service-key on an export file", p.returncode == 0
              and "2 in the chain" in p.stdout, (p.stdout, p.stderr))
    p = cli("verify", "--receipts", rdir, export_path)
    res.check("an export file without --service-key is a usage error", p.returncode == 2, p.stderr)

    # an accepted vote the service never put in the chain (voter c's, signed by the
    # service's own key as if accepted, then dropped)
    c = voters[2]
    vote_c = T.sign_votes(el.genesis_hash, [(c[0], c[1], 3, int(time.time()))])[0]
    at = int(time.time())
    sig = T.sign_many([(key_path, acceptance_message(vote_c["txid"], at))])[0]
    acc_c = {"txid": vote_c["txid"], "accepted_at": at, "service_key": sig[0], "signature": sig[1]}
    receipt_file(os.path.join(rdir, "c.json"), T.strip_vote(vote_c) | {"txid": vote_c["txid"]}, acc_c)
    p = cli("verify", "--receipts", rdir, sysm.url)
    res.check("verify --receipts reports the accepted vote missing from the chain "
              "(pending: the chain is not sealed)",
              p.returncode == 0 and f"vote {vote_c['txid']}" in p.stdout
              and "1 pending" in p.stdout and "2 in the chain" in p.stdout, (p.stdout, p.stderr))

    # an acceptance the service did not sign (another key) is a problem
    d = voters[3]
    vote_d = T.sign_votes(el.genesis_hash, [(d[0], d[1], 3, int(time.time()))])[0]
    forged = T.sign_many([(d[0], acceptance_message(vote_d["txid"], at))])[0]
    receipt_file(os.path.join(rdir, "d.json"), T.strip_vote(vote_d) | {"txid": vote_d["txid"]},
                 {"txid": vote_d["txid"], "accepted_at": at, "service_key": forged[0],
                  "signature": forged[1]})
    p = cli("verify", "--receipts", rdir, sysm.url)
    res.check("verify --receipts fails on an acceptance not signed by the service key",
              p.returncode == 1 and "receipt d.json: bad_signature" in p.stdout, (p.stdout, p.stderr))
    shutil.copy(os.path.join(work, "export.json"), os.path.join(rdir, "not-a-receipt.json"))
    os.remove(os.path.join(rdir, "d.json"))
    p = cli("verify", "--receipts", rdir, sysm.url)
    res.check("a file in DIR that is not a receipt is reported", p.returncode == 1
              and "receipt not-a-receipt.json" in p.stdout, (p.stdout, p.stderr))
    os.remove(os.path.join(rdir, "not-a-receipt.json"))

    # the validators seal the chain without voter c's accepted vote: now it is missing
    r = T.request(sysm, "POST", "/admin/api/close", {}, auth=sysm.admin_auth())
    res.check("the admin closes the election", r.status == 200, r)
    m = subprocess.run([T.MINER, "--url", sysm.url, "--once", "--threads", "1"],
                       capture_output=True, text=True, timeout=120)
    props = (T.request(sysm, "GET", "/api/proposals").json or {}).get("proposals", [])
    whole = [T.request(sysm, "GET", f"/api/proposals/{x['hash']}").json or {} for x in props]
    seal = [x["block"] for x in whole if x.get("block", {}).get("seal")]
    res.check("the miner proposes the seal", m.returncode == 0 and len(seal) == 1,
              (m.stdout, m.stderr, props))
    if seal:
        for ap in T.approvals(seal[0]["hash"], el.validators[:2]):
            T.request(sysm, "POST", f"/api/proposals/{seal[0]['hash']}/approvals", ap)
    p = cli("verify", "--receipts", rdir, sysm.url)
    res.check("verify --receipts fails on an accepted vote missing from the sealed chain",
              p.returncode == 1 and "final: sealed" in p.stdout and "1 missing" in p.stdout
              and "0 pending" in p.stdout, (p.stdout, p.stderr))


res.run(main)
