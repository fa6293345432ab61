"""A secret election's set-up and its trustees' key ceremony, against the real nginx and
programs, in election `council` (/api/e/council/...): three validators are the trustees,
quorum 2.
  - the settings (ballots secret, quorum) show in GET /api/election with the setup_hash;
    the open is refused while the ceremony is incomplete;
  - `chainvote trustee keygen` posts each entry (secret file 0600); a set-up change
    (a candidate renamed) voids the entries, and a stale secret is refused by `shares`;
  - hostile inputs are refused with 4xx JSON and change nothing: an entry signed by a
    non-validator, an entry for another setup_hash, a commitment off the curve, a share
    from a non-trustee, a share before every entry is in;
  - a tampered share (sealed and signed by its sender here, in Python: an independent
    implementation of the sealing) makes its recipient's `trustee shares` lodge a
    complaint, which blocks the open; the admin resets the ceremony;
  - the good path: a share sealed in Python with the right value is confirmed by the C
    client, every trustee ends with s_j (s_j·G = K_j checked by the CLI; here every pair
    of s_j interpolates to Σ a_j,0), the open seals the genesis and `chainvote verify`
    accepts the export; a vote (not a ballot) and ceremony writes are then refused;
  - the default (open) election has no ceremony to write to.
Started by tests/e2e_ceremony.sh with BIN and CGI set."""
import base64
import hashlib
import json
import os
import stat
import subprocess
import sys
import tempfile

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

sys.dont_write_bytecode = True   # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cvtest as T  # noqa: E402

res = T.Results("e2e_ceremony")
N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551
SLUG = "council"


def P(path):
    return T.epath(path, SLUG)


def cli(*args, timeout=120):
    return subprocess.run([T.CHAINVOTE, *args], capture_output=True, text=True,
                          timeout=timeout)


# ---- an independent implementation of what the trustees send (DESIGN 6, sealed.h) ----

def pub_of(d):
    k = ec.derive_private_key(d, ec.SECP256R1())
    return k, k.public_key().public_bytes(serialization.Encoding.X962,
                                          serialization.PublicFormat.UncompressedPoint)


def sign(d, msg):
    k, _ = pub_of(d)
    r, s = decode_dss_signature(k.sign(msg, ec.ECDSA(hashes.SHA256())))
    return (r.to_bytes(32, "big") + s.to_bytes(32, "big")).hex()


def hs(tag, parts):
    return int.from_bytes(hashlib.sha256(tag + parts).digest(), "big") % N


def trustee_entry(d, setup_hash, coeffs):
    """A trustee entry made here: commitments a_k·G, Schnorr proofs, signature."""
    _, key = pub_of(d)
    setup = bytes.fromhex(setup_hash)
    commits, proofs = [], []
    for k, a in enumerate(coeffs):
        C = pub_of(a)[1]
        u = int.from_bytes(os.urandom(32), "big") % (N - 1) + 1
        h = pub_of(u)[1]
        c = hs(b"chainvote/trustee-proof/1", setup + key + bytes([k]) + C + h)
        v = (u - c * a) % N
        commits.append(C)
        proofs.append((c.to_bytes(32, "big"), v.to_bytes(32, "big")))
    body = (b"chainvote/trustee/1" + setup + key + bytes([len(coeffs)]) + b"".join(commits) +
            b"".join(c + v for c, v in proofs))
    return {"setup_hash": setup_hash, "validator_key": key.hex(),
            "commitments": [C.hex() for C in commits],
            "proofs": [{"c": c.hex(), "v": v.hex()} for c, v in proofs],
            "signature": sign(d, body)}


