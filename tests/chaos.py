"""Crash chaos: while a client submits signed votes as fast as it can, FastCGI workers
are killed with SIGKILL again and again, and once, mid-load, everything (nginx and its
workers, every program's master and workers, the miner), which is then started again as
an operator would (tools/run.sh start). A miner and two validators keep the chain
growing throughout. Afterwards:
  - every vote answered 2xx is in the pool or the chain, and no vote (and no voter) is
    there twice;
  - the pool drains into the chain, the chain export passes `chainvote verify`;
  - db_verify finds every database of the stopped environment clean;
  - after each worker death the service answered again (a program left wedged would
    not answer at all: the bound is the watchdog's and a recovery's, not a speed target;
    the seconds to answer are printed, median, 90th percentile and slowest).
It prints the counts. CHAOS_SECONDS sets the length of the load (default 20; `make
chaos` runs 120); CHAOS_SEED makes the choice of victims repeatable; CHAOS_PROGRAMS
(e.g. "chain") limits the worker kills to those programs and CHAOS_FULL=0 leaves out
the kill of everything, to tell kinds of crash apart; TEST_STORE_KEY=none makes the store
without a key (it is encrypted at rest by default), to compare. Processes are killed by
PID only:
those tools/run.sh recorded and their children.
"""
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import signal
import sys
import threading
import time

sys.dont_write_bytecode = True   # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cvtest as T  # noqa: E402

SECONDS = max(5, int(os.environ.get("CHAOS_SECONDS", "20")))
WORKERS = 3
VOTE_WORKERS = 8   # votes are written in batches across the vote program's workers
LOAD_THREADS = 12
VOTES_PER_SECOND = 900       # roll size: enough fresh voters for the whole load
# seconds from a worker's death to an answer beyond which the program counts as wedged:
# above the watchdog's limit for a worker that cannot open the store (3 s) plus a
# recovery of every program. Tests check behaviour, not speed: the time is reported.
ANSWER_WITHIN = 10.0
ANSWER_TARGET = 1.0          # reported: how many deaths took longer than this
DRAIN_STALL = 30             # seconds the pool may go without shrinking
# CHAOS_PROGRAMS="chain vote": kill workers of these programs only (default: all)
# CHAOS_FULL=0: no kill of everything (to tell the two kinds of crash apart)
FULL_KILL = os.environ.get("CHAOS_FULL", "1") != "0"
VICTIMS = tuple(os.environ.get("CHAOS_PROGRAMS", " ".join(T.PROGRAMS)).split())
res = T.Results("chaos")

PROBES = {
    "chain": ("GET", "/api/election"),
    "vote": ("GET", "/api/pool?limit=1"),
    "blocks": ("GET", "/api/work"),
    # the listing of summaries: bounded, and served from the verdicts stored at
    # admission, so it times the program's answer, not signature checks
    "validate": ("GET", "/api/proposals"),
    "register": ("GET", "/admin/api/election"),
}


class Load:
    """Threads posting pre-signed votes over keep-alive connections. When the fresh
    votes run out they post earlier ones again (replays), so the load never stops."""

    def __init__(self, sysm, votes):
        self.sysm = sysm
        self.votes = votes
        self.next = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.accepted = {}      # txid -> vote, answered 2xx
        self.refused = {}       # error code -> count
        self.failed = 0         # no answer, or a 5xx: outcome unknown
        self.statuses = {}
        self.sent = 0
        self.replays = 0
        self.replay_accepted = []   # a replay answered 2xx: must not happen

    def pick(self):
        with self.lock:
            if self.next < len(self.votes):
                v = self.votes[self.next]
                self.next += 1
                return v, False
            self.replays += 1
            return random.choice(self.votes), True

    def connect(self):
        return http.client.HTTPConnection("127.0.0.1", self.sysm.port, timeout=10)

    def run(self):
        conn = self.connect()
        while not self.stop.is_set():
            v, replay = self.pick()
            r = T.request(self.sysm, "POST", "/api/votes", T.strip_vote(v), conn=conn)
            with self.lock:
                self.sent += 1
                self.statuses[r.status] = self.statuses.get(r.status, 0) + 1
                if 200 <= r.status < 300:
                    if v["txid"] in self.accepted:
                        self.replay_accepted.append(v["txid"])
                    self.accepted[v["txid"]] = v
                elif 400 <= r.status < 500:
                    code = r.code or str(r.status)
                    self.refused[code] = self.refused.get(code, 0) + 1
                else:
                    self.failed += 1
            if r.status == 0 or r.header("connection") == "close":
                conn = self.connect()
                if r.status == 0:
                    time.sleep(0.02)    # nothing listening: do not spin


