"""The energy-free mode end to end, through the real nginx and programs: the demo election
at difficulty 0 (tools/run.sh start with DIFFICULTY=0 MINER=0), no miner, three validator
daemons (`chainvote validator`) started here, which propose the blocks themselves:
  - votes are committed while no miner process exists;
  - the block at height H comes from the scheduled proposer, the validator at index
    H mod 3 of the genesis order: told by the daemons' logs (a daemon logs "block H HASH:
    proposed" for each block it posts; the block's approvals are listed in key order and
    cannot say who proposed);
  - with the scheduled proposer's daemon stopped, its heights are still committed: the
    next index proposes them in turn 1 (the fallback), the other heights stay with their
    own proposers;
  - the close, then the seal proposed and approved by the daemons: the election is
    final, and `chainvote verify` accepts the export;
  - a daemon of an election with difficulty above 0 never proposes: a vote stays pending
    while it runs, with no proposal at the height.
Started by tests/e2e_energyfree.sh with BIN and CGI set."""
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True   # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cvtest as T  # noqa: E402

res = T.Results("e2e_energyfree")
TURN = "1"   # --propose-after: short, so the fallback shows within the test's patience


def key_path(sysm, i):
    return os.path.join(sysm.data, "demo", "validators", f"validator-{i}.json")


def public_key(path):
    with open(path) as f:
        return json.load(f)["public_key"]


def give_keys(sysm):
    """The demo's validator keys (and their directory, where the journals go) to the
    programs' user, whom the daemons run as (run.sh does this for the daemons it starts)."""
    uid = T.pwd_uid(T.SERVICE_USER) if os.geteuid() == 0 else None
    if uid is None:
        return
    gid = os.stat(sysm.election_dir).st_gid
    top = os.path.join(sysm.data, "demo", "validators")
    os.chown(top, uid, gid)
    for f in os.listdir(top):
        os.chown(os.path.join(top, f), uid, gid)


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def vote(sysm, voter):
    """A vote by the demo's voter-NN through the CLI; its txid or None."""
    f = os.path.join(sysm.data, "demo", "voters", f"voter-{voter:02d}.json")
    r = subprocess.run([T.CHAINVOTE, "vote", "--url", sysm.url, "--key", f, "--candidate", "2"],
                       capture_output=True, text=True, timeout=60)
    return r.stdout.strip() if r.returncode == 0 else None


def committed_at(sysm, txid):
    """The height holding txid once committed, else None."""
    r = T.request(sysm, "GET", f"/api/votes/{txid}")
    j = r.json or {}
    return j.get("height") if r.status == 200 and j.get("status") == "committed" else None


class Daemon:
    """A `chainvote validator` started here (as the programs' user), its stderr in a log
    that outlives restarts."""

    def __init__(self, sysm, i):
        self.sysm, self.i = sysm, i
        self.log = os.path.join(sysm.tmp, f"validator-{i}.log")
        self.proc = None
        self.start()

    def start(self):
        self.out = open(self.log, "ab")
        cmd = [T.CHAINVOTE, "validator", "--url", self.sysm.url, "--key",
               key_path(self.sysm, self.i), "--interval", "0.2", "--propose-after", TURN]
        self.proc = subprocess.Popen(T.as_service_user(cmd), stdout=self.out,
                                     stderr=self.out)

    def text(self):
        return read(self.log)

    def proposed(self):
        """{height: (block hash, turn)} of the blocks this daemon logged as proposed."""
        found = {}
        for m in re.finditer(r"block (\d+) ([0-9a-f]{64}): proposed \([^,]*, turn (\d+)",
                             self.text()):
            found.setdefault(int(m.group(1)), []).append((m.group(2), int(m.group(3))))
        return found

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


def proposer_of(daemons, height, block_hash):
    """(genesis index, turn) of the daemon that logged block_hash at height, or None
    (also when more than one did)."""
    who = [(index, t) for index, d in daemons.items()
           for h, t in d.proposed().get(height, []) if h == block_hash]
    return who[0] if len(who) == 1 else None


def one_height(sysm, daemons, voter, what):
    """Posts a vote and waits for its commit; returns (height, block hash) or (None, why)."""
    txid = vote(sysm, voter)
    if not txid:
        return None, f"voter {voter}'s vote was not accepted"
    h = T.wait_until(lambda: committed_at(sysm, txid), 60, every=0.1)
    if not h:
        return None, (f"{what}: not committed", {i: d.text()[-800:] for i, d in daemons.items()})
    block = T.block_at(sysm, h) or {}
    return h, block.get("hash")


