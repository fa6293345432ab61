"""Validator daemons (`chainvote validator`) end to end, through the real nginx and
programs, the demo election and its miner (tools/run.sh start with VALIDATORS=2):
  - the two daemons run.sh starts (recorded in DATA/run/validator-I.pid, as the
    programs' user) approve what the miner proposes: votes posted are committed with no
    one approving by hand, each signature logged and in the daemon's journal;
  - SIGTERM stops a daemon cleanly (exit 0, "stopped"), and `run.sh stop` stops exactly
    the daemons it started;
  - a daemon restarted with a journal that says its key approved another block at a
    height refuses to approve a proposal at that height, and a second daemon on the same
    journal is refused (the journal is locked); a journal line not understood stops it
    at start, an incomplete last line (a write cut short) is dropped;
  - a proposal that breaks a rule (a vote that never was pending, once the election is
    closed: late_vote) gets a signed rejection naming the rule;
  - a daemon outlives the service's absence (nginx stopped), says so once, and signs
    again when it is back: the seal is committed and the election final.
Started by tests/e2e_validator.sh with BIN and CGI set."""
import json
import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True   # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cvtest as T  # noqa: E402

res = T.Results("e2e_validator")
FAKE = "ab" * 32   # a block hash no proposal has


def key_path(sysm, i):
    return os.path.join(sysm.data, "demo", "validators", f"validator-{i}.json")


def public_key(path):
    with open(path) as f:
        return json.load(f)["public_key"]


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def own_like(path, model):
    """path gets model's owner (the daemons run as the programs' user, who owns the keys)."""
    st = os.stat(model)
    os.chown(path, st.st_uid, st.st_gid)
    os.chmod(path, 0o600)


def committed(sysm, txid):
    r = T.request(sysm, "GET", f"/api/votes/{txid}")
    return r.status == 200 and (r.json or {}).get("status") == "committed"


def vote(sysm, voter):
    """A vote by the demo's voter-NN through the CLI; its txid or None."""
    f = os.path.join(sysm.data, "demo", "voters", f"voter-{voter:02d}.json")
    r = subprocess.run([T.CHAINVOTE, "vote", "--url", sysm.url, "--key", f, "--candidate", "2"],
                       capture_output=True, text=True, timeout=60)
    return r.stdout.strip() if r.returncode == 0 else None


def proposal(sysm, block_hash):
    r = T.request(sysm, "GET", f"/api/proposals/{block_hash}")
    return r.json if r.status == 200 else None


def verdict_keys(p, kind):
    return {v.get("validator_key") for v in (p or {}).get(kind, [])}


