"""The trustee page in a secret election, in Chromium against the real nginx and programs
(election `council`: three candidates, three validators who are its trustees, quorum 2):
  - tests/browser/trustee_e2e.mjs (phase `complaint`): the trustee on the page posts its
    entry and shares, and checking a share sealed to it with a wrong value (signed by its
    sender) posts a complaint; the open is refused; the admin resets the ceremony;
  - trustee_e2e.mjs (phase `ceremony`): one trustee does its whole part of
    the key ceremony on trustee.html (its polynomial, the secret file saved, its signed
    entry, a reload with the key and secret files loaded again, its shares sealed to the
    two others, the shares it received opened and confirmed, its share file saved) while
    the two others run `chainvote trustee keygen|shares`: each side opens and confirms
    what the other sealed, so the page's sealed shares, entries and checks are the C
    library's bytes;
  - the admin opens the election; five voters cast ballots with `chainvote vote`; the
    miner commits them and two validators approve; the admin closes; the seal is mined
    and approved;
  - trustee_e2e.mjs (phase `decrypt`, a fresh browser): the page, given the key file and
    the share file it saved, checks the chain and posts its decryption share; after a
    reload, with the secret file alone, it makes s_j again from the sealed shares and its
    post is told the share is in already (the key then from the browser, remembered);
  - one CLI trustee posts its share (`chainvote trustee decrypt`); the miner commits the
    shares; /api/results shows the counts of the choices cast, and the export passes
    `chainvote verify`.
Started by tests/e2e_trustee_page.sh with BIN and CGI."""
import os
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True   # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cvtest as T  # noqa: E402
import e2e_ceremony as C  # noqa: E402  (the ceremony's helpers; its main() does not run)

res = T.Results("e2e_trustee_page")
SLUG = C.SLUG
HERE = os.path.dirname(os.path.abspath(__file__))


def P(path):
    return T.epath(path, SLUG)


def tip(sysm):
    return (T.request(sysm, "GET", P("/api/results")).json or {}).get("tip_height") or 0


def commit_next(sysm, approvers, what):
    """Mines the next block from the work template; two validators approve it."""
    before = tip(sysm)
    m = subprocess.run([T.MINER, "--url", sysm.url, "--once", "--threads", "1", "--election",
                        SLUG], capture_output=True, text=True, timeout=300)
    outs = [C.cli("approve", "--url", sysm.url, "--election", SLUG, "--key", t.key_path, "--all")
            for t in approvers]
    return res.check(what, m.returncode == 0 and tip(sysm) == before + 1,
                     (m.stdout[-600:], m.stderr[-600:], [o.stdout + o.stderr for o in outs]))


def browser(sysm, tmp, phase, page_trustee, others):
    """Runs one phase of trustee_e2e.mjs and records its ok/not ok lines."""
    env = dict(os.environ, URL=sysm.url, SLUG=SLUG, KEY_FILE=page_trustee.key_path,
               CHAINVOTE=T.CHAINVOTE, TMP=tmp, PHASE=phase,
               CLI_KEYS=",".join(t.key_path for t in others))
    r = subprocess.run(["node", os.path.join(HERE, "browser", "trustee_e2e.mjs")], env=env,
                       capture_output=True, text=True, timeout=900)
    out = r.stdout + r.stderr
    for line in out.splitlines():
        if line.startswith("ok - ") or line.startswith("not ok - "):
            res.check(f"[{phase}] " + line.split(" - ", 1)[1], line.startswith("ok - "))
        elif line.startswith("# "):
            print(line)
    return res.check(f"the {phase} phase in the browser ran to its end",
                     f"trustee page {phase}:" in out and r.returncode == 0, out[-3000:])


