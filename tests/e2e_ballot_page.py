"""The vote page in a secret election, in Chromium against the real nginx and programs:
sets up election `council` with three candidates and three trustees who run the key
ceremony with the CLI (tests/e2e_ceremony.py's helpers), puts a voter's key file on the
roll and opens it; then tests/browser/ballot_e2e.mjs drives the page (prepare, check the
encryption with `chainvote check-ballot`, a fresh ballot, cast: the posted body, the
service takes it), has the ballot mined and approved (the vote page checks its receipt
in the chain; its receipt file passes `chainvote receipt`), checks the explorer's view of
the ballots (ciphertexts, proofs, no choice), and reports the time to prepare a
3-candidate ballot with and without CPU throttling. Then the close, the seal and two
trustees' shares are committed here, and a second run checks the explorer's block of
decryption shares. Started by tests/e2e_ballot_page.sh with BIN and CGI."""
import json
import os
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True   # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cvtest as T  # noqa: E402
import e2e_ceremony as C  # noqa: E402

res = T.Results("e2e_ballot_page")
SLUG = C.SLUG
HERE = os.path.dirname(os.path.abspath(__file__))


def P(path):
    return T.epath(path, SLUG)


def open_secret_election(sysm, tmp):
    """A secret election with 3 candidates, 3 trustees (quorum 2) and the voter of
    tmp/voter.json on the roll, opened after a complete ceremony. Returns the key file."""
    auth = sysm.admin_auth()
    r = T.request(sysm, "POST", "/admin/api/elections", {"slug": SLUG, "title": "Council"},
                  auth=auth)
    if not res.check("election council is created", r.status == 201, r):
        return None
    trustees = sorted((C.Trustee(tmp, i) for i in range(3)), key=lambda t: t.pub)
    settings = {"title": "Council", "threshold": 2, "difficulty": 4, "max_block_votes": 8,
                "ballots": "secret", "quorum": 2}
    r = T.request(sysm, "PUT", P("/admin/api/election"), settings, auth=auth)
    res.check("the election is secret, quorum 2", r.status == 200, r)
    for cid, name in ((1, "Alder"), (2, "Birch"), (3, "Cedar")):
        T.request(sysm, "PUT", P(f"/admin/api/candidates/{cid}"), {"name": name}, auth=auth)
    for i, t in enumerate(trustees):
        T.request(sysm, "PUT", P(f"/admin/api/validators/{t.pub}"), {"name": f"Trustee {i + 1}"},
                  auth=auth)
    key_file = os.path.join(tmp, "voter.json")
    r = C.cli("keygen", "-o", key_file)
    with open(key_file) as f:
        voter = json.load(f)["public_key"]
    r = T.request(sysm, "POST", P("/admin/api/voters"), {"keys": [voter]}, auth=auth)
    res.check("the voter's key is on the roll", r.status in (200, 201), r)
    for t in trustees:
        r = t.run(sysm, "keygen")
        res.check(f"{t.name} posts its trustee entry", r.returncode == 0, r.stdout + r.stderr)
    for _ in range(3):
        codes = [t.run(sysm, "shares").returncode for t in trustees]
        if all(c == 0 for c in codes):
            break
    res.check("the ceremony completes", (C.ceremony(sysm) or {}).get("complete"), codes)
    r = T.request(sysm, "POST", P("/admin/api/open"), {}, auth=auth)
    if not res.check("the secret election opens", r.status == 200, r):
        return None
    os.chmod(key_file, 0o644)
    return key_file, trustees


def browser(env):
    """tests/browser/ballot_e2e.mjs with env; its ok/not ok lines become checks."""
    r = subprocess.run(["node", os.path.join(HERE, "browser", "ballot_e2e.mjs")], env=env,
                       capture_output=True, text=True, timeout=600)
    out = r.stdout + r.stderr
    for line in out.splitlines():
        if line.startswith("ok - ") or line.startswith("not ok - "):
            res.check(line.split(" - ", 1)[1], line.startswith("ok - "))
        elif line.startswith("# "):
            print(line)
    res.check(f"the browser test ({env.get('PHASE', 'vote')}) ran to its end",
              "ballot page:" in out and r.returncode in (0, 1), out[-2000:])


def commit(sysm, trustees, what):
    """The pool mined into a block once and approved by two trustees."""
    m = subprocess.run([T.MINER, "--url", sysm.url, "--election", SLUG, "--once", "--threads",
                        "1"], capture_output=True, text=True, timeout=300)
    outs = [C.cli("approve", "--url", sysm.url, "--election", SLUG, "--key", t.key_path,
                  "--all") for t in trustees[:2]]
    res.check(f"{what} is mined and approved", m.returncode == 0 and
              all(o.returncode == 0 for o in outs), (m.stdout + m.stderr,
                                                     [o.stdout + o.stderr for o in outs]))


def main():
    sysm = T.System(prefix="cv-ballotpage-", WORKERS=2)
    tmp = tempfile.mkdtemp(prefix="cv-ballotpage-keys-")
    try:
        if not res.check("system starts", sysm.start(), sysm.last_output):
            return
        opened = open_secret_election(sysm, tmp)
        if opened is None:
            return
        key_file, trustees = opened
        env = dict(os.environ, URL=sysm.url, SLUG=SLUG, KEY_FILE=key_file,
                   CHAINVOTE=T.CHAINVOTE, TMP=tmp, MINER=T.MINER,
                   TRUSTEE_KEYS=":".join(t.key_path for t in trustees[:2]))
        browser(env)
        # the close, the seal and two trustees' shares, committed; then the explorer
        auth = sysm.admin_auth()
        r = T.request(sysm, "POST", P("/admin/api/close"), {}, auth=auth)
        res.check("the admin closes the election", r.status == 200, r)
        commit(sysm, trustees, "the seal")
        for t in trustees[:2]:
            out = t.run(sysm, "decrypt", "--share", t.secret + ".share")
            res.check(f"{t.name} posts its decryption share", out.returncode == 0,
                      out.stdout + out.stderr)
        commit(sysm, trustees, "the shares")
        browser(dict(env, PHASE="shares"))
    finally:
        sysm.stop()
        sysm.cleanup()
        T.remove_tree(tmp)


if __name__ == "__main__":
    res.run(main)
