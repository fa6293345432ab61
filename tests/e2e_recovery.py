"""Voter recovery through the real nginx and programs: the admin's list of eligibility
entries with their states (paged, counted), a code reissued (the old one refused, the
new one taken however it is typed), a registered key revoked (refused at the ballot box
afterwards, the voter registered again with another key that votes), the refusals
(a key with a vote pending or committed, anything once the roll is sealed, weak codes),
the audit lines (action and voter id, never a code) and the CLI's side.

Started by tests/e2e_recovery.sh with BIN and CGI in the environment.
"""
import json
import os
import subprocess
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True   # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cvtest as T  # noqa: E402

RES = T.Results("e2e_recovery")
check = RES.check
# ids with bytes a query string must escape, so that paging by "after" is exercised
IDS = ["R-alice", "R-bob", "R-carol", "R-dave", "R-eve&after=x", "R-fay%2F/+"]


def listing(sysm, after=None, limit=None):
    q = []
    if after is not None:
        q.append("after=" + urllib.parse.quote(after, safe=""))
    if limit is not None:
        q.append(f"limit={limit}")
    return T.request(sysm, "GET", "/admin/api/eligible" + ("?" + "&".join(q) if q else ""),
                     auth=sysm.admin_auth())


def all_entries(sysm, limit=2):
    """Every entry, page by page following "next": {voter_id: entry}, the ids in page
    order, and the last page's counts."""
    out, order, after, counts = {}, [], None, None
    for _ in range(100):
        r = listing(sysm, after, limit)
        if r.status != 200 or not r.json:
            return None, None, r
        for v in r.json["voters"]:
            out[v["voter_id"]] = v
            order.append(v["voter_id"])
        counts = r.json["counts"]
        after = r.json["next"]
        if after is None:
            break
    return out, order, counts


def admin(sysm, path, body):
    return T.request(sysm, "POST", path, body, auth=sysm.admin_auth())


def register(sysm, voter_id, code, key):
    return T.request(sysm, "POST", "/api/register",
                     {"voter_id": voter_id, "code": code, "public_key": key})


def vote(sysm, el, key, cand=1):
    v = T.sign_votes(el.genesis_hash, [(key[0], key[1], cand, int(time.time()))])[0]
    return T.request(sysm, "POST", "/api/votes", T.strip_vote(v)), v


def audit_text(sysm):
    try:
        with open(os.path.join(sysm.election_dir, "audit.log")) as f:
            return f.read()
    except OSError:
        return ""


def cli(*args):
    return subprocess.run(T.as_service_user([T.CHAINVOTE, *args]), capture_output=True,
                          text=True, timeout=60)