class Daemon:
    """A `chainvote validator` started here (as the programs' user), its stderr in a log."""

    def __init__(self, sysm, i, name):
        self.log = os.path.join(sysm.tmp, f"{name}.log")
        self.out = open(self.log, "ab")
        cmd = [T.CHAINVOTE, "validator", "--url", sysm.url, "--key", key_path(sysm, i),
               "--interval", "0.2"]
        self.proc = subprocess.Popen(T.as_service_user(cmd), stdout=self.out,
                                     stderr=self.out)

    def text(self):
        return read(self.log)

    def wait_log(self, needle, timeout=60):
        return T.wait_until(lambda: needle in self.text(), timeout, every=0.1)

    def stop(self):
        """SIGTERM; the exit status (None when it did not stop in time)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = None
        self.out.close()
        return rc


def main():
    # the open demo: votes signed here (e2e_secretdemo runs the secret default)
    sysm = T.System(prefix="cv-validator-", DEMO=1, MINER=1, VALIDATORS=2,
                    VALIDATOR_INTERVAL="0.2", BALLOTS="open")
    daemons = []
    try:
        if not res.check("system starts with the demo, a miner and two validator daemons",
                         sysm.start(), sysm.last_output):
            return
        run_pids = {i: sysm.pid(f"validator-{i}") for i in (1, 2)}
        res.check("run.sh records both daemons, running as the programs' user",
                  all(p and T.alive(p) and T.uid_of(p) != 0 for p in run_pids.values()) and
                  sysm.pid("validator-3") is None,
                  (run_pids, sysm.last_output))
        r = T.request(sysm, "GET", "/api/election")
        eid = (r.json or {}).get("genesis_hash", "")

        # ---- votes reach the chain with no one approving
        txids = [vote(sysm, 1), vote(sysm, 2)]
        res.check("two votes are accepted", all(txids), txids)
        ok = T.wait_until(lambda: all(t and committed(sysm, t) for t in txids), 90, every=0.2)
        res.check("the votes are committed with no manual approval", ok,
                  (sysm.log_tail("validator-1"), sysm.log_tail("validator-2"),
                   sysm.log_tail("miner")))
        # the block commits on the service's answer to the second approval, a moment
        # before that daemon reads the answer and logs it
        signed = T.wait_until(lambda: all(": approved (" in sysm.log_tail(f"validator-{i}", 50)
                                          for i in (1, 2)), 10)
        res.check("each daemon logs what it signed, one line each", signed,
                  [sysm.log_tail(f"validator-{i}", 50) for i in (1, 2)])
        journals = [read(key_path(sysm, i) + ".signed") for i in (1, 2)]
        res.check("each daemon's journal (beside its key) records its approvals",
                  all(f"approve {eid} 1 " in j for j in journals), journals)

        # ---- SIGTERM stops a daemon cleanly
        for i in (1, 2):
            os.kill(run_pids[i], signal.SIGTERM)
        gone = T.wait_until(lambda: not any(T.alive(p) for p in run_pids.values()), 30)
        res.check("SIGTERM stops both daemons, each saying so",
                  gone and all(sysm.log_tail(f"validator-{i}", 1).strip().endswith("stopped")
                               for i in (1, 2)),
                  [sysm.log_tail(f"validator-{i}", 3) for i in (1, 2)])

        # ---- a proposal at height h, while no daemon runs
        h = (T.tip(sysm) or 0) + 1
        t3 = vote(sysm, 3)
        listed = T.wait_until(lambda: (T.request(sysm, "GET", "/api/proposals").json or {})
                              .get("proposals"), 90, every=0.2)
        if not res.check("the miner proposes the next vote", t3 and listed, listed):
            return
        p_hash = listed[0]["hash"]

        # ---- a journal line not understood stops the daemon at start
        bad = os.path.join(sysm.tmp, "bad.signed")
        with open(bad, "w") as f:
            f.write("approve not-a-hash 1 zz\n")
        r = subprocess.run([T.CHAINVOTE, "validator", "--url", sysm.url, "--key",
                            key_path(sysm, 3), "--journal", bad], capture_output=True,
                           text=True, timeout=60)
        res.check("a journal line not understood: the daemon does not start (exit 1)",
                  r.returncode == 1 and "line 1 is not understood" in r.stderr, r.stderr)

        # ---- the journal forbids a second block at a height, across a restart
        j1 = key_path(sysm, 1) + ".signed"
        with open(j1, "a") as f:
            f.write(f"approve {eid} {h} {FAKE}\n")
        d1 = Daemon(sysm, 1, "d1")
        daemons.append(d1)
        said = d1.wait_log(f"{p_hash}: not signing: this key approved block {FAKE}")
        res.check("restarted with a journal that says it approved another block at height "
                  f"{h}, the daemon refuses to approve that height's proposal", said, d1.text())
        key1 = public_key(key_path(sysm, 1))
        res.check("and the service holds no approval of it by that key",
                  key1 not in verdict_keys(proposal(sysm, p_hash), "approvals"),
                  proposal(sysm, p_hash))
        r = subprocess.run([T.CHAINVOTE, "validator", "--url", sysm.url, "--key",
                            key_path(sysm, 1)], capture_output=True, text=True, timeout=60)
        res.check("a second daemon on the same journal is refused (exit 1, in use)",
                  r.returncode == 1 and "in use" in r.stderr, r.stderr)

        # ---- a proposal that breaks a rule gets a rejection
        # before the close: a block with a vote sent to its miner, stamped two minutes
        # ahead (the rules allow a vote up to 300 s after its block's timestamp)
        prev = T.block_at(sysm, h - 1)
        voter4 = os.path.join(sysm.data, "demo", "voters", "voter-04.json")
        ahead = int(time.time()) + 120
        direct = T.sign_votes(eid, [(voter4, public_key(voter4), 3, ahead)])[0]
        early = T.make_block(h, prev["hash"], [direct], int(time.time()), prev["difficulty"])
        r = T.request(sysm, "POST", "/api/blocks", early)
        res.check("before the close a block may carry a vote stamped ahead", r.status == 202, r)
        r = T.request(sysm, "POST", "/admin/api/close", {}, auth=sysm.admin_auth())
        res.check("the admin closes the election", r.status == 200, r)
        said = d1.wait_log(f"{early['hash']}: rejected: ")
        p = proposal(sysm, early["hash"])
        reasons = [v.get("reason", "") for v in (p or {}).get("rejections", [])
                   if v.get("validator_key") == key1]
        res.check("after the close (before that vote's time) the daemon rejects it, the rule "
                  "broken (late_vote) as its reason",
                  said and reasons and "late_vote" in reasons[0], (reasons, d1.text()))
        res.check("and logs it, and its journal records the rejection",
                  f"reject {eid} {h} {early['hash']}" in read(j1), read(j1))
        res.check("the other proposal at that height stays unapproved by it",
                  key1 not in verdict_keys(proposal(sysm, p_hash), "approvals"))
        rc = d1.stop()
        res.check("SIGTERM: the daemon exits 0 saying it stopped",
                  rc == 0 and d1.text().strip().endswith("stopped"), (rc, d1.text()[-300:]))

        # ---- an incomplete last line is dropped; validators 2 and 3 commit
        j3 = key_path(sysm, 3) + ".signed"
        with open(j3, "w") as f:
            f.write(f"approve {eid} {h} {p_hash[:20]}")
        own_like(j3, key_path(sysm, 3))
        d2, d3 = Daemon(sysm, 2, "d2"), Daemon(sysm, 3, "d3")
        daemons += [d2, d3]
        ok = T.wait_until(lambda: (T.tip(sysm) or 0) >= h, 90, every=0.2)
        res.check(f"two more daemons commit block {h} (the valid proposal)",
                  ok and (T.block_at(sysm, h) or {}).get("hash") == p_hash and committed(sysm, t3),
                  (d2.text(), d3.text()))
        res.check("a journal's incomplete last line is dropped, with a word",
                  "dropping an incomplete last line" in d3.text() and
                  read(j3).startswith(f"approve {eid} {h} {p_hash}\n"), (read(j3), d3.text()))

        # ---- the service goes away and comes back
        nginx = sysm.pid("nginx")
        os.kill(nginx, signal.SIGQUIT)
        T.wait_until(lambda: not T.alive(nginx), 30)
        said = d2.wait_log("the service does not answer", 30)
        time.sleep(1.5)   # a few tries while it is away
        r = sysm.run_sh("start", VALIDATORS=0)
        res.check("nginx starts again", r.returncode == 0, sysm.last_output)
        back = d2.wait_log("the service answers again", 120)
        res.check("while the service is away the daemon says so once, and goes on",
                  said and back and d2.text().count("the service does not answer") == 1 and
                  d2.proc.poll() is None, d2.text())
        final = T.wait_until(lambda: (T.request(sysm, "GET", "/api/election").json or {})
                             .get("final"), 120, every=0.3)
        res.check("the daemons approve the seal: the election is final", final,
                  (d2.text()[-600:], d3.text()[-600:], sysm.log_tail("miner")))
        rcs = [d.stop() for d in (d2, d3)]
        res.check("both stop with exit 0 on SIGTERM", rcs == [0, 0], rcs)

        # ---- run.sh stop stops exactly the daemons run.sh started
        sysm.run_sh("start", VALIDATORS=2)
        again = [sysm.pid(f"validator-{i}") for i in (1, 2)]
        res.check("run.sh start starts the daemons again",
                  all(p and T.alive(p) for p in again), (again, sysm.last_output))
        stopped = sysm.run_sh("stop").returncode == 0
        res.check("run.sh stop stops them and removes their PID files",
                  stopped and not any(T.alive(p) for p in again if p) and
                  not any(os.path.exists(os.path.join(sysm.run_dir, f"validator-{i}.pid"))
                          for i in (1, 2)), again)
    finally:
        for d in daemons:
            if d.proc.poll() is None:
                d.stop()
        sysm.cleanup()


res.run(main)
