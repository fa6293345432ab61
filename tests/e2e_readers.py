"""Slow readers and half-sent requests cost a worker for a bounded time, never a store
recovery, and never the answers of other clients.

A multi-megabyte export (a large roll put on with the CLI before the system starts),
then for 40 s: four raw HTTP clients reading it a few KB every 2 s, a raw FastCGI
client on the chain program's socket that asks for the export and never reads, and a
loop of GET /api/election that must never wait for a worker the readers hold. Afterwards no
program logged a recovery or killed a worker inside the store, and a normal client
gets the whole export (chainvote verify). Then the export's and a block's validators
(ETag, Cache-Control, 304 on If-None-Match), and clients that connect to a program's
socket and send one byte: more of them than there are workers, and the program still
answers through nginx.

Started by tests/e2e_readers.sh with BIN and CGI in the environment.
"""
import os
import socket
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True   # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cvtest as T  # noqa: E402

RES = T.Results("e2e_readers")
check = RES.check
WORKERS = 2
N_VOTERS = 30000          # about 4 MB of export
SLOW_READERS = 4
SLOW_SECONDS = 40
SLOW_CHUNK = 2048
# seconds: a GET /api/election slower than this waited for a worker the readers pinned
# (a pinned worker is freed only after READ_LIMIT, 15 s); the slowest answer is printed
ELECTION_BOUND = 5.0


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


def fcgi_get(path):
    """A whole FastCGI GET request as nginx would send it."""
    begin = struct.pack(">HB5x", 1, 0)   # responder, do not keep the connection
    params = fcgi_params([("REQUEST_METHOD", "GET"), ("DOCUMENT_URI", path),
                          ("REQUEST_URI", path), ("QUERY_STRING", ""),
                          ("REMOTE_ADDR", "127.0.0.1")])
    return (fcgi_record(1, begin) + fcgi_record(4, params) + fcgi_record(4, b"")
            + fcgi_record(5, b""))


def unix_connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    return s


def logs(sysm):
    text = ""
    for p in T.PROGRAMS:
        try:
            with open(os.path.join(sysm.run_dir, p + ".log")) as f:
                text += f.read()
        except OSError:
            pass
    return text


class SlowReader(threading.Thread):
    """GET /api/chain/export over a raw socket with a small receive buffer, reading
    SLOW_CHUNK bytes every 2 s until stop."""

    def __init__(self, sysm, stop):
        super().__init__(daemon=True)
        self.sysm, self.stop, self.got, self.error = sysm, stop, 0, None

    def run(self):
        try:
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(10)
            s.connect(("127.0.0.1", self.sysm.port))
            s.sendall(b"GET /api/chain/export HTTP/1.1\r\nHost: localhost\r\n"
                      b"Connection: close\r\n\r\n")
            while not self.stop.is_set():
                b = s.recv(SLOW_CHUNK)
                if not b:
                    break
                self.got += len(b)
                self.stop.wait(2)
            s.close()
        except OSError as e:
            self.error = repr(e)


def slow_readers(sysm, el, size):
    stop = threading.Event()
    readers = [SlowReader(sysm, stop) for _ in range(SLOW_READERS)]
    for r in readers:
        r.start()
    time.sleep(1)
    # a FastCGI client on the chain socket that asks for the export and never reads:
    # the worker's write must give up on it, without a recovery
    stuck = unix_connect(os.path.join(sysm.sock_dir, "chain.sock"))
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.sendall(fcgi_get("/api/chain/export"))
    worst, slow, answers, bad = 0.0, [], 0, []
    end = time.monotonic() + SLOW_SECONDS
    while time.monotonic() < end:
        t0 = time.monotonic()
        r = T.request(sysm, "GET", "/api/election", timeout=5)
        took = time.monotonic() - t0
        worst = max(worst, took)
        answers += 1
        if r.status != 200:
            bad.append(r)
        if took > ELECTION_BOUND:
            slow.append(round(took, 2))
        time.sleep(0.1)
    stop.set()
    for r in readers:
        r.join(timeout=10)
    stuck.close()
    print(f"# {answers} GET /api/election in {SLOW_SECONDS} s beside {SLOW_READERS} slow "
          f"readers; slowest {worst:.3f} s; the readers got "
          f"{[r.got for r in readers]} bytes of {size}")
    check(f"GET /api/election answered 200 throughout ({answers} requests)",
          answers > 0 and not bad, bad[:3])
    check(f"every GET /api/election within {ELECTION_BOUND} s beside {SLOW_READERS} slow "
          f"readers of a {size // 1000} kB export", not slow, slow[:10])
    check("the slow readers were served (slowly) all along",
          all(r.error is None and r.got >= SLOW_CHUNK for r in readers),
          [(r.got, r.error) for r in readers])
    text = logs(sysm)
    check("no recovery of the store was started", "recovery" not in text, text[-2000:])
    check("no worker was killed inside the store", "inside the store" not in text,
          text[-2000:])
    check("the worker gave up writing to a FastCGI peer that does not read",
          "export cut short" in text, text[-2000:])


