"""Committed data is served as nginx serves files: a committed block is kept by nginx
(fastcgi_cache) and answered again without the chain program, byte for byte what the
program answers; a height not committed yet is answered 404 by the program each time
and never kept, so it is served once committed; If-None-Match is answered 304 from the
cache; a block's gzip form is compressed once by the program and kept by nginx as well
(weak ETag, Vary), and decompresses to the same bytes; a client refusing gzip (q=0) gets
the plain bytes; a HEAD never poisons a GET; the export
stays valid across commits (chainvote verify) and its gzip form is the same bytes.

Started by tests/e2e_reads.sh with BIN and CGI in the environment.
"""
import gzip
import os
import signal
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True   # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cvtest as T  # noqa: E402

RES = T.Results("e2e_reads")
check = RES.check


def fcgi_record(rtype, content, request_id=1):
    return struct.pack(">BBHHBx", 1, rtype, request_id, len(content), 0) + content


def fcgi_params(pairs):
    out = b""
    for k, v in pairs:
        k, v = k.encode(), v.encode()
        for n in (len(k), len(v)):
            out += struct.pack(">B", n) if n < 128 else struct.pack(">I", n | 0x80000000)
        out += k + v
    return out


def program_answer(sock_path, path, extra=()):
    """The chain program's own answer to GET path on its FastCGI socket, not through
    nginx, with the extra parameters given: (status line, body bytes)."""
    begin = struct.pack(">HB5x", 1, 0)
    params = fcgi_params([("REQUEST_METHOD", "GET"), ("DOCUMENT_URI", path),
                          ("REQUEST_URI", path), ("QUERY_STRING", ""),
                          ("REMOTE_ADDR", "127.0.0.1")] + list(extra))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(sock_path)
    s.sendall(fcgi_record(1, begin) + fcgi_record(4, params) + fcgi_record(4, b"")
              + fcgi_record(5, b""))
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    out, i = b"", 0
    while i + 8 <= len(data):
        _, rtype, _, clen, plen = struct.unpack(">BBHHBx", data[i:i + 8])
        if rtype == 6:
            out += data[i + 8:i + 8 + clen]
        i += 8 + clen + plen
    head, _, body = out.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), body


def cached_files_ending_with(sysm, zone, body):
    """How many files of nginx's cache zone directory end with body."""
    n = 0
    for d, _, names in os.walk(os.path.join(sysm.run_dir, "tmp", "cache-" + zone)):
        for name in names:
            with open(os.path.join(d, name), "rb") as f:
                n += f.read().endswith(body)
    return n


def commit_block(sysm, el, height, prev_hash, voters, start):
    """A block of one vote per voter, posted and approved by two validators: its hash,
    or None."""
    now = int(time.time())
    votes = T.sign_votes(el.genesis_hash, [(k[0], k[1], 1 + (start + i) % 3, now)
                                           for i, k in enumerate(voters)])
    blk = T.make_block(height, prev_hash, votes, now, 8)
    r = T.request(sysm, "POST", "/api/blocks", blk)
    if not check(f"block {height} is proposed", r.status == 202, r):
        return None
    committed = False
    for a in T.approvals(blk["hash"], el.validators[:2]):
        r = T.request(sysm, "POST", f"/api/proposals/{blk['hash']}/approvals", a)
        committed = committed or bool(r.status == 201 and r.json and r.json.get("committed"))
    return blk["hash"] if check(f"block {height} is committed", committed, r) else None


def main():
    sysm = T.System(prefix="cv-reads-")
    try:
        if not check("system starts", sysm.start(), sysm.last_output):
            return
        run(sysm)
    finally:
        sysm.cleanup()


