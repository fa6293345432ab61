"""Changes of the parameters in force on the pages (docs/GOVERNANCE.md), in Chromium:
an open election with three validators (threshold 2) is set up here through the admin
API; then tests/browser/changes_e2e.mjs drives the admin page (a draft of a new
difficulty, no signature) and the validator dashboard (validator keys loaded from their
files, which never leave the page: the draft signed by two validators, a change of the
closing time proposed and signed in the page), sees who has signed, sees the service
offer the complete change as the next block, and approves that block on the dashboard
after its browser checks pass; the change is then in force.
Started by tests/e2e_changes_page.sh with BIN and CGI set."""
import os
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True   # no __pycache__ in the tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cvtest as T  # noqa: E402
from e2e_changes import key_file  # noqa: E402

res = T.Results("e2e_changes_page")


def main():
    sysm = T.System(prefix="cv-changespage-", WORKERS=2)
    tmp = tempfile.mkdtemp(prefix="cv-changespage-keys-")
    try:
        if not res.check("system starts", sysm.start(), sysm.last_output):
            return
        el = T.setup_election(sysm, res, n_voters=2, n_validators=3, threshold=2, difficulty=8)
        if el is None:
            return
        files = [key_file(os.path.join(tmp, f"validator-{i}.json"), *el.validators[i])
                 for i in range(3)]
        for f in files:
            os.chmod(f, 0o644)
        env = dict(os.environ, URL=sysm.url, COOKIE=sysm.admin_cookie() or "",
                   KEYS=":".join(files), CHAINVOTE=T.CHAINVOTE, MINER=T.MINER, TMP=tmp)
        r = subprocess.run(["node", os.path.join(HERE, "browser", "changes_e2e.mjs")], env=env,
                           capture_output=True, text=True, timeout=600)
        out = r.stdout + r.stderr
        for line in out.splitlines():
            if line.startswith("ok - ") or line.startswith("not ok - "):
                res.check(line.split(" - ", 1)[1], line.startswith("ok - "))
        res.check("the browser test ran to its end", "changes pages:" in out and r.returncode in
                  (0, 1), out[-2000:])
    finally:
        sysm.stop()
        sysm.cleanup()
        T.remove_tree(tmp)


if __name__ == "__main__":
    res.run(main)