def validators(sysm, el):
    r = T.request(sysm, "GET", "/api/chain/export", timeout=60)
    size = len(r.body)
    ok, out = T.verify_export(r.body if r.status == 200 else None)
    check(f"a normal client gets the whole export ({size} bytes) and it verifies", ok, out)
    etag = r.header("etag")
    tip_hash = T.request(sysm, "GET", "/api/blocks/0").header("etag")
    check("the export's ETag is the tip's hash", etag and etag == tip_hash, (etag, tip_hash))
    check("the export is to be revalidated, not stored blind",
          r.header("cache-control") == "public, no-cache", r.headers)
    c = T.request(sysm, "GET", "/api/chain/export", headers={"If-None-Match": etag or '"x"'})
    check("the export with If-None-Match of the tip: 304 and no body",
          c.status == 304 and c.body == b"" and c.header("etag") == etag, c)
    c = T.request(sysm, "GET", "/api/chain/export", headers={"If-None-Match": '"' + "0" * 64 + '"'})
    check("the export with another tag: the whole export", c.status == 200 and c.body == r.body,
          (c.status, len(c.body)))
    b = T.request(sysm, "GET", "/api/blocks/0")
    h = (b.json or {}).get("hash")
    check("a committed block: its hash as ETag, cached for good",
          b.status == 200 and b.header("etag") == f'"{h}"'
          and "immutable" in (b.header("cache-control") or ""), b.headers)
    for path in ("/api/blocks/0", f"/api/blocks/{h}"):
        c = T.request(sysm, "GET", path, headers={"If-None-Match": f'W/"{h}", "other"'})
        check(f"GET {path[:20]} with If-None-Match of its hash: 304", c.status == 304
              and c.body == b"", c)
    c = T.request(sysm, "GET", "/api/blocks/7", headers={"If-None-Match": "*"})
    check("a block not committed is 404, whatever If-None-Match says", c.status == 404, c)
    e = T.request(sysm, "GET", "/api/election", headers={"If-None-Match": "*"})
    check("GET /api/election is not cached", e.status == 200
          and e.header("cache-control") == "no-store" and e.header("etag") is None, e.headers)
    return size


def one_byte_clients(sysm):
    """More raw connections than workers, each sending one byte and nothing more."""
    before = logs(sysm)
    conns = []
    for _ in range(WORKERS + 1):
        s = unix_connect(os.path.join(sysm.sock_dir, "chain.sock"))
        s.sendall(b"\x01")
        conns.append(s)
    t0 = time.monotonic()
    r = T.request(sysm, "GET", "/api/election", timeout=20)
    took = time.monotonic() - t0
    check(f"with {len(conns)} one-byte clients on {WORKERS} workers the program still "
          f"answers through nginx ({took:.1f} s)", r.status == 200 and took < 10, (r, took))
    closed = 0
    for s in conns:
        try:
            closed += s.recv(1) == b""
        except OSError:
            pass
        s.close()
    check("each one-byte client was dropped by the program", closed == len(conns),
          (closed, len(conns)))
    after = logs(sysm)[len(before):]
    check("dropping them started no recovery and killed no worker",
          "recovery" not in after and "killing" not in after, after[-2000:])


def main():
    sysm = T.System(prefix="cv-readers-", WORKERS=WORKERS)
    try:
        el = T.setup_offline(sysm, RES, n_voters=N_VOTERS)
        if el is None or not check("system starts", sysm.start()):
            return
        size = validators(sysm, el)
        check("the export is larger than nginx's buffers (several MB)", size > 3_000_000, size)
        slow_readers(sysm, el, size)
        r = T.request(sysm, "GET", "/api/chain/export", timeout=60)
        ok, out = T.verify_export(r.body if r.status == 200 else None)
        check("after the slow readers a normal client still gets the whole export", ok, out)
        one_byte_clients(sysm)
    finally:
        sysm.cleanup()


if __name__ == "__main__":
    RES.run(main)
