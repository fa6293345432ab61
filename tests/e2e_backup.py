"""Hot backup while votes arrive, and restores an operator would do; the store encrypted
at rest.

A backup taken under load holds every vote acknowledged before it began; a backup of a
quiet service restores to a byte-identical, verifying chain; both copies pass
db_verify. No file of the data directory (the election, its backups) holds a registered
voter's id, code, code hash or key, nor the store key, in bytes or in hex, whether the
service runs or not; the store and its backups open with their key file only, and a
wrong or missing one is refused with the store_key error; chainvote rekey moves the store
to a new key (and encrypts a store made without one). The service is started as README
says, with no key option: encryption at rest is the default, under the key file the
programs make with the new store; a store made with --store-key none (the explicit
opt-out) is unencrypted and opens without a key. Runs the real nginx and programs
(tests/cvtest.py).
"""
import os
import shutil
import subprocess
import threading
import time

import cvtest
from cvtest import CHAINVOTE, MINER, Results, System, request

res = Results("e2e_backup")


def chainvote(*args):
    return subprocess.run([CHAINVOTE, *args], capture_output=True, text=True, timeout=300)


def restore_into(sysm, backup):
    """Stops the system, puts the election directory aside, restores backup in its
    place and starts the system again."""
    sysm.stop()
    aside = sysm.election_dir + ".old-" + str(time.monotonic_ns())
    os.rename(sysm.election_dir, aside)
    r = chainvote("restore", "--data", sysm.election_dir, backup)
    res.check(f"chainvote restore of {os.path.basename(backup)}", r.returncode == 0,
              r.stdout + r.stderr)
    res.check("the system starts on the restored directory", sysm.start(), sysm.last_output)


VOTER_ID = "VOTER-ATREST-7731"


def files_under(d):
    for root, _, names in os.walk(d):
        for n in names:
            yield os.path.join(root, n)