def main():
    sysm = T.System(prefix="cv-recovery-", WORKERS=2)
    codes_seen = []
    try:
        if not check("system starts", sysm.start(), sysm.last_output):
            return
        el = T.setup_election(sysm, RES, n_voters=2, eligible=IDS, open_it=False)
        if el is None:
            return
        codes_seen += [c for c in el.codes.values() if c]
        ka, kb, kb2, kc, kg = T.keygen(5)

        # --- normalisation and strength of an administrator's code
        r = admin(sysm, "/admin/api/eligible",
                  {"voters": [{"voter_id": "R-given", "code": "Gv7k-Q9xd 2hfb"}]})
        check("an administrator's code with case, dashes and spaces is imported",
              r.status == 201 and r.json and r.json["added"] == 1, r)
        r = register(sysm, "R-given", "GV7KQ9XD2HFB", kg[1])
        check("the voter registers with the code typed in another form", r.status == 201, r)
        r = admin(sysm, "/admin/api/eligible", {"voters": [{"voter_id": "R-weak", "code": "ab-12"}]})
        check("a weak administrator's code is refused (422 weak_code) and named",
              r.status == 422 and r.code == "weak_code" and "voters[0]" in r.body.decode(), r)
        r = T.request(sysm, "POST", "/admin/api/eligible", raw=b"voter_id,code\nR-weak2,1234567\n",
                      ctype="text/csv", auth=sysm.admin_auth())
        check("a weak code in a CSV import is refused (422 weak_code) by its line",
              r.status == 422 and r.code == "weak_code" and "line 2" in r.body.decode(), r)

        # --- the list: states, counts, pages in voter id order
        entries, order, counts = all_entries(sysm)
        ids = sorted(IDS + ["R-given"], key=lambda s: s.encode())
        check("the list pages through every entry in voter id order, the weak ones absent",
              order == ids, (order, ids))
        check("the counts say 6 unused, 1 registered, 0 voted",
              counts == {"eligible": 7, "unused": 6, "registered": 1, "voted": 0}, counts)
        check("a registered entry shows its key, an unused one none",
              entries and entries["R-given"]["state"] == "registered" and
              entries["R-given"]["public_key"] == kg[1] and
              "public_key" not in entries["R-alice"], entries)
        r = listing(sysm, None, 1000)
        check("one page of up to 1000 holds them all, next null",
              r.status == 200 and len(r.json["voters"]) == 7 and r.json["next"] is None, r)
        for q, what in (("?limit=0", "limit 0"), ("?limit=1001", "limit 1001"),
                        ("?after=%zz", "a bad escape"), ("?after=a%00b", "a NUL"),
                        ("?after=" + "x" * 65, "an id of 65")):
            r = T.request(sysm, "GET", "/admin/api/eligible" + q, auth=sysm.admin_auth())
            check(f"the list refuses {what} (400)", r.status == 400 and r.code == "malformed", r)
        r = T.request(sysm, "GET", "/admin/api/eligible")
        check("the list is behind nginx's authentication (401)", r.status == 401, r)

        # --- registrations, then reissue
        r = register(sysm, "R-bob", el.codes["R-bob"], kb[1])
        check("R-bob registers", r.status == 201, r)
        r = register(sysm, "R-carol", el.codes["R-carol"].lower().replace("-", " "), kc[1])
        check("R-carol registers with her code in lower case with spaces", r.status == 201, r)
        r = admin(sysm, "/admin/api/eligible/reissue", {"voter_id": "R-alice"})
        new_a = (r.json or {}).get("code", "")
        check("a code is reissued for an unused entry, answered once",
              r.status == 200 and len(new_a) == 14 and r.json["state"] == "unused" and
              new_a != el.codes["R-alice"], r)
        codes_seen.append(new_a)
        r = register(sysm, "R-alice", el.codes["R-alice"], ka[1])
        check("the old code is refused (403 bad_code)", r.status == 403 and r.code == "bad_code", r)
        r = register(sysm, "R-alice", new_a.lower(), ka[1])
        check("the new code registers the voter", r.status == 201, r)
        r = admin(sysm, "/admin/api/eligible/reissue", {"voter_id": "R-dave", "code": "abcd-123"})
        check("a weak chosen code is refused (422 weak_code)",
              r.status == 422 and r.code == "weak_code", r)
        r = register(sysm, "R-dave", el.codes["R-dave"], T.keygen(1)[0][1])
        check("... and the entry's code still works", r.status == 201, r)
        r = admin(sysm, "/admin/api/eligible/reissue", {"voter_id": "R-bob"})
        check("reissue for a registered entry is refused (409 registered)",
              r.status == 409 and r.code == "registered", r)
        r = admin(sysm, "/admin/api/eligible/reissue", {"voter_id": "R-nobody"})
        check("reissue for an unknown id is refused (404)", r.status == 404, r)
        r = admin(sysm, "/admin/api/eligible/reissue", {"voter_id": "R-fay%2F/+", "code": 5})
        check("a code that is not a string is refused (400)", r.status == 400, r)
        r = admin(sysm, "/admin/api/eligible/reissue",
                  {"voter_id": "R-fay%2F/+", "code": "FAY-CODE-1234-5678"})
        check("a chosen code is taken for an id with URL bytes",
              r.status == 200 and r.json["code"] == "FAY-CODE-1234-5678", r)
        r = register(sysm, "R-fay%2F/+", "fay code 1234 5678", T.keygen(1)[0][1])
        check("... and registers in another form", r.status == 201, r)

        # --- revoke
        r = admin(sysm, "/admin/api/eligible/revoke", {"voter_id": "R-eve&after=x"})
        check("revoke of an unused entry is refused (409 not_registered)",
              r.status == 409 and r.code == "not_registered", r)
        r = admin(sysm, "/admin/api/eligible/revoke", {"voter_id": "R-bob"})
        new_b = (r.json or {}).get("code", "")
        check("a registered key is revoked with a new code, the key answered",
              r.status == 200 and r.json["revoked_key"] == kb[1] and len(new_b) == 14, r)
        codes_seen.append(new_b)
        r = register(sysm, "R-bob", el.codes["R-bob"], kb2[1])
        check("the spent old code is still refused", r.status == 403, r)
        r = register(sysm, "R-bob", new_b, kb2[1])
        check("the voter registers again with the new code and another key", r.status == 201, r)
        entries, _, counts = all_entries(sysm, limit=3)
        check("the list shows R-bob registered with the new key",
              entries and entries["R-bob"]["state"] == "registered" and
              entries["R-bob"]["public_key"] == kb2[1], entries and entries.get("R-bob"))
        check("the counts: 1 unused, 6 registered",
              counts == {"eligible": 7, "unused": 1, "registered": 6, "voted": 0}, counts)

        # --- the opening seals the roll
        if not T.open_election(sysm, RES, el):
            return
        r = T.request(sysm, "GET", "/api/blocks/0")
        roll = (r.json or {}).get("voters", [])
        check("the genesis roll holds the new key, not the revoked one",
              kb2[1] in roll and kb[1] not in roll, len(roll))
        r, _ = vote(sysm, el, kb)
        check("a vote signed with the revoked key is refused (403 not_on_roll)",
              r.status == 403 and r.code == "not_on_roll", r)
        r, vb = vote(sysm, el, kb2)
        check("the new key votes (202)", r.status == 202, r)
        r, _ = vote(sysm, el, kc, 2)
        check("another registered voter votes", r.status == 202, r)
        entries, _, counts = all_entries(sysm, limit=4)
        check("the list shows R-bob voted with the vote's txid",
              entries and entries["R-bob"]["state"] == "voted" and
              entries["R-bob"]["txid"] == vb["txid"], entries and entries.get("R-bob"))
        check("the counts: 1 unused, 4 registered, 2 voted (pending counts)",
              counts == {"eligible": 7, "unused": 1, "registered": 4, "voted": 2}, counts)
        before = all_entries(sysm, limit=1000)[0]
        r = admin(sysm, "/admin/api/eligible/revoke", {"voter_id": "R-bob"})
        check("a key whose vote is pending is not revoked (409 already_voted)",
              r.status == 409 and r.code == "already_voted", r)
        r = admin(sysm, "/admin/api/eligible/reissue", {"voter_id": "R-bob"})
        check("... nor its code reissued (409 already_voted)",
              r.status == 409 and r.code == "already_voted", r)
        r = admin(sysm, "/admin/api/eligible/revoke", {"voter_id": "R-alice"})
        check("once open, a key that has not voted is not revoked (409 bad_state)",
              r.status == 409 and r.code == "bad_state" and "genesis" in r.body.decode(), r)
        r = admin(sysm, "/admin/api/eligible/reissue", {"voter_id": "R-eve&after=x"})
        check("once open, no code is reissued (409 bad_state)",
              r.status == 409 and r.code == "bad_state", r)
        check("the refusals changed nothing", all_entries(sysm, limit=1000)[0] == before)

        # --- committed: still voted
        m = subprocess.run([T.MINER, "--url", sysm.url, "--once", "--threads", "1"],
                           capture_output=True, text=True, timeout=60)
        props = (T.request(sysm, "GET", "/api/proposals").json or {}).get("proposals", [])
        if check("the miner proposes a block", m.returncode == 0 and len(props) == 1,
                 (m.stdout, m.stderr, props)):
            h = props[0]["hash"]
            for a in T.approvals(h, el.validators[:2]):
                T.request(sysm, "POST", f"/api/proposals/{h}/approvals", a)
            check("the block is committed", T.tip(sysm) == 1, T.tip(sysm))
        r = admin(sysm, "/admin/api/eligible/revoke", {"voter_id": "R-bob"})
        check("a key whose vote is committed is not revoked (409 already_voted)",
              r.status == 409 and r.code == "already_voted", r)
        entries, _, counts = all_entries(sysm)
        check("the committed votes stay counted as voted",
              counts == {"eligible": 7, "unused": 1, "registered": 4, "voted": 2}, counts)

        # --- the audit log: action and voter id, never a code
        audit = [json.loads(line) for line in audit_text(sysm).splitlines() if line]
        acts = [(a["path"], a.get("voter_id"), a["status"]) for a in audit
                if a["path"].startswith("/admin/api/eligible/")]
        check("the reissue is audited with its voter id",
              ("/admin/api/eligible/reissue", "R-alice", 200) in acts, acts)
        check("the revoke is audited with its voter id",
              ("/admin/api/eligible/revoke", "R-bob", 200) in acts, acts)
        check("a refused revoke is audited too",
              ("/admin/api/eligible/revoke", "R-bob", 409) in acts, acts)
        check("an id with URL bytes is audited as it is",
              ("/admin/api/eligible/reissue", "R-fay%2F/+", 200) in acts, acts)
        text = audit_text(sysm)
        leaked = [c for c in codes_seen + ["FAY-CODE-1234-5678"] if c and c in text]
        check("no code in the audit log", not leaked, leaked)

        # --- the CLI on the same data directory
        r = cli("eligible-list", "--data", sysm.election_dir)
        lines = r.stdout.splitlines()
        check("chainvote eligible-list prints every entry with its state",
              r.returncode == 0 and lines[0] == "voter_id,state,public_key,txid" and
              f"R-bob,voted,{kb2[1]},{vb['txid']}" in lines and "R-eve&after=x,unused,," in lines
              and "1 unused, 4 registered, 2 voted" in r.stderr, (r.stdout, r.stderr))
        r = cli("revoke", "--data", sysm.election_dir, "R-bob")
        check("chainvote revoke refuses a key that voted",
              r.returncode == 1 and "already_voted" in r.stderr, r.stderr)
        r = cli("reissue", "--data", sysm.election_dir, "R-eve&after=x")
        check("chainvote reissue refuses once the election is open",
              r.returncode == 1 and "bad_state" in r.stderr, r.stderr)
    finally:
        sysm.cleanup()


if __name__ == "__main__":
    RES.run(main)