def seal(d_sender, recipient_hex, setup_hash, value):
    """A sealed share of value from d_sender to recipient, signed by the sender."""
    _, sender = pub_of(d_sender)
    recipient = bytes.fromhex(recipient_hex)
    setup = bytes.fromhex(setup_hash)
    eph = ec.generate_private_key(ec.SECP256R1())
    E = eph.public_key().public_bytes(serialization.Encoding.X962,
                                      serialization.PublicFormat.UncompressedPoint)
    z = eph.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), recipient))
    info = b"chainvote/sealed-share/1" + setup + sender + recipient + E
    key = HKDF(hashes.SHA256(), 32, None, info).derive(z)
    nonce = os.urandom(12)
    ct = AESGCM(key).encrypt(nonce, (value % N).to_bytes(32, "big"), None)
    msg = (b"chainvote/ceremony-share/1" + setup + sender + recipient + E + nonce + ct[:32] +
           ct[32:])
    return {"setup_hash": setup_hash, "sender": sender.hex(), "recipient": recipient.hex(),
            "ephemeral": E.hex(), "nonce": nonce.hex(), "ciphertext": ct[:32].hex(),
            "tag": ct[32:].hex(), "signature": sign(d_sender, msg)}


def poly(coeffs, x):
    return sum(a * x ** k for k, a in enumerate(coeffs)) % N


def lagrange_at_0(points):
    total = 0
    for j, (xj, yj) in enumerate(points):
        lam = 1
        for m, (xm, _) in enumerate(points):
            if m != j:
                lam = lam * xm * pow(xm - xj, -1, N) % N
        total = (total + lam * yj) % N
    return total


# ---- helpers ----

class Trustee:
    def __init__(self, tmp, i):
        self.name = f"t{i}"
        self.key_path = os.path.join(tmp, f"{self.name}.key")
        r = cli("keygen", "-o", self.key_path)
        with open(self.key_path) as f:
            kf = json.load(f)
        self.pub = kf["public_key"]
        d = kf["private_key"]["d"]
        self.d = int.from_bytes(base64.urlsafe_b64decode(d + "=" * (-len(d) % 4)), "big")
        self.ok = r.returncode == 0
        self.secret = os.path.join(tmp, f"{self.name}.secret")

    def run(self, sysm, step, *extra):
        args = ["trustee", step, "--url", sysm.url, "--election", SLUG, "--key", self.key_path]
        if step == "shares":
            args += ["--secret", self.secret]
        if step == "keygen":
            args += ["--secret-out", self.secret]
        return cli(*args, *extra)

    def coefficients(self):
        with open(self.secret) as f:
            return [int(c, 16) for c in json.load(f)["coefficients"]]

    def share(self):
        with open(self.secret + ".share") as f:
            return json.load(f)


def ceremony(sysm, election=SLUG):
    r = T.request(sysm, "GET", T.epath("/api/ceremony", election))
    return r.json if r.status == 200 else None


def refused(what, r, status, code, sysm, before):
    res.check(f"{what}: {status} {code}", r.status == status and r.code == code, r)
    res.check(f"{what}: nothing changed", ceremony(sysm) == before)


