"""`make run`'s secret demo (tools/run.sh start, BALLOTS secret by default), against the real
nginx and programs:
  - energy-free (DIFFICULTY=0 MINER=0), no daemon yet: run.sh ran the key ceremony of the
    three validators with the CLI (each holds its share file, mode 0600), opened the
    election and cast five demo ballots, which wait in the pool: GET /api/pool lists them
    (txid, voter key, proofs verified) and never a ciphertext or a choice;
  - a voter's ballot by `chainvote vote --receipt-out`: `chainvote receipt` says pending;
  - run.sh start again with VALIDATORS=2 starts the daemons with --share: they propose and
    commit the ballots; `chainvote receipt` (by file and by txid) checks the committed
    ballot's inclusion proof and approvals, a receipt file for another ballot is refused,
    `chainvote verify --receipts DIR URL` finds it in the chain;
  - the admin closes the election; with nobody typing a command the daemons post their
    decryption shares once the seal is committed, propose and commit them, and
    /api/results shows the decrypted tally of the choices made; `chainvote verify URL`
    prints the same tally and finds the receipt in the sealed chain;
  - the default mode (a miner, proof of work, VALIDATORS=2) reaches the tally the same way;
  - under `run.sh supervise` (the container's command, under tini) the ceremony runs beside
    supervisord once the service answers, and the close is followed by the tally too;
  - BALLOTS=open still makes the open demo, opened at once.
Started by tests/e2e_secretdemo.sh with BIN and CGI set."""
import json
import os
import stat
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True   # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cvtest as T  # noqa: E402

res = T.Results("e2e_secretdemo")
# run.sh's demo ballots: voter 16 for 1, 17 for 2, 18 for 1, 19 for 3, 20 for 1
DEMO_CHOICES = {1: 3, 2: 1, 3: 1}


def cli(*args, timeout=120):
    return subprocess.run([T.CHAINVOTE, *args], capture_output=True, text=True, timeout=timeout)


def results(sysm):
    r = T.request(sysm, "GET", "/api/results")
    return r.json or {}


def key_of(path):
    with open(path) as f:
        return json.load(f)["public_key"]


def tally(j):
    return {c["id"]: c.get("votes") for c in j.get("tally", [])}


def close_and_tally(sysm, what, want, timeout=240):
    """The admin closes; then nothing but the daemons (and the miner) act until the
    decrypted tally appears in /api/results."""
    r = T.request(sysm, "POST", "/admin/api/close", {}, auth=sysm.admin_auth())
    res.check(f"{what}: the admin closes the election", r.status == 200, r)
    done = T.wait_until(lambda: results(sysm).get("decrypted") is True, timeout, every=0.5)
    j = results(sysm)
    res.check(f"{what}: the tally appears with nobody typing a command", done and
              tally(j) == want and j.get("total") == sum(want.values()),
              (j, sysm.log_tail("validator-1"), sysm.log_tail("validator-2"),
               sysm.log_tail("miner")))
    logs = sysm.log_tail("validator-1", 200) + sysm.log_tail("validator-2", 200)
    res.check(f"{what}: the daemons posted their decryption shares after the seal",
              logs.count("the seal is committed: decryption share") == 2, logs[-2000:])
    return done