class Approver:
    """Two of the three validators approve the proposal with the most approvals (then
    the most votes) at each height; the third steps in when a crash split them."""

    def __init__(self, sysm, el):
        self.sysm = sysm
        self.el = el
        self.stop = threading.Event()
        self.posted = 0
        self.committed = 0
        self.refused = {}

    def round(self):
        r = T.request(self.sysm, "GET", "/api/proposals", timeout=10)
        if r.status != 200 or not r.json:
            return
        props = [p for p in r.json.get("proposals", []) if p["verdict"] == "ok"]
        if not props:
            return
        # oldest first from the server; max keeps the first of equals
        target = max(props, key=lambda p: (p["n_approvals"], p["n_votes"]))
        r = T.request(self.sysm, "GET", f"/api/proposals/{target['hash']}", timeout=10)
        if r.status != 200 or not r.json:
            return
        done = {a["validator_key"] for a in r.json["approvals"]}
        todo = [k for k in self.el.validators if k[1] not in done]
        random.shuffle(todo)
        for a in T.approvals(target["hash"], todo):
            path = f"/api/proposals/{target['hash']}/approvals"
            rr = T.request(self.sysm, "POST", path, a, timeout=10)
            self.posted += 1
            if rr.status == 201:
                if rr.json and rr.json.get("committed"):
                    self.committed += 1
                    return
            else:
                code = rr.code or str(rr.status)
                self.refused[code] = self.refused.get(code, 0) + 1

    def run(self):
        while not self.stop.is_set():
            try:
                self.round()
            except Exception as e:  # a half-answered request during a crash
                self.refused[type(e).__name__] = self.refused.get(type(e).__name__, 0) + 1
            self.stop.wait(0.15)


def probe_ok(sysm, program):
    method, path = PROBES[program]
    auth = sysm.admin_auth() if program == "register" else None
    r = T.request(sysm, method, path, auth=auth, timeout=1)
    return r.status == 200


def time_to_answer(sysm, program, since, limit=ANSWER_WITHIN):
    """Seconds from `since` until the program answers its probe (limit when never)."""
    while time.monotonic() - since < limit:
        if probe_ok(sysm, program):
            return time.monotonic() - since
        time.sleep(0.01)
    return limit


def stacks(sysm, program, victims):
    """When a program did not answer in time: where its processes are (gdb, when the
    machine has it), printed as comments for whoever reads the failure."""
    gdb = shutil.which("gdb")
    master = sysm.pid(program)
    print(f"# {program} slow after killing {victims}: master {master}, "
          f"workers {sysm.workers(program)}")
    if not gdb or not master:
        return
    for pid in [master] + sysm.workers(program):
        r = subprocess.run([gdb, "-batch", "-p", str(pid), "-ex", "bt"],
                           capture_output=True, text=True, timeout=30)
        frames = [ln for ln in r.stdout.splitlines() if ln.startswith("#")]
        print(f"# {pid}:\n#   " + "\n#   ".join(frames[:25]))


def kill_everything(sysm):
    """SIGKILL to nginx and its workers, every program's master and workers, the
    miner. Masters are stopped first so that none forks a worker we would miss."""
    masters = [p for p in (sysm.pid(n) for n in ("nginx",) + T.PROGRAMS + ("miner",))
               if p and T.alive(p)]
    for p in masters:
        os.kill(p, signal.SIGSTOP)
    victims = list(masters)
    for p in masters:
        victims.extend(T.children(p))
    for p in victims:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    # gone from /proc, not only dead: what was killed is reaped before the round goes on
    T.wait_until(lambda: not any(os.path.exists(f"/proc/{p}") for p in victims), 10)
    return len(victims)


class Chaos:
    def __init__(self, sysm):
        self.sysm = sysm
        self.stop = threading.Event()
        self.kills = []         # (program, n_victims, seconds to answer, replaced)
        self.full = []          # (processes killed, seconds until answering again)
        self.restart_ok = True

    def kill_workers(self):
        program = random.choice(VICTIMS)
        ws = self.sysm.workers(program)
        if not ws:
            return
        # mostly one worker; now and then all of them, so that nothing answers
        # until the master has forked new ones
        victims = ws if random.random() < 0.2 else [random.choice(ws)]
        t0 = time.monotonic()
        for v in victims:
            try:
                os.kill(v, signal.SIGKILL)
            except ProcessLookupError:
                pass
        took = time_to_answer(self.sysm, program, t0)
        replaced = T.wait_until(
            lambda: len(set(self.sysm.workers(program)) - set(victims))
            == (VOTE_WORKERS if program == "vote" else WORKERS), 3)
        self.kills.append((program, len(victims), took, bool(replaced)))
        if took > ANSWER_TARGET or not replaced:
            stacks(self.sysm, program, victims)

    def kill_all(self):
        t0 = time.monotonic()
        n = kill_everything(self.sysm)
        ok = self.sysm.start(MINER=1)
        if not ok:
            self.restart_ok = False
        took = time_to_answer(self.sysm, "chain", t0, 60)
        self.full.append((n, took))

    def run(self, seconds):
        t_start = time.monotonic()
        full_at = t_start + seconds * 0.5
        while time.monotonic() - t_start < seconds:
            time.sleep(random.uniform(0.1, 0.4))
            if FULL_KILL and not self.full and time.monotonic() >= full_at:
                self.kill_all()
            else:
                self.kill_workers()
        if FULL_KILL and not self.full:
            # slow rounds (a program that did not answer) may have used up the time
            self.kill_all()