def main():
    # the open demo (e2e_secretdemo runs the secret default energy-free)
    sysm = T.System(prefix="cv-energyfree-", DEMO=1, MINER=0, VALIDATORS=0, DIFFICULTY=0,
                    BALLOTS="open")
    daemons = {}
    try:
        if not res.check("system starts with the demo at difficulty 0 and no miner",
                         sysm.start(), sysm.last_output):
            return
        el = T.request(sysm, "GET", "/api/election").json or {}
        res.check("the demo election is energy-free (difficulty 0)",
                  el.get("difficulty") == 0, el)
        order = [v["key"] for v in el.get("validators", [])]
        n = len(order)
        keys = {public_key(key_path(sysm, i)): i for i in (1, 2, 3)}
        give_keys(sysm)
        res.check("its three validators are the demo's keys", n == 3 and set(order) == set(keys),
                  (order, keys))
        # the daemons by their index in the genesis order
        daemons = {idx: Daemon(sysm, keys[k]) for idx, k in enumerate(order)}
        started = T.wait_until(lambda: all("proposing blocks in turn" in d.text()
                                           for d in daemons.values()), 30, every=0.1)
        res.check("each daemon says it proposes in turn at difficulty 0", started,
                  {i: d.text() for i, d in daemons.items()})
        res.check("no miner runs", sysm.pid("miner") is None and
                  not any("miner" in read(f"/proc/{p}/cmdline") for p in sysm.all_pids()),
                  sysm.all_pids())

        # ---- every height from its scheduled proposer
        voter = 1
        scheduled = []
        for _ in range(n):
            h, bh = one_height(sysm, daemons, voter, "a vote with all daemons up")
            voter += 1
            if h is None:
                res.check("votes are committed with no miner", False, bh)
                return
            scheduled.append((h, proposer_of(daemons, h, bh)))
        res.check("votes are committed with no miner process", True)
        res.check("each block came from the validator at index height mod 3, in its own "
                  "turn (turn 0)", all(p == (h % n, 0) for h, p in scheduled), scheduled)

        # ---- the scheduled proposer of the next height stopped: the fallback
        tip = T.tip(sysm)
        off = (tip + 1) % n
        rc = daemons[off].stop()
        res.check("the next height's scheduled proposer stops (exit 0)", rc == 0, rc)
        fallback = []
        for _ in range(n + 1):   # every index's height once, the stopped one's twice
            h, bh = one_height(sysm, daemons, voter, "a vote with one daemon stopped")
            voter += 1
            if h is None:
                res.check("with one daemon stopped, votes are still committed", False, bh)
                return
            fallback.append((h, proposer_of(daemons, h, bh)))
        res.check("with the scheduled proposer stopped, votes are still committed", True)
        res.check("its heights are proposed by the next index in turn 1, the others by "
                  "their own proposer in turn 0",
                  all(p == (((h + 1) % n, 1) if h % n == off else (h % n, 0))
                      for h, p in fallback) and
                  sum(1 for h, _ in fallback if h % n == off) >= 2, (off, fallback))
        res.check("the stopped daemon proposed nothing while stopped",
                  not any(h in daemons[off].proposed() for h, _ in fallback),
                  daemons[off].proposed())
        daemons[off].start()

        # ---- the close, then the seal proposed and approved by the daemons
        r = T.request(sysm, "POST", "/admin/api/close", {}, auth=sysm.admin_auth())
        res.check("the admin closes the election", r.status == 200, r)
        final = T.wait_until(lambda: (T.request(sysm, "GET", "/api/election").json or {})
                             .get("final"), 60, every=0.2)
        el = T.request(sysm, "GET", "/api/election").json or {}
        seal_h = el.get("seal_height")
        seal = T.block_at(sysm, seal_h) if seal_h else None
        seal_by = proposer_of(daemons, seal_h, (seal or {}).get("hash")) if seal else None
        res.check("the seal is committed (the election is final)", final and seal and
                  seal.get("seal"), (el, {i: d.text()[-600:] for i, d in daemons.items()}))
        res.check("a daemon proposed the seal, logged as the seal",
                  seal_by is not None and
                  f"block {seal_h} {seal.get('hash')}: proposed (the seal" in
                  daemons[seal_by[0]].text(), (seal_h, seal_by))
        ok, out = T.verify_export(T.export(sysm))
        res.check("chainvote verify accepts the export", ok, out)
        rcs = [d.stop() for d in daemons.values()]
        res.check("the daemons stop with exit 0", rcs == [0] * n, rcs)
    finally:
        for d in daemons.values():
            if d.proc.poll() is None:
                d.stop()
        sysm.cleanup()

    # ---- at a difficulty above 0 a daemon never proposes
    sysm = T.System(prefix="cv-energyfree-pow-", DEMO=1, MINER=0, VALIDATORS=0, BALLOTS="open",
                    DIFFICULTY=8)
    daemons = {}
    try:
        if not res.check("a system with a difficulty-8 demo and no miner starts",
                         sysm.start(), sysm.last_output):
            return
        el = T.request(sysm, "GET", "/api/election").json or {}
        order = [v["key"] for v in el.get("validators", [])]
        keys = {public_key(key_path(sysm, i)): i for i in (1, 2, 3)}
        give_keys(sysm)
        daemons = {idx: Daemon(sysm, keys[k]) for idx, k in enumerate(order)}
        txid = vote(sysm, 1)
        # every daemon has been through three full rounds of turns (3 x 3 turns of 1 s)
        # with the vote pending
        time.sleep(3 * len(order) * float(TURN) + 1)
        props = (T.request(sysm, "GET", "/api/proposals").json or {}).get("proposals")
        res.check("at difficulty 8 the vote stays pending and no daemon proposes",
                  txid and committed_at(sysm, txid) is None and props == [] and
                  not any(": proposed (" in d.text() or "proposing blocks" in d.text()
                          for d in daemons.values()),
                  (txid, props, {i: d.text() for i, d in daemons.items()}))
    finally:
        for d in daemons.values():
            if d.proc.poll() is None:
                d.stop()
        sysm.cleanup()


res.run(main)