def energy_free(tmp):
    sysm = T.System(prefix="cv-secretdemo-", DEMO=1, MINER=0, VALIDATORS=0, DIFFICULTY=0,
                    VALIDATOR_INTERVAL="0.3")
    try:
        if not res.check("run.sh start makes the secret demo (the default)", sysm.start(),
                         sysm.last_output):
            return
        res.check("the start message says the ballots are secret and who posts the shares",
                  "secret:" in sysm.last_output and "trustee decrypt" in sysm.last_output,
                  sysm.last_output)
        el = T.request(sysm, "GET", "/api/election").json or {}
        res.check("the demo election is secret and open",
                  el.get("ballots") == "secret" and el.get("genesis_hash"), el)
        vdir = os.path.join(sysm.data, "demo", "validators")
        shares = [os.path.join(vdir, f"validator-{i}.share") for i in (1, 2, 3)]
        res.check("every validator holds its trustee share file, mode 0600",
                  all(os.path.exists(p) and stat.S_IMODE(os.stat(p).st_mode) == 0o600
                      for p in shares), os.listdir(vdir))
        g = T.request(sysm, "GET", "/api/blocks/0").json or {}
        res.check("the genesis names the three validators as trustees, quorum 2",
                  len((g.get("secrecy") or {}).get("trustees", [])) == 3 and
                  g["secrecy"].get("quorum") == 2, g.get("secrecy"))

        # ---- the pool of ballots
        voters = os.path.join(sysm.data, "demo", "voters")
        demo_keys = {key_of(os.path.join(voters, f"voter-{i}.json")) for i in range(16, 21)}
        r = T.request(sysm, "GET", "/api/pool")
        pool = r.json or {}
        items = pool.get("votes", [])
        res.check("GET /api/pool lists the five demo ballots with their voters' keys",
                  r.status == 200 and pool.get("ballots") == "secret" and
                  pool.get("pending") == 5 and {b.get("voter_key") for b in items} == demo_keys
                  and pool.get("decryptions") == [], pool)
        res.check("each pooled ballot: txid, voter key, timestamp and proofs verified; no "
                  "ciphertext, no choice",
                  items and all(set(b) == {"txid", "voter_key", "timestamp", "proofs"} and
                                b["proofs"] == "verified" for b in items), items)
        first = items[0] if items else {}
        r = T.request(sysm, "GET", f"/api/votes/{first.get('txid')}")
        res.check("a pooled ballot's txid names that ballot (GET /api/votes/{txid})",
                  r.status == 200 and (r.json or {}).get("ballot", {}).get("voter_key") ==
                  first.get("voter_key"), r)
        r = T.request(sysm, "GET", "/api/pool?limit=2")
        res.check("the pool's limit counts ballots", len((r.json or {}).get("votes", [])) == 2, r)

        # ---- a ballot's receipt, pending
        rdir = os.path.join(tmp, "receipts")
        os.makedirs(rdir)
        receipt = os.path.join(rdir, "voter-01.json")
        out = cli("vote", "--url", sysm.url, "--key", os.path.join(voters, "voter-01.json"),
                  "--candidate", "2", "--receipt-out", receipt)
        txid = out.stdout.strip()
        res.check("voter 01 casts a ballot with a receipt file", out.returncode == 0 and
                  len(txid) == 64, out.stdout + out.stderr)
        out = cli("receipt", "--url", sysm.url, "--receipt", receipt)
        res.check("chainvote receipt --receipt: the ballot is pending", out.returncode == 0 and
                  "pending" in out.stdout, out.stdout + out.stderr)

        # ---- the daemons, trustees, start
        r = sysm.run_sh("start", VALIDATORS=2)
        res.check("run.sh start with VALIDATORS=2 starts the two daemons", r.returncode == 0,
                  sysm.last_output)
        for i in (1, 2):
            pid = sysm.pid(f"validator-{i}")
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmdline = f.read().split(b"\0")
            except (OSError, TypeError):
                cmdline = []
            res.check(f"daemon {i} holds its trustee share (--share)",
                      b"--share" in cmdline and shares[i - 1].encode() in cmdline, cmdline)
        ok = T.wait_until(lambda: results(sysm).get("committed") == 6, 120, every=0.5)
        res.check("the daemons propose and commit the six ballots", ok,
                  (results(sysm), sysm.log_tail("validator-1"), sysm.log_tail("validator-2")))
        out = cli("receipt", "--url", sysm.url, "--receipt", receipt)
        res.check("chainvote receipt --receipt: the committed ballot, its inclusion proof and "
                  "approvals verified", out.returncode == 0 and "committed in block" in out.stdout
                  and "inclusion proof verified" in out.stdout, out.stdout + out.stderr)
        out = cli("receipt", "--url", sysm.url, txid)
        res.check("chainvote receipt TXID checks the ballot too",
                  out.returncode == 0 and "committed in block" in out.stdout,
                  out.stdout + out.stderr)
        with open(receipt) as f:
            forged = json.load(f)
        forged["acceptance"]["txid"] = first.get("txid")
        bad = os.path.join(tmp, "forged.json")
        with open(bad, "w") as f:
            json.dump(forged, f)
        out = cli("receipt", "--url", sysm.url, "--receipt", bad)
        res.check("a receipt file whose acceptance names another ballot is refused",
                  out.returncode == 1 and "not a receipt file" in out.stderr,
                  out.stdout + out.stderr)
        out = cli("verify", "--receipts", rdir, sysm.url)
        res.check("chainvote verify --receipts finds the ballot in the chain (not sealed yet)",
                  out.returncode == 0 and "receipts: 1 checked, 1 in the chain, 0 missing" in
                  out.stdout and "pending" in out.stdout, out.stdout[-1500:] + out.stderr)
        j = results(sysm)
        res.check("before the close: turnout only", j.get("decrypted") is False and
                  "total" not in j, j)

        # ---- the close: the tally with nobody typing a command
        want = dict(DEMO_CHOICES)
        want[2] += 1
        if close_and_tally(sysm, "energy-free", want):
            out = cli("verify", "--receipts", rdir, sysm.url)
            text = out.stdout
            res.check("chainvote verify URL prints the decrypted tally and finds the receipt",
                      out.returncode == 0 and "candidate 1 (Alder Party): 3" in text and
                      "candidate 2 (Birch Alliance): 2" in text and
                      "candidate 3 (Cedar Union): 1" in text and "decrypted" in text and
                      "1 in the chain, 0 missing" in text, text[-1500:] + out.stderr)
    finally:
        sysm.cleanup()


