"""The supervised layout the container runs (tests/e2e_supervise.sh):
  - tools/run.sh `alive` takes a zombie for a dead process: `status` says "stopped" for
    a PID file naming an exited, unreaped child, and "running" for a live one;
  - `tools/run.sh supervise` under tini (as the Dockerfile's command) brings up nginx
    and the five programs, which answer the API; started as root, the programs run as
    chainvote and nginx's workers as www-data;
  - a program master killed with SIGKILL is started again by supervisord (a new PID in
    its PID file) and its endpoints answer again;
  - `tools/run.sh stop` stops supervisord and with it every process of the system.
"""
import os
import pwd
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True   # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cvtest as T  # noqa: E402

res = T.Results("e2e_supervise")


def state_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def zombie_is_not_alive(sysm):
    run = sysm.run_dir
    os.makedirs(run, exist_ok=True)
    dead = subprocess.Popen(["true"])          # exits at once; not waited for: a zombie
    T.wait_until(lambda: state_of(dead.pid) == "Z", 10)
    live = subprocess.Popen(["sleep", "60"])
    try:
        res.check("the exited child is a zombie (precondition)", state_of(dead.pid) == "Z",
                  state_of(dead.pid))
        with open(os.path.join(run, "chain.pid"), "w") as f:
            f.write(f"{dead.pid}\n")
        with open(os.path.join(run, "vote.pid"), "w") as f:
            f.write(f"{live.pid}\n")
        r = sysm.run_sh("status")
        res.check("run.sh status: a zombie's PID file is 'stopped'",
                  "chain: stopped" in r.stdout, r.stdout)
        res.check("run.sh status: a live process's PID file is 'running'",
                  f"vote: running ({live.pid})" in r.stdout, r.stdout)
    finally:
        live.kill()
        live.wait()
        dead.wait()
        for p in ("chain", "vote"):
            os.unlink(os.path.join(run, p + ".pid"))


def answers(sysm):
    r = T.request(sysm, "GET", "/api/election", timeout=5)
    return r.status in (200, 404, 409) and r.json is not None


def main():
    sysm = T.System(prefix="cv-supervise-", DEMO="0", MINER="0", WORKERS="1",
                    VALIDATORS="1")
    proc = None
    try:
        zombie_is_not_alive(sysm)
        # a validator key where the demo keeps them: supervise runs a daemon for it
        keys = os.path.join(sysm.data, "demo", "validators")
        os.makedirs(keys)
        subprocess.run([T.CHAINVOTE, "keygen", "-o", os.path.join(keys, "validator-1.json")],
                       check=True, capture_output=True)
        log = open(os.path.join(sysm.tmp, "supervise.out"), "w")
        proc = subprocess.Popen(["tini", "-s", "--", "sh", T.RUN_SH, "supervise",
                                 str(sysm.port), sysm.data], env=sysm.env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        up = T.wait_until(lambda: answers(sysm) and all(sysm.pid(p) for p in T.PROGRAMS),
                          60)
        if not res.check("run.sh supervise under tini brings nginx and the programs up",
                         up, open(log.name).read()[-2000:]):
            return
        status = sysm.run_sh("status").stdout
        res.check("run.sh status sees supervisord and the programs",
                  "supervisord: running" in status and "chain: running" in status, status)
        if os.geteuid() == 0:
            svc = pwd.getpwnam("chainvote").pw_uid
            web = pwd.getpwnam("www-data").pw_uid
            uids = {T.uid_of(sysm.pid(p)) for p in T.PROGRAMS}
            res.check("supervised, the programs run as chainvote", uids == {svc}, uids)
            workers = T.children(sysm.pid("nginx"))
            res.check("supervised, nginx's workers run as www-data",
                      workers and {T.uid_of(w) for w in workers} == {web},
                      [T.uid_of(w) for w in workers])
        else:
            print("# not root: the unprivileged-user checks need root; skipped")

        daemon = sysm.pid("validator-1")
        res.check("supervised, the validator daemon runs",
                  daemon is not None and T.alive(daemon), sysm.log_tail("validator-1"))
        if daemon is not None and os.geteuid() == 0:
            res.check("supervised, the validator daemon runs as chainvote",
                      T.uid_of(daemon) == pwd.getpwnam("chainvote").pw_uid, T.uid_of(daemon))
        if daemon is not None:
            os.kill(daemon, signal.SIGKILL)
            res.check("the validator daemon killed with SIGKILL is started again",
                      T.wait_until(lambda: sysm.pid("validator-1") not in (None, daemon) and
                                   T.alive(sysm.pid("validator-1")), 30),
                      sysm.log_tail("validator-1"))
        for victim in ("chain", "register"):
            old = sysm.pid(victim)
            os.kill(old, signal.SIGKILL)
            back = T.wait_until(lambda: sysm.pid(victim) not in (None, old) and
                                T.alive(sysm.pid(victim)) and
                                os.path.exists(os.path.join(sysm.run_dir, "sock",
                                                            victim + ".sock")), 30)
            res.check(f"the {victim} master killed with SIGKILL is started again "
                      f"({old} -> {sysm.pid(victim)})", back, sysm.log_tail(victim))
        res.check("the chain program answers again after its restart",
                  T.wait_until(lambda: answers(sysm), 30), T.request(sysm, "GET", "/api/election"))
        # until its new master listens, the session check cannot reach it: a JSON 503
        seen = []

        def admin_answers():
            r = T.request(sysm, "GET", "/admin/api/election", auth=sysm.admin_auth())
            seen.append(r)
            return r.status in (200, 404, 409) and r.json is not None

        res.check("the register program answers again after its restart (admin API)",
                  T.wait_until(admin_answers, 30), seen[-3:])
        res.check("meanwhile every answer was JSON (503 while it restarted)",
                  all(r.json is not None and r.status in (200, 404, 409, 503) for r in seen),
                  [r for r in seen if r.json is None or r.status not in (200, 404, 409, 503)][:3])

        pids = sysm.all_pids() + [p for p in [sysm.pid("validator-1")] if p]
        r = sysm.run_sh("stop")
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            pass
        res.check("run.sh stop ends supervise (tini, supervisord)", proc.poll() is not None,
                  r.stdout + r.stderr)
        left = [p for p in pids if T.alive(p)]
        res.check(f"and every process of the system ({len(pids)}) is gone", not left, left)
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        sysm.cleanup()


if __name__ == "__main__":
    res.run(main)