def main():
    sysm = T.System(prefix="cv-ceremony-", WORKERS=2)
    tmp = tempfile.mkdtemp(prefix="cv-ceremony-keys-")
    try:
        if not res.check("system starts", sysm.start(), sysm.last_output):
            return
        auth = sysm.admin_auth()
        r = T.request(sysm, "POST", "/admin/api/elections",
                      {"slug": SLUG, "title": "Council"}, auth=auth)
        if not res.check("election council is created", r.status == 201, r):
            return
        trustees = [Trustee(tmp, i) for i in range(3)]
        outsider = Trustee(tmp, 9)
        if not res.check("key files are made", all(t.ok for t in trustees + [outsider])):
            return
        trustees.sort(key=lambda t: t.pub)    # x_j = place in key order
        settings = {"title": "Council", "threshold": 2, "difficulty": 4, "max_block_votes": 8,
                    "ballots": "secret", "quorum": 2}
        r = T.request(sysm, "PUT", P("/admin/api/election"), settings, auth=auth)
        res.check("the admin makes the election secret with quorum 2", r.status == 200, r)
        r = T.request(sysm, "PUT", P("/admin/api/election"), {"quorum": 1}, auth=auth)
        res.check("a quorum of 1 is refused", r.status == 400, r)
        r = T.request(sysm, "PUT", P("/admin/api/election"), {"ballots": "sealed"}, auth=auth)
        res.check("an unknown ballots mode is refused", r.status == 400, r)
        for cid, name in ((1, "Alder"), (2, "Birch")):
            T.request(sysm, "PUT", P(f"/admin/api/candidates/{cid}"), {"name": name}, auth=auth)
        for i, t in enumerate(trustees):
            r = T.request(sysm, "PUT", P(f"/admin/api/validators/{t.pub}"),
                          {"name": f"Trustee {i + 1}"}, auth=auth)
            res.check(f"validator {i + 1} added", r.status == 200, r)
        voters = T.keygen(2)
        r = T.request(sysm, "POST", P("/admin/api/voters"), {"keys": [v[1] for v in voters]},
                      auth=auth)
        res.check("voters on the roll", r.status in (200, 201), r)

        r = T.request(sysm, "GET", P("/api/election"))
        el = r.json or {}
        res.check("GET /api/election shows ballots secret, the quorum and a setup_hash",
                  el.get("ballots") == "secret" and el.get("quorum") == 2 and
                  len(el.get("setup_hash") or "") == 64, r)
        c = ceremony(sysm)
        res.check("the ceremony lists the three validators as trustees, no entry yet",
                  c and c["setup_hash"] == el.get("setup_hash") and
                  [t["validator_key"] for t in c["trustees"]] == [t.pub for t in trustees] and
                  all(t["entry"] is None for t in c["trustees"]) and not c["complete"], c)
        r = T.request(sysm, "POST", P("/admin/api/open"), {}, auth=auth)
        res.check("the open is refused before the ceremony: 409 ceremony_incomplete",
                  r.status == 409 and r.code == "ceremony_incomplete", r)

        # ---- entries, and a set-up change that voids them ----
        r = trustees[0].run(sysm, "keygen")
        res.check("trustee 1's keygen posts its entry", r.returncode == 0, r.stdout + r.stderr)
        mode = stat.S_IMODE(os.stat(trustees[0].secret).st_mode) if \
            os.path.exists(trustees[0].secret) else None
        res.check("the coefficients are kept in a 0600 file", mode == 0o600, oct(mode or 0))
        r = trustees[0].run(sysm, "keygen", "--secret-out", trustees[0].secret + ".2")
        res.check("a second keygen is refused (the entry is in)", r.returncode == 1,
                  r.stdout + r.stderr)
        setup1 = el.get("setup_hash")
        r = T.request(sysm, "PUT", P("/admin/api/candidates/2"), {"name": "Birch Alliance"},
                      auth=auth)
        c = ceremony(sysm)
        res.check("renaming a candidate voids the entries and changes the setup_hash",
                  r.status == 200 and c and c["voided"] == 1 and c["setup_hash"] != setup1 and
                  all(t["entry"] is None for t in c["trustees"]), c)
        r = trustees[0].run(sysm, "shares")
        res.check("`shares` refuses a secret made for the voided setup",
                  r.returncode == 1 and "another trustee or setup" in r.stderr, r.stderr)
        os.unlink(trustees[0].secret)
        for t in trustees[:2]:
            r = t.run(sysm, "keygen")
            res.check(f"{t.name}'s keygen posts its entry", r.returncode == 0,
                      r.stdout + r.stderr)
        setup = ceremony(sysm)["setup_hash"]

        # ---- hostile inputs ----
        before = ceremony(sysm)
        out_entry = trustee_entry(outsider.d, setup, [5, 7])
        r = T.request(sysm, "POST", P("/api/ceremony/entries"), out_entry)
        refused("an entry signed by a non-validator", r, 422, "trustee_not_validator", sysm,
                before)
        r = T.request(sysm, "POST", P("/api/ceremony/entries"),
                      trustee_entry(trustees[2].d, setup1, [5, 7]))
        refused("an entry for another setup_hash", r, 422, "trustee_setup_hash", sysm, before)
        bad = trustee_entry(trustees[2].d, setup, [5, 7])
        C = bytearray.fromhex(bad["commitments"][1])
        C[64] ^= 1
        bad["commitments"][1] = C.hex()
        r = T.request(sysm, "POST", P("/api/ceremony/entries"), bad)
        refused("a commitment off the curve", r, 400, "bad_key", sysm, before)
        r = T.request(sysm, "POST", P("/api/ceremony/entries"),
                      trustee_entry(trustees[2].d, setup, [5, 7, 9]))
        refused("an entry with three commitments for quorum 2", r, 422, "secrecy_params", sysm,
                before)
        forged = trustee_entry(trustees[2].d, setup, [5, 7])
        forged["validator_key"] = trustees[1].pub
        r = T.request(sysm, "POST", P("/api/ceremony/entries"), forged)
        res.check("an entry claiming another validator's key is refused (4xx)",
                  400 <= r.status < 500 and ceremony(sysm) == before, r)
        r = T.request(sysm, "POST", P("/api/ceremony/shares"),
                      seal(trustees[0].d, trustees[1].pub, setup, 3))
        refused("a share before every entry is in", r, 409, "bad_state", sysm, before)
        r = trustees[0].run(sysm, "shares")
        res.check("`shares` waits for every entry (exit 3)", r.returncode == 3,
                  r.stdout + r.stderr)

        r = trustees[2].run(sysm, "keygen")
        res.check("trustee 3's keygen posts its entry", r.returncode == 0, r.stdout + r.stderr)
        before = ceremony(sysm)
        r = T.request(sysm, "POST", P("/api/ceremony/shares"),
                      seal(outsider.d, trustees[1].pub, setup, 3))
        refused("a share from a non-trustee", r, 403, "decryption_not_trustee", sysm, before)
        sh = seal(trustees[0].d, trustees[1].pub, setup, 3)
        sh["ciphertext"] = ("00" if sh["ciphertext"][:2] != "00" else "01") + sh["ciphertext"][2:]
        r = T.request(sysm, "POST", P("/api/ceremony/shares"), sh)
        refused("a share whose signature does not cover it", r, 422, "bad_signature", sysm,
                before)
        sh = seal(trustees[0].d, trustees[1].pub, setup, 3)
        sh["ephemeral"] = sh["ephemeral"][:-2] + ("00" if sh["ephemeral"][-2:] != "00" else "01")
        r = T.request(sysm, "POST", P("/api/ceremony/shares"), sh)
        refused("a share whose ephemeral key is off the curve", r, 400, "bad_key", sysm, before)

        # ---- a tampered share: complaint, open blocked, reset ----
        coeffs1 = trustees[0].coefficients()
        wrong = seal(trustees[0].d, trustees[1].pub, setup, poly(coeffs1, 2) + 1)
        r = T.request(sysm, "POST", P("/api/ceremony/shares"), wrong)
        res.check("a tampered share from trustee 1 to trustee 2 is stored (sealed)",
                  r.status == 201, r)
        for t in trustees:
            r = t.run(sysm, "shares")
        r = trustees[1].run(sysm, "shares")
        res.check("trustee 2 complains about the tampered share",
                  r.returncode == 1 and "complaint" in r.stderr, r.stdout + r.stderr)
        c = ceremony(sysm)
        res.check("the complaint stands, naming trustee 1",
                  c and c["complaints"] == 1 and not c["complete"] and
                  any(k["sender"] == trustees[0].pub and k["trustee"] == trustees[1].pub and
                      not k["good"] for k in c["checks"]), c)
        r = T.request(sysm, "POST", P("/admin/api/open"), {}, auth=auth)
        res.check("the complaint blocks the open", r.status == 409 and
                  r.code == "ceremony_incomplete", r)
        r = T.request(sysm, "POST", P("/admin/api/ceremony/reset"), {}, auth=auth)
        c = ceremony(sysm)
        res.check("the admin resets the ceremony", r.status == 200 and c and
                  c["voided"] == 2 and not c["shares"] and not c["checks"] and
                  all(t["entry"] is None for t in c["trustees"]), r)

        # ---- the good path ----
        for t in trustees:
            os.unlink(t.secret)
            r = t.run(sysm, "keygen")
            res.check(f"{t.name} posts a new entry", r.returncode == 0, r.stdout + r.stderr)
        coeffs1 = trustees[0].coefficients()
        r = T.request(sysm, "POST", P("/api/ceremony/shares"),
                      seal(trustees[0].d, trustees[1].pub, setup, poly(coeffs1, 2)))
        res.check("a share sealed in Python with the right value is stored", r.status == 201, r)
        codes = []
        for rnd in range(2):
            for t in trustees:
                r = t.run(sysm, "shares")
                codes.append(r.returncode)
                if r.returncode not in (0, 3):
                    res.check(f"{t.name} shares (round {rnd + 1})", False, r.stdout + r.stderr)
        res.check("every trustee ends with its share file", all(
            os.path.exists(t.secret + ".share") for t in trustees), codes)
        c = ceremony(sysm)
        res.check("the ceremony is complete: 6 shares, 6 confirmations, no complaint",
                  c and c["complete"] and len(c["shares"]) == 6 and len(c["checks"]) == 6 and
                  c["complaints"] == 0, c)
        if all(os.path.exists(t.secret + ".share") for t in trustees):
            shares = [t.share() for t in trustees]
            mode = stat.S_IMODE(os.stat(trustees[0].secret + ".share").st_mode)
            res.check("s_j is kept in a 0600 file", mode == 0o600, oct(mode))
            res.check("each s_j·G is its trustee key K_j",
                      all(pub_of(int(s["share"], 16))[1].hex() == s["trustee_key"]
                          for s in shares), shares)
            secret = sum(t.coefficients()[0] for t in trustees) % N
            pts = [(s["x"], int(s["share"], 16)) for s in shares]
            res.check("every pair of s_j interpolates to the election secret Σ a_j,0",
                      all(lagrange_at_0([pts[i], pts[j]]) == secret
                          for i in range(3) for j in range(i + 1, 3)), pts)
        r = T.request(sysm, "POST", P("/admin/api/open"), {}, auth=auth)
        res.check("the election opens", r.status == 200, r)
        body = T.export(sysm, election=SLUG)
        g = (json.loads(body)["blocks"][0] if body else {}).get("secrecy", {})
        res.check("the genesis carries the secrecy entry and the trustees in key order",
                  g.get("quorum") == 2 and
                  [t["validator_key"] for t in g.get("trustees", [])] ==
                  [t.pub for t in trustees], g)
        ok, out = T.verify_export(body)
        res.check("chainvote verify accepts the opened secret genesis", ok, out)

        # ---- after the open ----
        r = T.request(sysm, "GET", P("/api/election"))
        eid = (r.json or {}).get("genesis_hash")
        v = T.sign_votes(eid, [(voters[0][0], voters[0][1], 1, r.json["genesis_timestamp"])])[0]
        v.pop("txid")
        r = T.request(sysm, "POST", P("/api/votes"), v)
        res.check("a vote (not a ballot) in the secret election is refused: 422 wrong_mode",
                  r.status == 422 and r.code == "wrong_mode", r)
        r = T.request(sysm, "GET", P("/api/work"))
        res.check("the secret election's work is a secret template with nothing pending",
                  r.status == 200 and r.json.get("votes") == [] and
                  r.json.get("decryptions") == [], r)
        r = T.request(sysm, "POST", P("/api/ceremony/entries"),
                      trustee_entry(outsider.d, setup, [5, 7]))
        res.check("ceremony writes after the open are refused", 400 <= r.status < 500, r)

        # ---- the default (open) election ----
        T.request(sysm, "PUT", "/admin/api/election", {"title": "Open one"}, auth=auth)
        c = ceremony(sysm, None)
        res.check("the default election's ceremony says ballots open",
                  c and c["ballots"] == "open" and not c["complete"], c)
        r = T.request(sysm, "POST", "/api/ceremony/entries",
                      trustee_entry(outsider.d, setup, [5, 7]))
        res.check("an open election takes no trustee entry: 409 bad_state",
                  r.status == 409 and r.code == "bad_state", r)
        r = T.request(sysm, "GET", "/api/election")
        res.check("an open election's GET /api/election says ballots open, no setup_hash",
                  r.status == 200 and r.json.get("ballots") == "open" and
                  "setup_hash" not in r.json, r)
    finally:
        sysm.stop()
        sysm.cleanup()
        T.remove_tree(tmp)


if __name__ == "__main__":
    res.run(main)