def pool_contents(sysm):
    r = T.request(sysm, "GET", "/api/pool?limit=1000", timeout=5)
    if r.status != 200:
        return None, None
    return r.json.get("pending"), r.json.get("votes", [])


def main():
    random.seed(os.environ.get("CHAOS_SEED"))
    roll = max(2000, SECONDS * VOTES_PER_SECOND)
    sysm = T.System(prefix="cv-chaos-", RATE_EXEMPT_LOOPBACK=1, WORKERS=WORKERS,
                    VOTE_WORKERS=VOTE_WORKERS, MINER=1)
    try:
        t0 = time.monotonic()
        el = T.setup_offline(sysm, res, n_voters=roll, difficulty=10, max_block_votes=500)
        if el is None:
            return
        if not res.check("system starts with a miner", sysm.start(), sysm.last_output):
            return
        if not res.check("the election is open", T.fill_genesis(sysm, el)):
            return
        now = int(time.time())
        votes = T.sign_votes(el.genesis_hash, [(k[0], k[1], el.candidates[i % 3], now)
                                               for i, k in enumerate(el.voters)])
        print(f"# election with {roll} voters set up and votes signed in "
              f"{time.monotonic() - t0:.1f} s")
        run(sysm, el, votes)
    finally:
        sysm.cleanup()


def run(sysm, el, votes):
    load = Load(sysm, votes)
    approver = Approver(sysm, el)
    chaos = Chaos(sysm)
    threads = [threading.Thread(target=load.run, daemon=True) for _ in range(LOAD_THREADS)]
    threads.append(threading.Thread(target=approver.run, daemon=True))
    for t in threads:
        t.start()
    t0 = time.monotonic()
    chaos.run(SECONDS)
    load.stop.set()
    for t in threads[:-1]:
        t.join(30)
    load_time = time.monotonic() - t0
    print(f"# load ran {load_time:.1f} s: {load.sent} posts, {len(load.accepted)} accepted, "
          f"{load.replays} replays, statuses {sorted(load.statuses.items())}")

    # --- the service is back, and the pool drains into the chain
    answering = [p for p in T.PROGRAMS if T.wait_until(lambda p=p: probe_ok(sysm, p), 10)]
    if not res.check("every program answers after the chaos",
                     len(answering) == len(T.PROGRAMS),
                     f"answering: {answering}; vote log: {sysm.log_tail('vote', 5)}"):
        approver.stop.set()
        recovery_checks(chaos)
        stopped_checks(sysm)
        report(sysm, load, approver, chaos, None, [], [])
        return
    # the pool must keep shrinking until it is empty: how long that takes depends on
    # how many votes the load got in, so what fails is DRAIN_STALL seconds without
    # progress (or an hour in all)
    t_drain = time.monotonic()
    last_progress, least, pending = t_drain, None, None
    while time.monotonic() - last_progress < DRAIN_STALL and time.monotonic() - t_drain < 3600:
        pending, _ = pool_contents(sysm)
        if pending == 0:
            break
        if pending is not None and (least is None or pending < least):
            least, last_progress = pending, time.monotonic()
        time.sleep(0.5)
    approver.stop.set()
    threads[-1].join(30)
    res.check("the pool drains into the chain after the chaos", pending == 0,
              f"{pending} votes still pending, none committed in the last {DRAIN_STALL} s")
    print(f"# the pool drained in {time.monotonic() - t_drain:.1f} s")

    # --- every acknowledged vote is kept, once
    body = T.export(sysm)
    if not res.check("the chain export is served", body is not None):
        recovery_checks(chaos)
        stopped_checks(sysm)
        report(sysm, load, approver, chaos, None, [], [])
        return
    chain = json.loads(body)
    chain_txids, chain_voters = [], []
    for b in chain["blocks"][1:]:
        for v in b["votes"]:
            chain_txids.append(T.vote_txid(v))
            chain_voters.append(v["voter_key"])
    pending, pool = pool_contents(sysm)
    pool_txids = [v["txid"] for v in pool or []]
    pool_voters = [v["voter_key"] for v in pool or []]
    kept = set(chain_txids) | set(pool_txids)
    missing = [t for t in load.accepted if t not in kept]
    if missing and pending is not None and pending > len(pool_txids):
        # the pool list is capped: ask for the rest one by one
        missing = [t for t in missing
                   if T.request(sysm, "GET", f"/api/votes/{t}").status != 200]
    all_txids = chain_txids + pool_txids
    all_voters = chain_voters + pool_voters
    res.check("every vote answered 2xx is in the pool or the chain", not missing,
              f"{len(missing)} missing, e.g. {missing[:3]}")
    res.check("no vote is in the pool or the chain twice",
              len(all_txids) == len(set(all_txids)),
              len(all_txids) - len(set(all_txids)))
    res.check("no voter has two votes in the pool and the chain",
              len(all_voters) == len(set(all_voters)),
              len(all_voters) - len(set(all_voters)))
    res.check("no replayed vote was answered 2xx a second time", not load.replay_accepted,
              load.replay_accepted[:3])
    r = T.request(sysm, "GET", "/api/results")
    total = (r.json or {}).get("total")
    res.check("the tally counts every vote in the chain", total == len(chain_txids),
              (total, len(chain_txids)))
    ok, out = T.verify_export(body)
    res.check("chainvote verify accepts the chain after the chaos", ok, out)

    recovery_checks(chaos)
    # --- the stopped environment is clean
    stopped_checks(sysm)
    report(sysm, load, approver, chaos, chain, chain_txids, pool_txids)


