"""The audit log holds what changed state or came through the admin's authentication,
and nothing an anonymous client can make it write; rotation (rename, then SIGHUP to
the programs) puts the next lines in the new file.

Started by tests/e2e_audit.sh with BIN and CGI in the environment.
"""
import http.client
import json
import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True   # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cvtest as T  # noqa: E402

RES = T.Results("e2e_audit")
check = RES.check
N_SPAM = 1000


def audit_lines(path):
    try:
        with open(path) as f:
            return [json.loads(line) for line in f]
    except OSError:
        return []


def spam(sysm):
    """N_SPAM anonymous approvals of no block, over one kept-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", sysm.port, timeout=10)
    path = "/api/proposals/" + "0" * 64 + "/approvals"
    statuses = {}
    for _ in range(N_SPAM):
        r = T.request(sysm, "POST", path, {}, conn=conn)
        statuses[r.status] = statuses.get(r.status, 0) + 1
        if r.status == 0:   # the connection was closed: open another
            conn = http.client.HTTPConnection("127.0.0.1", sysm.port, timeout=10)
    conn.close()
    return statuses


def main():
    sysm = T.System(prefix="cv-audit-", WORKERS=2)
    log = os.path.join(sysm.election_dir, "audit.log")
    try:
        if not check("system starts", sysm.start()):
            return
        el = T.setup_election(sysm, RES, n_voters=2)
        if el is None:
            return
        before = audit_lines(log)
        check("the admin's set-up is in the audit log", any(
            a["path"] == "/admin/api/open" and a["remote_user"] == "admin" for a in before),
            before[-3:])

        statuses = spam(sysm)
        print(f"# {N_SPAM} anonymous approvals: statuses {statuses}")
        after = audit_lines(log)
        check(f"{N_SPAM} refused anonymous approvals wrote no audit line",
              len(after) == len(before), after[len(before):][:3])
        check("nginx limits the rate of approvals (429)", statuses.get(429, 0) > 0, statuses)
        check("those within the limit reached the program and were refused there",
              sum(n for s, n in statuses.items() if 400 <= s < 500 and s != 429) >= 50,
              statuses)
        r = T.request(sysm, "PUT", "/admin/api/election", el.settings, auth=sysm.admin_auth())
        after = audit_lines(log)
        check("a refused request by the admin is audited", r.status >= 400 and any(
            a["path"] == "/admin/api/election" and a["status"] == r.status
            for a in after[len(before):]), (r, after[-2:]))

        # --- rotation: rename, then SIGHUP to every program's master
        os.rename(log, log + ".1")
        for p in T.PROGRAMS:
            os.kill(sysm.pid(p), signal.SIGHUP)
        time.sleep(0.3)
        rotated = audit_lines(log + ".1")
        r = T.request(sysm, "PUT", "/admin/api/election", el.settings, auth=sysm.admin_auth())
        fresh = audit_lines(log)
        check("after rename and SIGHUP the admin's next request lands in the new file",
              len(fresh) == 1 and fresh[0]["path"] == "/admin/api/election", fresh)
        # a validator's verdicts go through the validate program's running workers
        voter = el.voters[0]
        v = T.sign_votes(el.genesis_hash, [(voter[0], voter[1], 1, int(time.time()))])[0]
        r = T.request(sysm, "POST", "/api/votes", T.strip_vote(v))
        check("a vote is taken", r.status == 202, r)
        m = subprocess.run([T.MINER, "--url", sysm.url, "--once", "--threads", "1"],
                           capture_output=True, text=True, timeout=60)
        props = (T.request(sysm, "GET", "/api/proposals").json or {}).get("proposals", [])
        check("the miner proposes a block", m.returncode == 0 and len(props) == 1,
              (m.stdout, m.stderr, props))
        if not props:
            return
        h = props[0]["hash"]
        for a in T.approvals(h, el.validators[:2]):
            r = T.request(sysm, "POST", f"/api/proposals/{h}/approvals", a)
            check("a validator's approval is taken", r.status in (200, 201, 202), r)
        fresh = audit_lines(log)
        check("the approvals that changed the chain land in the new file",
              sum(1 for a in fresh if a["path"].endswith("/approvals")) == 2, fresh)
        check("nothing more went to the renamed file",
              len(audit_lines(log + ".1")) == len(rotated), audit_lines(log + ".1")[-2:])
        text = "".join(sysm.log_tail(p, 50) for p in ("register", "validate"))
        check("the programs say they opened the audit log again",
              text.count("audit log opened again") >= 2, text[-1500:])
    finally:
        sysm.cleanup()


if __name__ == "__main__":
    RES.run(main)
