"""Large imports against the real nginx and FastCGI programs (tests/e2e_imports.sh):
  - 200,000 eligibility rows posted as CSV to the admin API (through nginx, with the
    admin's password) are stored in one transaction and answered 201 with every code,
    by the worker that took the request (the watchdog did not have to step in); a
    returned code registers a voter; the same 200,000 posted again as JSON are all
    skipped and change nothing;
  - an import whose last row is bad (200,000 rows) is refused with the row named, and
    nothing of it is written; the same for a repeated id;
  - 200,000 voter keys and 200,000 eligibility ids through the CLI, each one
    transaction, while the service runs; a key file whose last key is off the curve is
    refused with its line and leaves the roll as it was.
The times are printed (not judged): README's "What we guarantee" quotes them.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True   # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cvtest as T  # noqa: E402

res = T.Results("e2e_imports")
SYS = None
N = 200000


def counts():
    r = T.request(SYS, "GET", "/admin/api/election", auth=SYS.admin_auth())
    return (r.json or {}).get("counts", {})


def post(path, body, ctype):
    """Posts raw bytes as the admin; returns (Reply, seconds)."""
    t0 = time.monotonic()
    r = T.request(SYS, "POST", path, raw=body, ctype=ctype, auth=SYS.admin_auth(),
                  timeout=120)
    return r, time.monotonic() - t0


def cli(*args, stdin=None):
    t0 = time.monotonic()
    r = subprocess.run(T.as_service_user([T.CHAINVOTE, *args]), input=stdin,
                       capture_output=True, text=True, timeout=300)
    return r, time.monotonic() - t0


def web_eligible():
    # ids with a code on every other row, the rest get one made by the service
    rows = [f"V{i:07d},CODE-{i:07d}" if i % 2 else f"V{i:07d}" for i in range(N)]
    csv = ("voter_id,code\n" + "\n".join(rows) + "\n").encode()
    workers = sorted(SYS.workers("register"))
    r, took = post("/admin/api/eligible", csv, "text/csv")
    print(f"# web: {N} eligibility rows as CSV ({len(csv)} bytes) answered in {took:.2f} s")
    doc = r.json or {}
    res.check(f"{N} eligibility rows in one CSV request: 201 with every entry added",
              r.status == 201 and doc.get("added") == N and len(doc.get("voters", [])) == N
              and doc.get("skipped") == [], r)
    codes = {v.get("voter_id"): v.get("code") for v in doc.get("voters", [])}
    res.check("every entry is answered with its code, given or made",
              codes.get("V0000001") == "CODE-0000001" and len(codes.get("V0000000") or "") == 14
              and all(codes.values()), [codes.get("V0000000"), codes.get("V0000001")])
    res.check("the worker that took the import answered it (no watchdog kill)",
              sorted(SYS.workers("register")) == workers, (workers, SYS.workers("register")))
    res.check("the admin's counts show the 200,000 entries", counts().get("eligible") == N,
              counts())
    key = T.keygen(1)[0][1]
    r = T.request(SYS, "POST", "/api/register",
                  {"voter_id": "V0123456", "code": codes.get("V0123456", ""), "public_key": key})
    res.check("a code answered by the import registers its voter", r.status == 201, r)

    body = json.dumps({"voters": [{"voter_id": f"V{i:07d}"} for i in range(N)]}).encode()
    r, took = post("/admin/api/eligible", body, "application/json")
    print(f"# web: the same {N} as JSON ({len(body)} bytes), all known, answered in {took:.2f} s")
    doc = r.json or {}
    res.check(f"the same {N} again as JSON: 201, none added, every one skipped",
              r.status == 201 and doc.get("added") == 0 and doc.get("voters") == []
              and len(doc.get("skipped", [])) == N, r)
    res.check("a skipped entry keeps its code (the registered voter stays registered)",
              counts().get("eligible") == N and counts().get("registered") == 1, counts())


def web_refused():
    before = counts()
    rows = [f"W{i:07d}" for i in range(N - 1)] + ["bad id"]
    r, took = post("/admin/api/eligible", ("\n".join(rows) + "\n").encode(), "text/csv")
    print(f"# web: {N} rows with a bad last one refused in {took:.2f} s")
    msg = ((r.json or {}).get("error") or {}).get("message", "")
    res.check(f"a bad row {N} is refused (400) and named", r.status == 400
              and r.code == "malformed" and msg.startswith(f"line {N}:"), r)
    rows = [f"W{i:07d}" for i in range(N - 1)] + ["W0000007"]
    r, _ = post("/admin/api/eligible", ("\n".join(rows) + "\n").encode(), "text/csv")
    msg = ((r.json or {}).get("error") or {}).get("message", "")
    res.check("a repeated id is refused, naming both lines",
              r.status == 400 and msg == f"line {N}: repeats the voter id of line 8", r)
    res.check("the refused imports wrote nothing", counts() == before, (before, counts()))


def cli_imports(tmp):
    d = SYS.election_dir
    keys = [k[1] for k in T.keygen(N)]
    good = os.path.join(tmp, "keys.csv")
    with open(good, "w") as f:
        f.write("key_hex\n" + "\n".join(keys) + "\n")
    bad = os.path.join(tmp, "bad-keys.csv")
    with open(bad, "w") as f:
        # the last key has a valid form but is no point of the curve
        f.write("\n".join(keys[:-1]) + "\n04" + "00" * 64 + "\n")
    before = counts()
    r, took = cli("voters", "--data", d, bad)
    res.check(f"CLI: a key file whose key {N} is off the curve is refused with its line",
              r.returncode == 1 and f"line {N}:" in r.stderr, r.stderr)
    res.check("CLI: the refused file wrote nothing", counts() == before, (before, counts()))
    r, took = cli("voters", "--data", d, good)
    print(f"# CLI: {N} voter keys imported in {took:.2f} s")
    res.check(f"CLI: {N} voter keys in one import while the service runs",
              r.returncode == 0 and counts().get("voters") == before.get("voters", 0) + N,
              (r.stderr, counts()))
    ids = "".join(f"C{i:07d}\n" for i in range(N))
    r, took = cli("eligible", "--data", d, "-", stdin=ids)
    print(f"# CLI: {N} eligibility ids imported in {took:.2f} s")
    res.check(f"CLI: {N} eligibility ids in one import, a code printed for each",
              r.returncode == 0 and len(r.stdout.splitlines()) == N
              and counts().get("eligible") == 2 * N, (r.stderr, counts()))


def main():
    global SYS
    SYS = T.System(prefix="cv-imports-")
    tmp = tempfile.mkdtemp(prefix="cv-imports-files-")
    os.chmod(tmp, 0o755)  # the CLI may read its files as the service's user
    try:
        if not res.check("system starts", SYS.start(), SYS.last_output):
            return
        r = T.request(SYS, "PUT", "/admin/api/election", {"title": "Large imports"},
                      auth=SYS.admin_auth())
        if not res.check("admin creates the election", r.status == 201, r):
            return
        web_eligible()
        web_refused()
        cli_imports(tmp)
    finally:
        SYS.cleanup()
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    res.run(main)