def plaintext_in(dirs, needles):
    """(file, needle name) for every needle found in a file under dirs, as bytes or as
    lowercase or uppercase hex."""
    found, forms = [], []
    for name, b in needles.items():
        forms += [(name, b), (name + " (hex)", b.hex().encode()),
                  (name + " (HEX)", b.hex().upper().encode())]
    for d in dirs:
        for f in files_under(d):
            try:
                with open(f, "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            found += [(os.path.relpath(f, d), n) for n, b in forms if b in data]
    return found


def code_record(env_dir, key_file):
    """The eligibility record of VOTER_ID (salt, code hash, spent, key) as Berkeley DB
    gives it with the key: db_dump of eligible.db on the stopped environment."""
    dump = shutil.which("db5.3_dump") or shutil.which("db_dump")
    with open(key_file) as f:
        pw = f.read().strip()
    r = subprocess.run([dump, "-P", pw, "-h", env_dir, "eligible.db"], capture_output=True,
                       text=True, timeout=60, cwd=env_dir)
    lines = [ln.strip() for ln in r.stdout.splitlines() if ln.startswith(" ")]
    for k, v in zip(lines[0::2], lines[1::2]):
        if bytes.fromhex(k) == VOTER_ID.encode():
            return bytes.fromhex(v)
    return None


def main():
    sysm = System(prefix="cv-backup-")
    # started as README says: no STORE_KEY, so the default (encrypted, the key file made
    # by the programs with the new store); none in the environment either
    sysm.env.pop("STORE_KEY", None)
    try:
        if not res.check("system starts", sysm.start(), sysm.last_output):
            return
        el = cvtest.setup_election(sysm, res, n_voters=60, difficulty=8,
                                   eligible=(VOTER_ID,), open_it=False)
        if el is None:
            return
        (scalar, pub), = cvtest.keygen(1)
        r = request(sysm, "POST", "/api/register",
                    {"voter_id": VOTER_ID, "code": el.codes.get(VOTER_ID), "public_key": pub})
        res.check("the known voter registers with its code", r.status in (200, 201), r)
        if not cvtest.open_election(sysm, res, el):
            return
        key_file = cvtest.store_key_of(sysm.election_dir)
        st = os.stat(key_file)
        res.check("the store key file was made, the service user's alone (0600)",
                  st.st_mode & 0o777 == 0o600 and st.st_uid == os.stat(sysm.election_dir).st_uid,
                  (oct(st.st_mode), st.st_uid))
        with open(key_file) as f:
            key_hex = f.read().strip()
        needles = {"voter id": VOTER_ID.encode(), "code": el.codes[VOTER_ID].encode(),
                   "voter key": bytes.fromhex(pub), "store key": key_hex.encode(),
                   "store key bytes": bytes.fromhex(key_hex)}
        now = int(time.time())
        votes = cvtest.sign_votes(el.genesis_hash, [
            (k[0], k[1], 1 + i % 3, now)
            for i, k in enumerate(el.voters[:50] + [(scalar, pub)])])

        # --- a hot backup while votes arrive
        acked, lock, started = [], threading.Lock(), threading.Event()

        def load():
            for i, v in enumerate(votes):
                r = request(sysm, "POST", "/api/votes", cvtest.strip_vote(v))
                if r.status == 202:
                    with lock:
                        acked.append((time.monotonic(), r.json["txid"]))
                if i == 10:
                    started.set()
            started.set()

        t = threading.Thread(target=load)
        t.start()
        started.wait(60)
        hot = os.path.join(sysm.tmp, "backup-hot")
        began = time.monotonic()
        r = chainvote("backup", "--data", sysm.election_dir, hot)
        t.join()
        res.check("hot backup while votes arrive", r.returncode == 0, r.stdout + r.stderr)
        with lock:
            before = [txid for at, txid in acked if at < began]
        res.check("votes were acknowledged before and during the backup",
                  len(before) >= 10 and len(acked) == len(votes), (len(before), len(acked)))
        r = chainvote("backup", "--data", sysm.election_dir, hot)
        res.check("a backup refuses an existing target", r.returncode != 0 and "exists" in
                  (r.stdout + r.stderr), r.stdout + r.stderr)

        # --- commit a block, then a backup of the quiet service
        r = subprocess.run([MINER, "--url", sysm.url, "--once", "--threads", "1"],
                           capture_output=True, text=True, timeout=120)
        res.check("miner proposes a block", r.returncode == 0, r.stdout + r.stderr)
        props = (request(sysm, "GET", "/api/proposals").json or {}).get("proposals", [])
        if not res.check("one proposal", len(props) == 1, props):
            return
        h = props[0]["hash"]
        for a in cvtest.approvals(h, el.validators[:2]):
            request(sysm, "POST", f"/api/proposals/{h}/approvals", a)
        res.check("the block is committed", cvtest.tip(sysm) == 1, cvtest.tip(sysm))
        live = cvtest.export(sysm)
        quiet = os.path.join(sysm.tmp, "backup-quiet")
        r = chainvote("backup", "--data", sysm.election_dir, quiet)
        res.check("backup of the running service", r.returncode == 0, r.stdout + r.stderr)

        restore_into(sysm, quiet)
        again = cvtest.export(sysm)
        res.check("the restored chain export is byte-identical", again is not None and again == live,
                  (len(live or b""), len(again or b"")))
        ok, out = cvtest.verify_export(again or b"")
        res.check("chainvote verify accepts the restored chain", ok, out)

        # --- the hot backup: every vote acknowledged before it began is there
        restore_into(sysm, hot)
        missing = [t for t in before if request(sysm, "GET", f"/api/votes/{t}").status != 200]
        res.check(f"all {len(before)} votes acknowledged before the hot backup are in it",
                  not missing, missing[:3])
        current = cvtest.export(sysm)
        ok, out = cvtest.verify_export(current)
        res.check("the hot backup's chain verifies", ok, out)
        # The store's files: the election directory (databases, logs, whatever else is
        # there) and the backups. Not the public chain export nginx caches (it holds the
        # voters' public keys by design), nor the key file.
        hits = plaintext_in([sysm.election_dir], needles)
        res.check("while the service runs no file of the election directory holds the "
                  "voter's id, code or key, or the store key", not hits, hits[:5])
        sysm.stop()
        backups = [os.path.join(sysm.tmp, n) for n in ("backup-hot", "backup-quiet")]
        record = code_record(sysm.election_dir, key_file)
        if res.check("with the key the code's record (salt, hash) is read",
                     record is not None and len(record) >= 48, record):
            needles["code hash"] = record[16:48]
        hits = plaintext_in([sysm.election_dir] + backups, needles)
        res.check("no file of the stopped election or its backups holds the voter's id, "
                  "code, code hash or key, or the store key", not hits, hits[:5])
        for b in backups:
            ok, out = cvtest.db_verify(b, key=key_file)
            res.check(f"db_verify with the key is clean on {os.path.basename(b)}", ok, out)
        at_rest(sysm, key_file, needles, backups, current)
    finally:
        sysm.cleanup()


def chainvote_fails_on_key(what, *args):
    r = chainvote(*args)
    res.check(what, r.returncode != 0 and "store_key" in r.stderr, r.stdout + r.stderr)
    return r


def at_rest(sysm, key, needles, backups, live):
    """The stopped election and its backups: keys required; rekey round trips."""
    d = sysm.election_dir
    aside = key + ".aside"
    os.rename(key, aside)
    r = chainvote_fails_on_key("without its key file the store does not open",
                               "status", "--data", d)
    res.check("the refusal names the missing key file", key in r.stderr, r.stderr)
    os.rename(aside, key)
    os.chmod(key, 0o644)
    chainvote_fails_on_key("a key file others can read is refused", "status", "--data", d)
    os.chmod(key, 0o600)
    wrong = os.path.join(sysm.tmp, "wrong.key")
    with open(wrong, "w") as f:
        f.write("ab" * 32 + "\n")
    os.chmod(wrong, 0o600)
    r = chainvote_fails_on_key("another key does not open the store",
                               "status", "--data", d, "--store-key", wrong)
    res.check("the refusal says the key does not open the store",
              "does not open" in r.stderr, r.stderr)
    chainvote_fails_on_key("recovery refuses another key",
                           "recover", "--data", d, "--store-key", wrong)
    chainvote_fails_on_key("no key does not open the store",
                           "status", "--data", d, "--store-key", "none")
    r = chainvote("status", "--data", d)
    res.check("after the refusals the store opens with its key", r.returncode == 0,
              r.stdout + r.stderr)
    fresh = os.path.join(sysm.tmp, "restored-no-key", "election")
    os.makedirs(os.path.dirname(fresh))
    chainvote_fails_on_key("a backup does not restore without its key",
                           "restore", "--data", fresh, backups[1])
    res.check("the failed restore leaves no directory behind", not os.path.exists(fresh),
              str(os.listdir(fresh)) if os.path.isdir(fresh) else "")
    r = chainvote("restore", "--data", fresh, "--store-key", key, backups[1])
    res.check("the same restore run again with the key succeeds", r.returncode == 0,
              r.stdout + r.stderr)
    fresh2 = os.path.join(sysm.tmp, "restored-key", "election")
    os.makedirs(os.path.dirname(fresh2))
    r = chainvote("restore", "--data", fresh2, "--store-key", key, backups[1])
    placed = os.path.join(os.path.dirname(fresh2), "keys", "store.key")
    res.check("a backup restores elsewhere with its key, which is put beside it (0600)",
              r.returncode == 0 and os.path.exists(placed) and
              os.stat(placed).st_mode & 0o777 == 0o600, r.stdout + r.stderr)
    r = chainvote("status", "--data", fresh2)
    res.check("the restored copy opens with the key put beside it", r.returncode == 0,
              r.stdout + r.stderr)

    # rekey: a new key, the same election
    with open(key) as f:
        before = f.read()
    r = chainvote("rekey", "--data", d)
    with open(key) as f:
        after = f.read()
    res.check("chainvote rekey moves the store to a new key", r.returncode == 0 and
              after != before and os.path.exists(key + ".old"), r.stdout + r.stderr)
    res.check("the new key file is the owner's alone",
              os.stat(key).st_mode & 0o777 == 0o600, oct(os.stat(key).st_mode))
    chainvote_fails_on_key("the old key no longer opens the store",
                           "status", "--data", d, "--store-key", key + ".old")
    r = chainvote("status", "--data", backups[1], "--store-key", key + ".old")
    res.check("a backup made before the rekey opens with the old key", r.returncode == 0,
              r.stdout + r.stderr)
    needles["new store key"] = after.strip().encode()
    hits = plaintext_in([d], needles)
    res.check("the rekeyed store holds nothing in the clear", not hits, hits[:5])
    res.check("the system starts on the rekeyed store", sysm.start(), sysm.last_output)
    again = cvtest.export(sysm)
    res.check("the rekeyed store serves the same chain", again == live,
              (len(live or b""), len(again or b"")))
    sysm.stop()
    ok, out = cvtest.db_verify(d)
    res.check("db_verify with the new key is clean on the rekeyed store", ok, out)

    # a store made with --store-key none (the opt-out): unencrypted, opened without a
    # key, refused with one, encrypted by rekey
    plain = os.path.join(sysm.tmp, "plain", "election")
    plain_key = cvtest.store_key_of(plain)
    os.makedirs(os.path.dirname(plain))
    r = chainvote("init", "--data", plain, "--store-key", "none", "--title", "Plain",
                  "--threshold", "2", "--difficulty", "1", "--max-block-votes", "4")
    res.check("chainvote init --store-key none makes an unencrypted store, and no key",
              r.returncode == 0 and not os.path.exists(plain_key) and
              "encrypted" not in r.stdout, r.stdout + r.stderr)
    r = subprocess.run([CHAINVOTE, "eligible", "--data", plain, "-"],
                       input=VOTER_ID + ",CODE-PLAIN-0001\n", capture_output=True, text=True,
                       timeout=60)
    res.check("its files hold the voter id in the clear (what encryption prevents)",
              r.returncode == 0 and plaintext_in([plain], {"voter id": VOTER_ID.encode()}),
              r.stdout + r.stderr)
    r = chainvote("status", "--data", plain)
    res.check("an unencrypted store opens without a key", r.returncode == 0 and
              "Plain" in r.stdout, r.stdout + r.stderr)
    r = chainvote("status", "--data", plain, "--store-key", key)
    res.check("an unencrypted store is not opened as if it had a key", r.returncode != 0 and
              "store_key" in r.stderr and "not encrypted" in r.stderr, r.stdout + r.stderr)
    r = chainvote("rekey", "--data", plain)
    res.check("chainvote rekey encrypts it, under a new key file beside it (0600)",
              r.returncode == 0 and os.path.exists(plain_key) and
              os.stat(plain_key).st_mode & 0o777 == 0o600, r.stdout + r.stderr)
    r = chainvote("status", "--data", plain)
    res.check("which then opens with its new key", r.returncode == 0 and "Plain" in r.stdout,
              r.stdout + r.stderr)
    chainvote_fails_on_key("and not without it", "status", "--data", plain,
                           "--store-key", "none")
    res.check("and holds the voter id in the clear no more",
              not plaintext_in([plain], {"voter id": VOTER_ID.encode()}))

    # chainvote init with no key option: a new store encrypted under the default key
    # file, which it makes
    enc = os.path.join(sysm.tmp, "enc", "election")
    enc_key = cvtest.store_key_of(enc)
    os.makedirs(os.path.dirname(enc))
    r = chainvote("init", "--data", enc, "--title", "Enc", "--threshold", "2",
                  "--difficulty", "1", "--max-block-votes", "4")
    res.check("chainvote init makes the key by default (0600 in a 0700 directory)",
              r.returncode == 0 and os.path.exists(enc_key) and
              os.stat(enc_key).st_mode & 0o777 == 0o600 and
              os.stat(os.path.dirname(enc_key)).st_mode & 0o777 == 0o700,
              r.stdout + r.stderr)
    r = subprocess.run([CHAINVOTE, "eligible", "--data", enc, "-"],
                       input=VOTER_ID + ",CODE-ENC-0001\n", capture_output=True, text=True,
                       timeout=60)
    res.check("its store takes a voter and holds no voter id in the clear",
              r.returncode == 0 and not plaintext_in([enc], {"voter id": VOTER_ID.encode()}),
              r.stdout + r.stderr)
    chainvote_fails_on_key("and does not open without its key", "status", "--data", enc,
                           "--store-key", "none")


if __name__ == "__main__":
    res.run(main)
