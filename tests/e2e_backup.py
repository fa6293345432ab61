"""Hot backup while votes arrive, and restores an operator would do.

A backup taken under load holds every vote acknowledged before it began; a backup of a
quiet service restores to a byte-identical, verifying chain; both copies pass
db_verify. Runs the real nginx and programs (tests/cvtest.py).
"""
import os
import shutil
import subprocess
import threading
import time

import cvtest
from cvtest import CHAINVOTE, MINER, Results, System, request

res = Results("e2e_backup")


def chainvote(*args):
    return subprocess.run([CHAINVOTE, *args], capture_output=True, text=True, timeout=300)


def restore_into(sysm, backup):
    """Stops the system, puts the election directory aside, restores backup in its
    place and starts the system again."""
    sysm.stop()
    aside = sysm.election_dir + ".old-" + str(time.monotonic_ns())
    os.rename(sysm.election_dir, aside)
    r = chainvote("restore", "--data", sysm.election_dir, backup)
    res.check(f"chainvote restore of {os.path.basename(backup)}", r.returncode == 0,
              r.stdout + r.stderr)
    res.check("the system starts on the restored directory", sysm.start(), sysm.last_output)


def main():
    sysm = System(prefix="cv-backup-")
    try:
        if not res.check("system starts", sysm.start(), sysm.last_output):
            return
        el = cvtest.setup_election(sysm, res, n_voters=60, difficulty=8)
        if el is None:
            return
        now = int(time.time())
        votes = cvtest.sign_votes(el.genesis_hash, [
            (k[0], k[1], 1 + i % 3, now) for i, k in enumerate(el.voters[:50])])

        # --- a hot backup while votes arrive
        acked, lock, started = [], threading.Lock(), threading.Event()

        def load():
            for i, v in enumerate(votes):
                r = request(sysm, "POST", "/api/votes", cvtest.strip_vote(v))
                if r.status == 202:
                    with lock:
                        acked.append((time.monotonic(), r.json["txid"]))
                if i == 10:
                    started.set()
            started.set()

        t = threading.Thread(target=load)
        t.start()
        started.wait(60)
        hot = os.path.join(sysm.tmp, "backup-hot")
        began = time.monotonic()
        r = chainvote("backup", "--data", sysm.election_dir, hot)
        t.join()
        res.check("hot backup while votes arrive", r.returncode == 0, r.stdout + r.stderr)
        with lock:
            before = [txid for at, txid in acked if at < began]
        res.check("votes were acknowledged before and during the backup",
                  len(before) >= 10 and len(acked) == len(votes), (len(before), len(acked)))
        r = chainvote("backup", "--data", sysm.election_dir, hot)
        res.check("a backup refuses an existing target", r.returncode != 0 and "exists" in
                  (r.stdout + r.stderr), r.stdout + r.stderr)

        # --- commit a block, then a backup of the quiet service
        r = subprocess.run([MINER, "--url", sysm.url, "--once", "--threads", "1"],
                           capture_output=True, text=True, timeout=120)
        res.check("miner proposes a block", r.returncode == 0, r.stdout + r.stderr)
        props = (request(sysm, "GET", "/api/proposals").json or {}).get("proposals", [])
        if not res.check("one proposal", len(props) == 1, props):
            return
        h = props[0]["hash"]
        for a in cvtest.approvals(h, el.validators[:2]):
            request(sysm, "POST", f"/api/proposals/{h}/approvals", a)
        res.check("the block is committed", cvtest.tip(sysm) == 1, cvtest.tip(sysm))
        live = cvtest.export(sysm)
        quiet = os.path.join(sysm.tmp, "backup-quiet")
        r = chainvote("backup", "--data", sysm.election_dir, quiet)
        res.check("backup of the running service", r.returncode == 0, r.stdout + r.stderr)

        restore_into(sysm, quiet)
        again = cvtest.export(sysm)
        res.check("the restored chain export is byte-identical", again is not None and again == live,
                  (len(live or b""), len(again or b"")))
        ok, out = cvtest.verify_export(again or b"")
        res.check("chainvote verify accepts the restored chain", ok, out)

        # --- the hot backup: every vote acknowledged before it began is there
        restore_into(sysm, hot)
        missing = [t for t in before if request(sysm, "GET", f"/api/votes/{t}").status != 200]
        res.check(f"all {len(before)} votes acknowledged before the hot backup are in it",
                  not missing, missing[:3])
        ok, out = cvtest.verify_export(cvtest.export(sysm))
        res.check("the hot backup's chain verifies", ok, out)
        sysm.stop()
        for name in ("backup-hot", "backup-quiet"):
            ok, out = cvtest.db_verify(os.path.join(sysm.tmp, name))
            res.check(f"db_verify is clean on {name}", ok, out)
    finally:
        sysm.cleanup()


if __name__ == "__main__":
    res.run(main)
