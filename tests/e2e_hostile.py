"""Hostile input against the real nginx and FastCGI programs (tests/e2e_hostile.sh).
For every endpoint at least 30 hostile requests: malformed and truncated JSON, deep
nesting, trailing bytes, wrong types, huge and negative numbers, non-hex and wrong-length
hex, points off the curve, bad signatures, oversized bodies, wrong content types,
unknown candidates, another election's id, timestamps outside the window, replays,
stale blocks, weak proof of work, wrong merkle roots, approvals by non-validators,
wrong methods and paths. Each must answer a 4xx JSON error (with the status named where
the API fixes it), and the state must be byte-identical before and after: in set-up the
admin view of the election; once open the chain export, the pool, the proposals and the
results. Loopback is exempt from the rate limits here, so that 429 hides nothing.
"""
import json
import os
import sys
import time

sys.dont_write_bytecode = True   # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cvtest as T  # noqa: E402

res = T.Results("e2e_hostile")
SYS = None
OFF_CURVE = "04" + "00" * 64
OFF_CURVE2 = "04" + "11" * 64
N_ORDER = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"


def body_cases(base, max_body):
    """Hostile bodies for a JSON endpoint whose well-formed body is `base` (a dict
    that the server must refuse or treat as a replay). (name, raw bytes, ctype)."""
    good = json.dumps(base).encode()
    first = next(iter(base))
    out = [
        ("empty body", b"", "application/json"),
        ("truncated object", good[: len(good) // 2], "application/json"),
        ("only an open brace", b"{", "application/json"),
        ("unterminated string", b'{"' + first.encode() + b'": "abc', "application/json"),
        ("unclosed array", b"[1,2", "application/json"),
        ("null", b"null", "application/json"),
        ("an array", b"[]", "application/json"),
        ("a string", b'"vote"', "application/json"),
        ("a number", b"12", "application/json"),
        ("empty object", b"{}", "application/json"),
        ("deep nesting (objects)", b'{"a":' * 200 + b"1" + b"}" * 200, "application/json"),
        ("deep nesting (arrays)", b"[" * 1000 + b"]" * 1000, "application/json"),
        ("trailing garbage", good + b"x", "application/json"),
        ("a second value", good + b"{}", "application/json"),
        ("trailing NUL", good + b"\x00", "application/json"),
        ("NUL inside", good[:5] + b"\x00" + good[5:], "application/json"),
        ("invalid UTF-8 value", good.replace(b"{", b'{"\xff\xfe": 1, ', 1), "application/json"),
        ("byte order mark", b"\xef\xbb\xbf" + good, "application/json"),
        ("single quotes", good.replace(b'"', b"'"), "application/json"),
        ("comment", b"/* c */" + good, "application/json"),
        ("unknown extra key", json.dumps(dict(base, extra=1)).encode(), "application/json"),
        ("oversized body", json.dumps(dict(base, pad="a" * (max_body + 100))).encode(),
         "application/json"),
        ("text/plain", good, "text/plain"),
        ("form encoded", good, "application/x-www-form-urlencoded"),
        ("no content type", good, None),
        ("application/jsonx", good, "application/jsonx"),
        ("text/csv", good, "text/csv"),
        ("multipart", good, "multipart/form-data; boundary=x"),
    ]
    for k in base:
        rest = {x: base[x] for x in base if x != k}
        out.append((f"missing {k}", json.dumps(rest).encode(), "application/json"))
        for name, val in (("null", None), ("float", 1.5), ("bool", True), ("array", [1]),
                          ("object", {"a": 1}), ("-1", -1), ("2^64", 2 ** 64),
                          ("1e400", "HUGE")):
            if isinstance(base[k], str) and name in ("-1",):
                continue
            if isinstance(base[k], bool) and name == "bool":
                continue
            body = json.dumps(dict(base, **{k: val if val != "HUGE" else 0})).encode()
            if val == "HUGE":
                body = body.replace(f'"{k}": 0'.encode(), f'"{k}": 1e400'.encode())
            out.append((f"{k} as {name}", body, "application/json"))
        if isinstance(base[k], str):
            v = base[k]
            for name, val in (("empty", ""), ("non-hex", "zz" + v[2:]),
                              ("uppercase hex", v.upper()), ("one digit short", v[:-1]),
                              ("one byte long", v + "00"), ("as a number", 7),
                              ("padded with spaces", " " + v + " "),
                              ("with 0x prefix", "0x" + v), ("huge", "ab" * 2000)):
                if val == v:
                    continue
                out.append((f"{k} {name}", json.dumps(dict(base, **{k: val})).encode(),
                            "application/json"))
    return out


def expect_4xx(label, r, statuses=None, code=None):
    ok = 400 <= r.status < 500 and r.code is not None
    if statuses is not None:
        ok = ok and r.status in statuses
    if code is not None:
        ok = ok and r.code == code
    return res.check(label, ok, r)


def run_cases(endpoint, method, path, cases, auth=None):
    """cases: (name, raw, ctype[, statuses[, code]])."""
    n = 0
    for c in cases:
        name, raw, ctype = c[:3]
        statuses = c[3] if len(c) > 3 else None
        code = c[4] if len(c) > 4 else None
        r = T.request(SYS, method, path, raw=raw, ctype=ctype, auth=auth)
        if ctype not in ("application/json", None) and statuses is None and \
                not name.startswith("oversized"):
            statuses = (415,)
        if name.startswith("oversized"):
            statuses = (413,)
        expect_4xx(f"{endpoint}: {name} -> 4xx JSON", r, statuses, code)
        n += 1
    return n


def path_cases(endpoint, prefix, suffix="", valid_len=64, unknown=None):
    """Hostile path arguments for /prefix/{arg}suffix (GET)."""
    args = ["zz" * (valid_len // 2), "a" * (valid_len - 1), "a" * (valid_len + 1),
            "A" * valid_len, "-1", "%00", "%2e%2e", "..%2f..%2fetc%2fpasswd", "a%20b",
            "0x" + "a" * (valid_len - 2), "ab" * 200, "g" * valid_len, "1.5", "%ff" * 10,
            "null", "[]", "{}", "'", '"', "\\", "a;b", "a,b", "%20" + "a" * (valid_len - 1),
            "%0a" + "a" * (valid_len - 3), "\u00e9".encode().hex(), "*", "$", "~", "!"]
    n = 0
    for a in args:
        r = T.request(SYS, "GET", f"{prefix}/{a}{suffix}")
        if "%2f" in a:
            # decoded and normalised by nginx to a path outside /api/: a plain 404
            res.check(f"{endpoint}: GET {prefix}/{a[:20]}{suffix} -> 4xx", 400 <= r.status < 500, r)
        else:
            expect_4xx(f"{endpoint}: GET {prefix}/{a[:20]}{suffix} -> 4xx JSON", r)
        n += 1
    if unknown:
        r = T.request(SYS, "GET", f"{prefix}/{unknown}{suffix}")
        expect_4xx(f"{endpoint}: unknown {unknown[:8]}... -> 404", r, (404,))
        n += 1
    return n


def method_cases(endpoint, path, allowed):
    """Wrong methods and wrong paths next to a fixed endpoint."""
    n = 0
    for m in ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"):
        if m in allowed:
            continue
        bodies = ((None, None), (b"{}", "application/json"), (b"x=1", "text/plain"))
        # nginx answers TRACE itself, whatever the body: once is enough
        for raw, ctype in bodies[:1] if m == "TRACE" else bodies:
            r = T.request(SYS, m, path, raw=raw, ctype=ctype)
            expect_4xx(f"{endpoint}: {m} {path} {ctype or 'no body'} -> 4xx JSON", r)
            n += 1
    for extra in ("/", "/x", "x", "/../x", ".json", "//", "/%00", "/.", "/..", ";a", "%2e",
                  "/x/y", "~", "%20", "/" + "a" * 300):
        r = T.request(SYS, "GET", path + extra)
        expect_4xx(f"{endpoint}: GET {path}{extra} -> 4xx JSON", r)
        n += 1
    return n


def query_cases(endpoint, path, names):
    n = 0
    for name in names:
        for v in ("", "0x10", "-1", "abc", "1e3", "1.0", "+1", "%201", "99999999999999999999999",
                  "18446744073709551616", "%00", "1%00", "0", "100000"):
            if name == "from" and v in ("0",):
                continue
            r = T.request(SYS, "GET", f"{path}?{name}={v}")
            if name == "limit" or v not in ("0", "100000"):
                expect_4xx(f"{endpoint}: ?{name}={v} -> 4xx JSON", r, (400,))
                n += 1
        r = T.request(SYS, "GET", f"{path}?{name}")
        expect_4xx(f"{endpoint}: ?{name} without a value -> 400", r, (400,))
        n += 1
    return n


# ---- set-up state: registration and the admin API --------------------------------------

def admin_snapshot():
    r = T.request(SYS, "GET", "/admin/api/election", auth=SYS.admin_auth())
    return r.body


def setup_phase(el):
    auth = SYS.admin_auth()
    before = admin_snapshot()
    counts = {}
    pub = T.keygen(1)[0][1]
    vid = next(iter(el.codes))
    base = {"voter_id": vid, "code": "WRONG-CODE-0", "public_key": pub}
    cases = body_cases(base, 4096)
    cases += [
        ("wrong code", json.dumps(base).encode(), "application/json", (403,), "bad_code"),
        ("unknown voter id", json.dumps(dict(base, voter_id="NOBODY", code=el.codes[vid])).encode(),
         "application/json", (403,), "bad_code"),
        ("key off the curve", json.dumps(dict(base, code=el.codes[vid], public_key=OFF_CURVE)).encode(),
         "application/json", (400, 422)),
        ("compressed key", json.dumps(dict(base, code=el.codes[vid], public_key="02" + pub[2:66])).encode(),
         "application/json", (400, 422)),
        ("voter id with a space", json.dumps(dict(base, voter_id="a b")).encode(), "application/json", (400,)),
        ("voter id of 65 bytes", json.dumps(dict(base, voter_id="a" * 65)).encode(), "application/json", (400,)),
        ("voter id non-ASCII", json.dumps(dict(base, voter_id="\u00e9t\u00e9")).encode(), "application/json", (400,)),
        ("code with a control char", json.dumps(dict(base, code="ab\x01cd")).encode(), "application/json", (400,)),
        ("voter id with an escaped NUL", json.dumps(dict(base, voter_id=vid + "\x00x")).encode(), "application/json", (400, 403)),
    ]
    counts["POST /api/register"] = run_cases("register", "POST", "/api/register", cases)

    # admin: settings
    sbase = {"title": "Test election", "threshold": 2, "difficulty": 8, "max_block_votes": 8,
             "opens": 0, "closes": 0, "results_after_close": False}
    cases = [c for c in body_cases(sbase, 16 * 1024 * 1024 // 1024) if not c[0].startswith("oversized")
             and not c[0].startswith("missing") and c[0] != "empty object"]
    cases = [c for c in cases if not (c[0].startswith("title") and c[0].split()[-1] in
                                      ("digit", "long", "hex", "prefix", "spaces", "non-hex", "short"))]
    cases += [
        ("threshold 1", json.dumps(dict(sbase, threshold=1)).encode(), "application/json", (400, 422)),
        ("threshold 256", json.dumps(dict(sbase, threshold=256)).encode(), "application/json", (400, 422)),
        ("difficulty 256", json.dumps(dict(sbase, difficulty=256)).encode(), "application/json", (400, 422)),
        ("max_block_votes 0", json.dumps(dict(sbase, max_block_votes=0)).encode(), "application/json", (400, 422)),
        ("title of 201 bytes", json.dumps(dict(sbase, title="t" * 201)).encode(), "application/json", (400, 422)),
        ("title with a newline", json.dumps(dict(sbase, title="a\nb")).encode(), "application/json", (400, 422)),
        ("closes before opens", json.dumps(dict(sbase, opens=2000000000, closes=1000000000)).encode(), "application/json", (400, 422)),
    ]
    counts["PUT /admin/api/election"] = run_cases("admin settings", "PUT", "/admin/api/election", cases, auth)

    cbase = {"name": "Alder Party"}
    cases = [c for c in body_cases(cbase, 4096) if not c[0].startswith("oversized")
             and not c[0].startswith("name ")]
    cases += [("name of 201 bytes", json.dumps({"name": "n" * 201}).encode(), "application/json", (400,)),
              ("empty name", json.dumps({"name": ""}).encode(), "application/json", (400,)),
              ("name with a tab", json.dumps({"name": "a\tb"}).encode(), "application/json", (400,)),
              ("name with an escaped NUL", json.dumps({"name": "a\x00b"}).encode(), "application/json", (400,))]
    counts["PUT /admin/api/candidates/1"] = run_cases("admin candidate", "PUT", "/admin/api/candidates/1", cases, auth)
    n = 0
    for cid in ("0", "-1", "4294967296", "abc", "1.5", "01x", "99999999999999999999999", "%00", "0x1"):
        r = T.request(SYS, "PUT", f"/admin/api/candidates/{cid}", {"name": "X"}, auth=auth)
        expect_4xx(f"admin candidate: id {cid} -> 4xx JSON", r)
        n += 1
    counts["PUT /admin/api/candidates/1"] += n

    n = 0
    for key, label in ((OFF_CURVE, "off the curve"), (OFF_CURVE2, "another point off the curve"),
                       ("04" + "ff" * 64, "coordinates above p"), ("02" + "ab" * 32, "compressed"),
                       ("00" * 65, "all zero"), (pub[:-2], "one byte short"), (pub + "00", "one byte long"),
                       (pub.upper(), "uppercase"), ("zz" * 65, "non-hex"), ("x", "one char")):
        r = T.request(SYS, "PUT", f"/admin/api/validators/{key}", {"name": "V"}, auth=auth)
        expect_4xx(f"admin validator: key {label} -> 4xx JSON", r)
        n += 1
    vcases = [c for c in body_cases(cbase, 4096) if not c[0].startswith("oversized")
              and not c[0].startswith("name ")]
    n += run_cases("admin validator", "PUT", f"/admin/api/validators/{pub}", vcases, auth)
    counts["PUT /admin/api/validators/{key}"] = n

    ebase = {"voters": [{"voter_id": "NEW-1"}]}
    cases = [c for c in body_cases(ebase, 4096) if not c[0].startswith("oversized")
             and c[0] != "text/csv"]
    for label, voters in (("id with a space", [{"voter_id": "a b"}]),
                          ("id of 65 bytes", [{"voter_id": "a" * 65}]),
                          ("empty id", [{"voter_id": ""}]),
                          ("code of 65 bytes", [{"voter_id": "N2", "code": "c" * 65}]),
                          ("repeated id", [{"voter_id": "N3"}, {"voter_id": "N3"}]),
                          ("id not a string", [{"voter_id": 5}]),
                          ("code not a string", [{"voter_id": "N4", "code": 5}]),
                          ("unknown key", [{"voter_id": "N5", "name": "x"}]),
                          ("a bad entry after a good one", [{"voter_id": "N6"}, {"voter_id": ""}]),
                          ("id with an escaped NUL", [{"voter_id": "N7\x00x"}]),
                          ("code with an escaped NUL", [{"voter_id": "N8", "code": "c\x00d"}]),
                          ("empty list", [])):
        cases.append((label, json.dumps({"voters": voters}).encode(), "application/json", (400,)))
    cases.append(("CSV with a bad id", b"voter_id\nok-1\nbad id\n", "text/csv", (400,)))
    cases.append(("CSV with a NUL", b"ok-2\x00\n", "text/csv", (400,)))
    counts["POST /admin/api/eligible"] = run_cases("admin eligible", "POST", "/admin/api/eligible", cases, auth)

    kbase = {"keys": [pub]}
    cases = [c for c in body_cases(kbase, 4096) if not c[0].startswith("oversized")
             and c[0] != "text/csv"]
    for label, keys in (("a key off the curve", [OFF_CURVE]), ("a repeated key", [pub, pub]),
                        ("a short key", [pub[:-2]]), ("uppercase", [pub.upper()]),
                        ("a number", [5]), ("empty list", []),
                        ("a good key then a bad one", [T.keygen(1)[0][1], "zz"])):
        cases.append((label, json.dumps({"keys": keys}).encode(), "application/json", (400, 422)))
    cases.append(("CSV with an off-curve key", ("key_hex\n" + OFF_CURVE + "\n").encode(),
                  "text/csv", (400, 422)))
    cases.append(("CSV with a NUL", (pub + "\x00\n").encode(), "text/csv", (400,)))
    cases.append(("CSV of JSON", json.dumps(kbase).encode(), "text/csv", (400,)))
    counts["POST /admin/api/voters"] = run_cases("admin voters", "POST", "/admin/api/voters", cases, auth)

    n = 0
    for m in ("GET", "PUT", "DELETE", "PATCH"):
        for p in ("/admin/api/open", "/admin/api/close"):
            r = T.request(SYS, m, p, auth=auth)
            expect_4xx(f"admin: {m} {p} -> 4xx JSON", r)
            n += 1
    r = T.request(SYS, "POST", "/admin/api/close", auth=auth)
    expect_4xx("admin: closing an election in set-up -> 409", r, (409,))
    for p in ("/admin/api/nothing", "/admin/api/candidates", "/admin/api/candidates/1/x",
              "/admin/api/validators/", "/admin/api/election/x"):
        r = T.request(SYS, "GET", p, auth=auth)
        expect_4xx(f"admin: GET {p} -> 4xx JSON", r)
        n += 1
    for m, p in (("DELETE", "/admin/api/candidates/999"), ("DELETE", "/admin/api/candidates/0"),
                 ("DELETE", "/admin/api/candidates/x"), ("DELETE", f"/admin/api/validators/{pub}"),
                 ("DELETE", f"/admin/api/validators/{OFF_CURVE}"), ("DELETE", "/admin/api/validators/zz"),
                 ("GET", "/admin/api/candidates/1/2"), ("GET", "/admin/api/voters/x"),
                 ("POST", "/admin/api/eligible/x"), ("POST", "/admin/api/open/x"),
                 ("PUT", "/admin/api/voters"), ("GET", "/admin/api/eligible/reissue"),
                 ("DELETE", "/admin/api/eligible"), ("POST", "/admin/api/eligible/revoke"),
                 ("DELETE", "/admin/api/election"), ("PATCH", "/admin/api/election"),
                 ("POST", "/admin/api/election"), ("GET", "/admin/api/" + "a" * 300)):
        r = T.request(SYS, m, p, auth=auth)
        expect_4xx(f"admin: {m} {p[:40]} -> 4xx JSON", r)
        n += 1
    counts["admin open/close and paths"] = n + 1
    res.check("the admin view of the election is byte-identical after the set-up cases",
              admin_snapshot() == before)
    return counts


# ---- open state ---------------------------------------------------------------------

def snapshot():
    out = {}
    for p in ("/api/chain/export", "/api/pool?limit=1000", "/api/results", "/api/election"):
        out[p] = T.request(SYS, "GET", p).body
    r = T.request(SYS, "GET", "/api/proposals")
    full = [T.request(SYS, "GET", f"/api/proposals/{p['hash']}").json
            for p in (r.json or {}).get("proposals", [])]
    out["proposals"] = json.dumps([(p["block"], p["approvals"], p["rejections"])
                                   for p in full if p])
    return out


def open_phase(el):
    counts = {}
    now = int(time.time())
    fresh = list(el.voters)
    v1, v2, v3 = T.sign_votes(el.genesis_hash, [(k[0], k[1], el.candidates[0], now)
                                                for k in (fresh.pop(), fresh.pop(), fresh.pop())])
    for v in (v1, v2, v3):
        r = T.request(SYS, "POST", "/api/votes", T.strip_vote(v))
        if not res.check("a vote for the fixtures is accepted", r.status == 202, r):
            return counts
    genesis = T.block_at(SYS, 0)
    diff = el.settings["difficulty"]
    b1 = T.make_block(1, genesis["hash"], [v1, v2], max(now, genesis["timestamp"]), diff)
    r = T.request(SYS, "POST", "/api/blocks", b1)
    res.check("block 1 is proposed", r.status == 202, r)
    for a in T.approvals(b1["hash"], el.validators[:2]):
        T.request(SYS, "POST", f"/api/proposals/{b1['hash']}/approvals", a)
    if not res.check("block 1 is committed", T.tip(SYS) == 1):
        return counts
    b1c = T.block_at(SYS, 1)
    p2 = T.make_block(2, b1["hash"], [v3], max(now, b1["timestamp"]), diff)
    r = T.request(SYS, "POST", "/api/blocks", p2)
    res.check("a proposal at height 2 waits for approvals", r.status == 202, r)

    before = snapshot()
    voter = fresh.pop()       # on the roll, has not voted: signed hostile votes use it
    outsider = T.keygen(1)[0]
    other_eid = T.sha256(b"another election").hex()

    def signed(**kw):
        k = kw.pop("key", voter)
        spec = (k[0], k[1], kw.pop("candidate_id", el.candidates[0]),
                kw.pop("timestamp", int(time.time())), kw.pop("election_id", el.genesis_hash))
        return T.strip_vote(T.sign_votes(el.genesis_hash, [spec])[0])

    # --- POST /api/votes (the base is v3, a replay of a pending vote)
    base = T.strip_vote(v3)
    good_sig = base["signature"]
    flipped = bytearray.fromhex(good_sig)
    flipped[31] ^= 1
    cases = body_cases(base, 64 * 1024)  # ballots: 64 KiB
    cases += [
        ("replay of a pending vote", json.dumps(base).encode(), "application/json", (409,), "already_voted"),
        ("replay of a committed vote", json.dumps(T.strip_vote(v1)).encode(), "application/json", (409,), "already_voted"),
        ("replay with a stated txid", json.dumps(dict(base, txid=v3["txid"])).encode(), "application/json", (409,)),
        ("wrong stated txid", json.dumps(dict(signed(), txid="00" * 32)).encode(), "application/json", (400, 422)),
        ("bad signature", json.dumps(dict(signed(), signature=flipped.hex())).encode(), "application/json", (422,), "bad_signature"),
        ("signature r = 0", json.dumps(dict(signed(), signature="00" * 32 + good_sig[64:])).encode(), "application/json", (422,), "bad_signature"),
        ("signature s = n", json.dumps(dict(signed(), signature=good_sig[:64] + N_ORDER)).encode(), "application/json", (422,), "bad_signature"),
        ("voter key off the curve", json.dumps(dict(signed(), voter_key=OFF_CURVE)).encode(), "application/json", (400, 403, 422)),
        ("another voter's key under a valid signature", json.dumps(dict(signed(), voter_key=fresh[-1][1])).encode(), "application/json", (422,), "bad_signature"),
        ("unknown candidate", json.dumps(signed(candidate_id=99)).encode(), "application/json", (422,), "unknown_candidate"),
        ("candidate 0", json.dumps(signed(candidate_id=0)).encode(), "application/json", (422,)),
        ("candidate 2^32-1", json.dumps(signed(candidate_id=2 ** 32 - 1)).encode(), "application/json", (422,)),
        ("another election's id", json.dumps(signed(election_id=other_eid)).encode(), "application/json", (422,), "wrong_election"),
        ("timestamp before the genesis", json.dumps(signed(timestamp=el.genesis_timestamp - 10)).encode(), "application/json", (422,), "vote_time"),
        ("timestamp an hour ahead", json.dumps(signed(timestamp=int(time.time()) + 3600)).encode(), "application/json", (422,), "vote_time"),
        ("timestamp 0", json.dumps(signed(timestamp=0)).encode(), "application/json", (422,), "vote_time"),
        ("timestamp 2^64-1", json.dumps(signed(timestamp=2 ** 64 - 1)).encode(), "application/json", (400, 422)),
        ("voter off the roll", json.dumps(signed(key=outsider)).encode(), "application/json", (403,), "not_on_roll"),
    ]
    counts["POST /api/votes"] = run_cases("votes", "POST", "/api/votes", cases)

    # --- GET /api/votes/{txid}, GET /api/pool
    counts["GET /api/votes/{txid}"] = path_cases("vote receipt", "/api/votes", unknown="ab" * 32) + \
        method_cases("vote receipt", f"/api/votes/{v3['txid']}", ("GET",))
    counts["GET /api/pool"] = query_cases("pool", "/api/pool", ("limit",)) + \
        method_cases("pool", "/api/pool", ("GET",))

    # --- POST /api/blocks (the base is the pending proposal p2: a re-post is 409)
    def mined(**kw):
        votes = kw.pop("votes", [v3])
        b = T.make_block(kw.pop("height", 2), kw.pop("prev", b1["hash"]), votes,
                         kw.pop("timestamp", p2["timestamp"]), kw.pop("difficulty", diff))
        b.update(kw)
        return b

    def remined(b, **kw):
        b = dict(b, **kw)
        return T.rehash(b)

    weak = T.make_block(2, b1["hash"], [v3], p2["timestamp"], diff, pow_ok=False)
    bad_root = remined(p2, merkle_root=T.sha256(b"x").hex())
    bad_vote_sig = dict(T.strip_vote(v3), signature=flipped.hex())
    too_many = [T.strip_vote(v) for v in T.sign_votes(el.genesis_hash, [
        (k[0], k[1], el.candidates[0], now) for k in fresh[:el.settings["max_block_votes"] + 1]])]
    bcases = [c for c in body_cases({k: p2[k] for k in p2}, 2 * 1024 * 1024)
              if not c[0].startswith("votes ") or c[0] in ("votes as null", "votes as object")]
    bcases += [
        ("re-post of the pending proposal", json.dumps(p2).encode(), "application/json", (409,)),
        ("re-post of committed block 1", json.dumps(b1).encode(), "application/json", (409,), "stale"),
        ("committed block 1 with its approvals", json.dumps(b1c).encode(), "application/json", (400, 409)),
        ("a rival of block 1 (stale)", json.dumps(mined(height=1, prev=genesis["hash"], votes=[v3])).encode(), "application/json", (409,), "stale"),
        ("a block at height 3 (skips one)", json.dumps(mined(height=3)).encode(), "application/json", (409, 422)),
        ("prev_hash not the tip", json.dumps(mined(prev=genesis["hash"])).encode(), "application/json", (409, 422)),
        ("weak proof of work", json.dumps(weak).encode(), "application/json", (422,), "weak_pow"),
        ("wrong merkle root", json.dumps(bad_root).encode(), "application/json", (422,), "bad_merkle_root"),
        ("stated hash not H(header)", json.dumps(dict(p2, hash="00" * 32)).encode(), "application/json", (400, 422)),
        ("difficulty below the election's", json.dumps(mined(difficulty=1)).encode(), "application/json", (422,), "bad_difficulty"),
        ("version 2", json.dumps(remined(p2, version=2)).encode(), "application/json", (400, 422)),
        ("timestamp before the tip", json.dumps(mined(timestamp=b1["timestamp"] - 100)).encode(), "application/json", (422,), "bad_timestamp"),
        ("timestamp an hour ahead", json.dumps(mined(timestamp=int(time.time()) + 3600)).encode(), "application/json", (422,), "bad_timestamp"),
        ("no votes", json.dumps(mined(votes=[])).encode(), "application/json", (400, 422)),
        ("more than max_block_votes", json.dumps(mined(votes=too_many)).encode(), "application/json", (400, 422)),
        ("one vote twice", json.dumps(mined(votes=[v3, v3])).encode(), "application/json", (422,)),
        ("a vote already in the chain", json.dumps(mined(votes=[v1])).encode(), "application/json", (409, 422)),
        ("a vote with a bad signature", json.dumps(mined(votes=[bad_vote_sig])).encode(), "application/json", (422,), "bad_signature"),
        ("a vote by a voter off the roll", json.dumps(mined(votes=[signed(key=outsider)])).encode(), "application/json", (403, 422)),
        ("a vote for an unknown candidate", json.dumps(mined(votes=[signed(candidate_id=77)])).encode(), "application/json", (422,)),
        ("a vote of another election", json.dumps(mined(votes=[signed(election_id=other_eid)])).encode(), "application/json", (422,)),
        ("carrying an approval", json.dumps(dict(p2, approvals=[T.approvals(p2["hash"], [el.validators[2]])[0]])).encode(), "application/json", (400,)),
        ("a genesis block", json.dumps(genesis).encode(), "application/json", (400, 409, 422)),
        ("nonce 2^53", json.dumps(dict(p2, nonce=2 ** 53)).encode(), "application/json", (400, 422)),
        ("height -1", json.dumps(dict(p2, height=-1)).encode(), "application/json", (400,)),
        ("votes not an array", json.dumps(dict(p2, votes={"a": 1})).encode(), "application/json", (400,)),
    ]
    counts["POST /api/blocks"] = run_cases("blocks", "POST", "/api/blocks", bcases)

    # --- approvals and rejections on the pending proposal
    ppath = f"/api/proposals/{p2['hash']}"
    val = el.validators[2]
    good = T.approvals(p2["hash"], [val])[0]
    gsig = bytearray.fromhex(good["signature"])
    gsig[5] ^= 4
    abase = {"validator_key": val[1], "signature": gsig.hex()}   # well-formed, badly signed
    acases = body_cases(abase, 4096)
    acases += [
        ("bad signature", json.dumps(abase).encode(), "application/json", (422,), "bad_signature"),
        ("signed over block 1", json.dumps(T.approvals(b1["hash"], [val])[0]).encode(), "application/json", (422,), "bad_signature"),
        ("signed as a rejection", json.dumps({"validator_key": val[1], "signature": T.sign_many([(val[0], T.rejection_message(p2["hash"], ""))])[0][1]}).encode(), "application/json", (422,), "bad_signature"),
        ("by a non-validator", json.dumps(T.approvals(p2["hash"], [outsider])[0]).encode(), "application/json", (403,), "not_validator"),
        ("by a voter", json.dumps(T.approvals(p2["hash"], [voter])[0]).encode(), "application/json", (403,), "not_validator"),
        ("key off the curve", json.dumps(dict(abase, validator_key=OFF_CURVE)).encode(), "application/json", (400, 403, 422)),
        ("signature s = n", json.dumps(dict(abase, signature=good["signature"][:64] + N_ORDER)).encode(), "application/json", (422,)),
        ("another validator's key", json.dumps(dict(good, validator_key=el.validators[1][1])).encode(), "application/json", (422,), "bad_signature"),
    ]
    n = run_cases("approvals", "POST", ppath + "/approvals", acases)
    for label, p, st in (("unknown block", "/api/proposals/" + "cd" * 32 + "/approvals", (404,)),
                         ("committed block 1", f"/api/proposals/{b1['hash']}/approvals", (404, 409)),
                         ("hash of 63 digits", "/api/proposals/" + "c" * 63 + "/approvals", (400, 404)),
                         ("uppercase hash", "/api/proposals/" + p2["hash"].upper() + "/approvals", (400,)),
                         ("non-hex hash", "/api/proposals/" + "zz" * 32 + "/approvals", (400,))):
        body = T.approvals(p.split("/")[3] if len(p.split("/")[3]) == 64 and p.split("/")[3] == p.split("/")[3].lower() and all(c in "0123456789abcdef" for c in p.split("/")[3]) else p2["hash"], [val])[0]
        r = T.request(SYS, "POST", p, body)
        expect_4xx(f"approvals: a validator's valid approval of the {label} -> {st}", r, st)
        n += 1
    counts["POST /api/proposals/{hash}/approvals"] = n

    rsig = T.sign_many([(val[0], T.rejection_message(p2["hash"], "bad block"))])[0][1]
    rbase = {"validator_key": val[1], "signature": rsig, "reason": "another reason"}
    rcases = body_cases(rbase, 4096)
    rcases += [
        ("signature over another reason", json.dumps(rbase).encode(), "application/json", (422,), "bad_signature"),
        ("reason of 201 bytes", json.dumps(dict(rbase, reason="r" * 201)).encode(), "application/json", (400,)),
        ("reason with a newline", json.dumps(dict(rbase, reason="a\nb")).encode(), "application/json", (400,)),
        ("reason as a number", json.dumps(dict(rbase, reason=5)).encode(), "application/json", (400,)),
        ("by a non-validator", json.dumps({"validator_key": outsider[1], "signature": T.sign_many([(outsider[0], T.rejection_message(p2["hash"], "x"))])[0][1], "reason": "x"}).encode(), "application/json", (403,), "not_validator"),
        ("an approval signature", json.dumps(dict(good, reason="")).encode(), "application/json", (400, 422)),
    ]
    counts["POST /api/proposals/{hash}/rejections"] = run_cases("rejections", "POST", ppath + "/rejections", rcases)

    # --- the read endpoints: arguments, queries, methods, paths
    counts["GET /api/proposals/{hash}"] = path_cases("proposal", "/api/proposals", unknown="ef" * 32) + \
        method_cases("proposal", ppath, ("GET",))
    counts["GET /api/proposals"] = method_cases("proposals", "/api/proposals", ("GET",)) + 3
    for p in ("/api/proposals/" + p2["hash"] + "/approvals", "/api/proposals/" + p2["hash"] + "/rejections",
              "/api/proposals/" + p2["hash"] + "/x"):
        r = T.request(SYS, "GET", p)
        expect_4xx(f"proposals: GET {p[-20:]} -> 4xx JSON", r, (404, 405))
    counts["GET /api/blocks/{id}"] = path_cases("block", "/api/blocks", unknown="99") + \
        sum(1 for _ in [expect_4xx(f"block: height {h} -> 4xx", T.request(SYS, "GET", f"/api/blocks/{h}"))
                        for h in ("18446744073709551616", "-0", "1e2", "%31%00", "0x1")])
    counts["GET /api/blocks"] = query_cases("blocks list", "/api/blocks", ("limit", "from")) + \
        method_cases("blocks list", "/api/blocks", ("GET", "POST"))
    for name, path in (("election", "/api/election"), ("results", "/api/results"),
                       ("export", "/api/chain/export"), ("work", "/api/work")):
        counts[f"GET {path}"] = method_cases(name, path, ("GET",))
        r = T.request(SYS, "POST", path, raw=b"x" * 20000, ctype="application/json")
        expect_4xx(f"{name}: POST of 20000 bytes -> 4xx JSON", r, (405, 413))
        counts[f"GET {path}"] += 1
    r = T.request(SYS, "GET", "/api/" + "a" * 3000)
    expect_4xx("a 3000-byte API path -> 4xx JSON", r)

    after = snapshot()
    for k in before:
        res.check(f"{k} is byte-identical after the hostile requests", before[k] == after[k],
                  (before[k][:200], after[k][:200]))
    return counts


def main():
    global SYS
    SYS = T.System(prefix="cv-hostile-", WORKERS=3, RATE_EXEMPT_LOOPBACK=1)
    try:
        if not res.check("system starts", SYS.start(), SYS.last_output):
            return
        el = T.setup_election(SYS, res, n_voters=30, n_validators=3, difficulty=8,
                              max_block_votes=8, eligible=("E-1", "E-2"), open_it=False)
        if el is None:
            return
        counts = setup_phase(el)
        if not T.open_election(SYS, res, el):
            return
        counts.update(open_phase(el))
        small = {k: v for k, v in counts.items() if v < 30}
        res.check("every endpoint met at least 30 hostile requests", not small, small)
        print("# hostile requests per endpoint: " +
              ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        ok, out = T.verify_export(T.export(SYS))
        res.check("chainvote verify accepts the chain after the hostile requests", ok, out)
    finally:
        SYS.cleanup()


if __name__ == "__main__":
    res.run(main)