def recovery_checks(chaos):
    slow = [k for k in chaos.kills if k[2] >= ANSWER_WITHIN]
    res.check(f"after each of {len(chaos.kills)} worker deaths the service answered again",
              chaos.kills and not slow,
              f"{len(slow)} did not answer within {ANSWER_WITHIN:.0f} s (program, workers "
              f"killed, seconds, replaced): {slow[:5]}")
    over = [k for k in chaos.kills if k[2] > ANSWER_TARGET]
    print(f"# deaths answered after more than {ANSWER_TARGET:.0f} s: {len(over)} of "
          f"{len(chaos.kills)} {over[:5]}")
    unreplaced = [k for k in chaos.kills if not k[3]]
    res.check("every killed worker was replaced", not unreplaced, unreplaced[:5])
    res.check("everything was killed once mid-load and restarted as an operator would",
              not FULL_KILL or len(chaos.full) == 1 and chaos.restart_ok and chaos.full[0][1] < 60,
              chaos.full)


def stopped_checks(sysm):
    res.check("the system stops", sysm.stop(), sysm.last_output)
    ok, out = T.db_verify(sysm.election_dir)
    res.check("db_verify finds every database clean", ok, out)


def recovery_log(sysm):
    """From the programs' logs: how long each recovery took (ms), and how many workers
    died where (idle, reading a request, inside the store, writing an answer)."""
    places = ("idle", "reading a request", "inside the store", "writing an answer")
    times, died = [], dict.fromkeys(places, 0)
    for name in T.PROGRAMS:
        for line in sysm.log_tail(name, 10**6).splitlines():
            m = re.search(r"recovery of the store done in (\d+) ms", line)
            if m:
                times.append(int(m.group(1)))
            m = re.search(r"died (" + "|".join(places) + r") \(signal", line)
            if m:
                died[m.group(1)] += 1
    return times, died


def report(sysm, load, approver, chaos, chain, chain_txids, pool_txids):
    by_prog = {}
    for k in chaos.kills:
        by_prog[k[0]] = by_prog.get(k[0], 0) + k[1]
    worst = max((k[2] for k in chaos.kills), default=0)
    print(f"# counts: {SECONDS} s of load, {load.sent} votes posted ({load.replays} replays), "
          f"{len(load.accepted)} accepted (2xx), refused {load.refused}, "
          f"{load.failed} without an answer or 5xx")
    n_blocks = len(chain["blocks"]) - 1 if chain else "?"
    print(f"# chain: {n_blocks} blocks, {len(chain_txids)} votes committed, "
          f"{len(pool_txids)} pending; approvals posted {approver.posted}, "
          f"refused {approver.refused}")
    times, died = recovery_log(sysm)
    if times:
        times.sort()
        print(f"# recoveries of every program together: {len(times)}, taking "
              f"{times[0]}-{times[-1]} ms (median {times[len(times) // 2]} ms); workers "
              f"that died {died}")
    answers = sorted(k[2] for k in chaos.kills)
    if answers:
        print(f"# seconds from a worker's death to an answer: median "
              f"{answers[len(answers) // 2]:.3f}, 90th percentile "
              f"{answers[len(answers) * 9 // 10]:.3f}, slowest {answers[-1]:.3f}")
    print(f"# kills: {sum(k[1] for k in chaos.kills)} workers in {len(chaos.kills)} rounds "
          f"{by_prog}, slowest answer {worst:.3f} s; full kills {chaos.full} "
          f"(processes, seconds to answer)")


if __name__ == "__main__":
    res.run(main)