def with_miner():
    sysm = T.System(prefix="cv-secretdemo-pow-", DEMO=1, MINER=1, VALIDATORS=2, DIFFICULTY=6,
                    VALIDATOR_INTERVAL="0.3")
    try:
        if not res.check("the default mode (miner, proof of work, two daemons) starts",
                         sysm.start(), sysm.last_output):
            return
        ok = T.wait_until(lambda: results(sysm).get("committed") == 5, 120, every=0.5)
        res.check("the miner and the daemons commit the demo ballots", ok,
                  (results(sysm), sysm.log_tail("miner")))
        close_and_tally(sysm, "with a miner", DEMO_CHOICES)
    finally:
        sysm.cleanup()


def supervised():
    sysm = T.System(prefix="cv-secretdemo-sup-", DEMO=1, MINER=0, VALIDATORS=2, DIFFICULTY=0,
                    WORKERS=1, VALIDATOR_INTERVAL="0.3")
    proc = None
    try:
        log = open(os.path.join(sysm.tmp, "supervise.out"), "w")
        proc = subprocess.Popen(["tini", "-s", "--", "sh", T.RUN_SH, "supervise",
                                 str(sysm.port), sysm.data], env=sysm.env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        ok = T.wait_until(lambda: results(sysm).get("committed") == 5, 120, every=0.5)
        ceremony = os.path.join(sysm.run_dir, "ceremony.log")
        res.check("supervised: the ceremony runs beside supervisord, the daemons commit the "
                  "demo ballots", ok, (results(sysm), open(log.name).read()[-1500:],
                                       open(ceremony).read()[-1500:]
                                       if os.path.exists(ceremony) else "no ceremony log"))
        if ok:
            close_and_tally(sysm, "supervised", DEMO_CHOICES)
    finally:
        sysm.run_sh("stop")
        if proc is not None:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
        sysm.cleanup()


def open_demo():
    sysm = T.System(prefix="cv-secretdemo-open-", DEMO=1, MINER=0, BALLOTS="open")
    try:
        if not res.check("BALLOTS=open starts the open demo", sysm.start(), sysm.last_output):
            return
        el = T.request(sysm, "GET", "/api/election").json or {}
        res.check("the open demo is open at once, with no ceremony and no ballot",
                  el.get("ballots") == "open" and el.get("genesis_hash") and
                  (T.request(sysm, "GET", "/api/pool").json or {}).get("votes") == [] and
                  "secret:" not in sysm.last_output, el)
    finally:
        sysm.cleanup()
    sysm = T.System(prefix="cv-secretdemo-bad-", DEMO=1, MINER=0, BALLOTS="sealed")
    try:
        res.check("an unknown BALLOTS is refused", not sysm.start() and
                  "BALLOTS" in sysm.last_output, sysm.last_output)
    finally:
        sysm.cleanup()


def main():
    tmp = tempfile.mkdtemp(prefix="cv-secretdemo-files-")
    try:
        energy_free(tmp)
        with_miner()
        supervised()
        open_demo()
    finally:
        T.remove_tree(tmp)


if __name__ == "__main__":
    res.run(main)