def run(sysm):
    el = T.setup_election(sysm, RES, n_voters=40, max_block_votes=64)
    if el is None:
        return
    chain_sock = os.path.join(sysm.sock_dir, "chain.sock")

    # a height not committed yet: 404 from the program, twice, then served once committed
    for _ in range(2):
        r = T.request(sysm, "GET", "/api/blocks/1")
        check("a height not committed yet is 404 not_found", r.status == 404 and
              r.code == "not_found" and "no-store" in (r.header("cache-control") or ""), r)
    h1 = commit_block(sysm, el, 1, el.genesis_hash, el.voters[:20], 0)
    if h1 is None:
        return
    first = T.request(sysm, "GET", "/api/blocks/1")
    check("once committed the height is served (not a stale 404)",
          first.status == 200 and first.json and first.json.get("hash") == h1, first)
    again = T.request(sysm, "GET", "/api/blocks/1")
    check("a committed block is answered again byte for byte",
          again.status == 200 and again.body == first.body, again)
    status, own = program_answer(chain_sock, "/api/blocks/1")
    check("nginx's answer is the chain program's own bytes",
          status.endswith("200 OK") and own == first.body, (status, len(own), len(first.body)))
    by_hash = T.request(sysm, "GET", f"/api/blocks/{h1}")
    check("by hash the same bytes", by_hash.status == 200 and by_hash.body == first.body, by_hash)
    check("ETag is the block hash and the answer is immutable",
          first.header("etag") == f'"{h1}"' and
          "immutable" in (first.header("cache-control") or ""), first.headers)
    check("the security headers are kept on a committed block",
          first.header("content-security-policy") and
          first.header("x-content-type-options") == "nosniff", first.headers)

    # gzip for the client that asks: compressed once by the program, each form kept
    z = T.request(sysm, "GET", "/api/blocks/1", headers={"Accept-Encoding": "gzip"})
    ok = z.status == 200 and z.header("content-encoding") == "gzip"
    check("gzip is served to a client that asks", ok, z.headers)
    check("the gzip answer decompresses to the same bytes",
          ok and gzip.decompress(z.body) == first.body, len(z.body))
    check("the gzip answer is smaller", ok and len(z.body) < len(first.body) * 0.8,
          (len(z.body), len(first.body)))
    check("the gzip answer has a weak ETag of the block hash, immutable",
          z.header("etag") == f'W/"{h1}"' and
          "immutable" in (z.header("cache-control") or ""), z.headers)
    check("both forms say they vary by Accept-Encoding",
          (z.header("vary") or "").lower() == "accept-encoding" and
          (first.header("vary") or "").lower() == "accept-encoding", (z.headers, first.headers))
    status, own_gz = program_answer(chain_sock, "/api/blocks/1", [("CV_GZIP", "gzip")])
    check("nginx's gzip answer is the chain program's own compressed bytes",
          status.endswith("200 OK") and own_gz == z.body, (status, len(own_gz), len(z.body)))
    z2 = T.request(sysm, "GET", "/api/blocks/1",
                   headers={"Accept-Encoding": "deflate, gzip, br"})
    check("gzip among other encodings gets the same gzip bytes",
          z2.status == 200 and z2.header("content-encoding") == "gzip" and z2.body == z.body,
          z2.headers)
    check("the gzip form is kept in nginx's cache, whole",
          cached_files_ending_with(sysm, "blocks", z.body) == 1,
          cached_files_ending_with(sysm, "blocks", z.body))
    plain = T.request(sysm, "GET", "/api/blocks/1")
    check("a client that does not ask gets the plain bytes",
          plain.header("content-encoding") is None and plain.body == first.body, plain.headers)
    for refused in ("gzip;q=0", "identity, gzip; q=0.0"):
        r = T.request(sysm, "GET", "/api/blocks/1", headers={"Accept-Encoding": refused})
        check(f"a client that refuses gzip ({refused}) gets the plain bytes",
              r.status == 200 and r.header("content-encoding") is None and
              r.body == first.body, r.headers)

    # a HEAD must never leave an empty answer for GET
    T.request(sysm, "HEAD", "/api/blocks/2")
    T.request(sysm, "HEAD", "/api/blocks/1")
    T.request(sysm, "HEAD", "/api/blocks/1", headers={"Accept-Encoding": "gzip"})
    r = T.request(sysm, "GET", "/api/blocks/1")
    check("a HEAD does not change what GET serves", r.status == 200 and r.body == first.body, r)
    r = T.request(sysm, "GET", "/api/blocks/1", headers={"Accept-Encoding": "gzip"})
    check("a HEAD does not change what a gzip GET serves",
          r.status == 200 and r.body == z.body, r)
    check("a committed block is kept in nginx's cache, whole (by height and by hash)",
          cached_files_ending_with(sysm, "blocks", first.body) == 2,
          cached_files_ending_with(sysm, "blocks", first.body))

    # the export across commits
    e1 = T.export(sysm)
    ok, out = T.verify_export(e1)
    check("the export after block 1 verifies", ok, out)
    for _ in range(2):
        r = T.request(sysm, "GET", "/api/blocks/2")
        check("height 2 is 404 before its commit", r.status == 404, r)
    h2 = commit_block(sysm, el, 2, h1, el.voters[20:40], 20)
    if h2 is None:
        return
    r = T.request(sysm, "GET", "/api/blocks/2")
    check("height 2 is served once committed", r.status == 200 and r.json.get("hash") == h2, r)
    second = r.body
    e2 = T.export(sysm)
    ok, out = T.verify_export(e2)
    check("the export after block 2 verifies, with its 40 votes",
          ok and "candidate 1 (Alder Party): 14" in out and e2 != e1, out)
    zr = T.request(sysm, "GET", "/api/chain/export", headers={"Accept-Encoding": "gzip"})
    check("the gzip export decompresses to the same bytes",
          zr.status == 200 and zr.header("content-encoding") == "gzip" and
          gzip.decompress(zr.body) == e2, zr.headers)
    check("the gzip export has the tip's weak ETag and varies by Accept-Encoding",
          zr.header("etag") == f'W/"{h2}"' and
          (zr.header("vary") or "").lower() == "accept-encoding", zr.headers)
    status, own_gz = program_answer(chain_sock, f"/api/chain/export/{h2}", [("CV_GZIP", "gzip")])
    check("nginx's gzip export is the chain program's own compressed bytes",
          status.endswith("200 OK") and own_gz == zr.body, (status, len(own_gz), len(zr.body)))
    check("the gzip export at this tip is written once into nginx's cache, whole",
          cached_files_ending_with(sysm, "exports", zr.body) == 1,
          cached_files_ending_with(sysm, "exports", zr.body))
    r = T.request(sysm, "GET", "/api/chain/export", headers={"Accept-Encoding": "gzip"})
    check("the gzip export is served again, the same bytes", r.status == 200 and r.body == zr.body, r)
    r = T.request(sysm, "GET", "/api/chain/export", headers={"If-None-Match": f'"{h2}"'})
    check("the export at the same tip is 304", r.status == 304, r)
    r = T.request(sysm, "GET", "/api/chain/export")
    check("the export's ETag is the tip's hash, revalidated each time",
          r.status == 200 and r.header("etag") == f'"{h2}"' and
          r.header("cache-control") == "public, no-cache", r.headers)
    status, own = program_answer(chain_sock, "/api/chain/export")
    check("nginx's export is the chain program's own bytes",
          status.endswith("200 OK") and own == e2, (status, len(own), len(e2)))
    check("the export at this tip is written once into nginx's cache, whole",
          cached_files_ending_with(sysm, "exports", e2) == 1,
          cached_files_ending_with(sysm, "exports", e2))
    r = T.request(sysm, "GET", f"/api/chain/export/{h2}")
    check("the export at a tip is not reachable from outside (404 not_found, JSON)",
          r.status == 404 and r.code == "not_found", r)
    r = T.request(sysm, "GET", "/api/chain/export", headers={"If-None-Match": f'"{h1}"'})
    check("the export at an older tip is a new 200", r.status == 200 and r.body == e2, r)

    # the chain program stops: committed blocks are still served, from nginx's cache
    master = sysm.pid("chain")
    workers = sysm.workers("chain")
    os.kill(master, signal.SIGKILL)
    for w in workers:
        try:
            os.kill(w, signal.SIGKILL)
        except ProcessLookupError:
            pass
    T.wait_until(lambda: not any(T.alive(p) for p in [master] + workers), 10)
    r = T.request(sysm, "GET", "/api/election")
    check("with the chain program gone its other answers fail (503)", r.status == 503, r)
    r = T.request(sysm, "GET", "/api/blocks/1")
    check("block 1 is served from the cache, the same bytes", r.status == 200 and
          r.body == first.body, r)
    r = T.request(sysm, "GET", f"/api/blocks/{h1}")
    check("block 1 by hash is served from the cache", r.status == 200 and
          r.body == first.body, r)
    r = T.request(sysm, "GET", "/api/blocks/2")
    check("block 2 is served from the cache", r.status == 200 and r.body == second, r)
    r = T.request(sysm, "GET", "/api/blocks/1", headers={"If-None-Match": f'"{h1}"'})
    check("If-None-Match is answered 304 from the cache", r.status == 304 and not r.body, r)
    r = T.request(sysm, "GET", "/api/blocks/1", headers={"Accept-Encoding": "gzip"})
    check("the gzip form is served from the cache, the same bytes",
          r.status == 200 and r.header("content-encoding") == "gzip" and r.body == z.body, r)
    for kind, tag in (("strong", f'"{h1}"'), ("weak", f'W/"{h1}"')):
        r = T.request(sysm, "GET", "/api/blocks/1",
                      headers={"Accept-Encoding": "gzip", "If-None-Match": tag})
        check(f"If-None-Match ({kind} tag) with gzip is answered 304 from the cache",
              r.status == 304 and not r.body, r)
    r = T.request(sysm, "GET", "/api/blocks/1", headers={"If-None-Match": f'"{h2}"'})
    check("another tag gets the block from the cache", r.status == 200 and
          r.body == first.body, r)
    r = T.request(sysm, "GET", "/api/blocks/3")
    check("a height never answered 200 is not in the cache", r.status == 503, r)


if __name__ == "__main__":
    RES.run(main)