def main():
    sysm = T.System(prefix="cv-trusteepage-", WORKERS=2)
    tmp = tempfile.mkdtemp(prefix="cv-trusteepage-keys-")
    try:
        if not res.check("system starts", sysm.start(), sysm.last_output):
            return
        auth = sysm.admin_auth()
        r = T.request(sysm, "POST", "/admin/api/elections", {"slug": SLUG, "title": "Council"},
                      auth=auth)
        if not res.check("election council is created", r.status == 201, r):
            return
        trustees = sorted((C.Trustee(tmp, i) for i in range(3)), key=lambda t: t.pub)
        page_trustee = trustees[1]          # x = 2: the page's shares go both ways
        others = [trustees[0], trustees[2]]
        for t in trustees:
            os.chmod(t.key_path, 0o644)     # Chromium reads it
        settings = {"title": "Council", "threshold": 2, "difficulty": 4, "max_block_votes": 8,
                    "ballots": "secret", "quorum": 2}
        r = T.request(sysm, "PUT", P("/admin/api/election"), settings, auth=auth)
        res.check("the election is secret, quorum 2", r.status == 200, r)
        for cid, name in ((1, "Alder"), (2, "Birch"), (3, "Cedar")):
            T.request(sysm, "PUT", P(f"/admin/api/candidates/{cid}"), {"name": name}, auth=auth)
        for i, t in enumerate(trustees):
            T.request(sysm, "PUT", P(f"/admin/api/validators/{t.pub}"),
                      {"name": f"Trustee {i + 1}"}, auth=auth)
        voters = [C.Trustee(tmp, 10 + i) for i in range(5)]
        r = T.request(sysm, "POST", P("/admin/api/voters"), {"keys": [v.pub for v in voters]},
                      auth=auth)
        res.check("five voters on the roll", r.status in (200, 201), r)

        # ---- a complaint from the page, which blocks the open; the admin resets ----
        if not browser(sysm, tmp, "complaint", page_trustee, others):
            return
        r = T.request(sysm, "POST", P("/admin/api/open"), {}, auth=auth)
        res.check("the page's complaint blocks the open: 409 ceremony_incomplete",
                  r.status == 409 and r.code == "ceremony_incomplete", r)
        r = T.request(sysm, "POST", P("/admin/api/ceremony/reset"), {}, auth=auth)
        c = C.ceremony(sysm) or {}
        res.check("the admin resets the ceremony", r.status == 200 and not c.get("shares") and
                  all(t["entry"] is None for t in c.get("trustees", [])), c)
        for t in others:
            os.unlink(t.secret)     # keygen never overwrites: the voided polynomial goes

        # ---- the ceremony: one trustee on the page, two with the CLI ----
        if not browser(sysm, tmp, "ceremony", page_trustee, others):
            return
        c = C.ceremony(sysm) or {}
        res.check("the ceremony is complete: 6 shares, 6 confirmations, no complaint",
                  c.get("complete") and len(c.get("shares", [])) == 6 and
                  len(c.get("checks", [])) == 6 and c.get("complaints") == 0, c)
        res.check("the CLI trustees hold their share files",
                  all(os.path.exists(t.secret + ".share") for t in others))
        r = T.request(sysm, "POST", P("/admin/api/open"), {}, auth=auth)
        if not res.check("the secret election opens", r.status == 200, r):
            return

        # ---- ballots, the close, the seal ----
        choices = [1, 3, 1, 2, 1]
        for i, cand in enumerate(choices):
            out = C.cli("vote", "--url", sysm.url, "--election", SLUG, "--key",
                        voters[i].key_path, "--candidate", str(cand))
            res.check(f"voter {i + 1} casts a ballot", out.returncode == 0, out.stdout + out.stderr)
        commit_next(sysm, others, "the miner commits the ballots, two validators approve")
        r = T.request(sysm, "POST", P("/admin/api/close"), {}, auth=auth)
        res.check("the admin closes the election", r.status == 200, r)
        commit_next(sysm, others, "the seal is mined and approved")
        r = T.request(sysm, "GET", P("/api/election"))
        res.check("the election is final with its seal", (r.json or {}).get("final") is True, r)

        # ---- decryption: the page, then one CLI trustee ----
        if not browser(sysm, tmp, "decrypt", page_trustee, others):
            return
        out = others[0].run(sysm, "decrypt", "--share", others[0].secret + ".share")
        res.check("a CLI trustee posts its decryption share", out.returncode == 0,
                  out.stdout + out.stderr)
        r = T.request(sysm, "GET", P("/api/work"))
        res.check("the work template offers the two shares (the page's and the CLI's)",
                  r.status == 200 and len((r.json or {}).get("decryptions", [])) == 2 and
                  page_trustee.pub in [d["validator_key"] for d in r.json["decryptions"]], r)
        commit_next(sysm, others, "the miner commits the shares, two validators approve")
        want = {1: 3, 2: 1, 3: 1}
        j = T.request(sysm, "GET", P("/api/results")).json or {}
        got = {c["id"]: c.get("votes") for c in j.get("tally", [])}
        res.check("/api/results shows the decrypted counts of the ballots cast",
                  j.get("decrypted") is True and got == want and j.get("total") == 5, j)
        ok, text = T.verify_export(T.export(sysm, election=SLUG))
        res.check("the export passes chainvote verify", ok, text)
    finally:
        sysm.stop()
        sysm.cleanup()
        T.remove_tree(tmp)


if __name__ == "__main__":
    res.run(main)
