"""The delay from a vote's 202 to its commit, as a voter would see it: posts pre-signed
votes (bench_ceil votes: one JSON body a line) one at a time, SPREAD seconds apart, each
202's moment noted; a poller looks at the tip every POLL seconds and, when it moves (or a
vote is new), asks for each vote still pending; a vote's commit is the first look that finds it committed.
Prints one JSON line: {"n", "committed", "p50_ms", "p90_ms", "max_ms", "poll_ms"}.
  usage: python3 commit_delay.py URL VOTES_FILE N SPREAD_S [POLL_S] [TIMEOUT_S]"""
import http.client
import json
import sys
import threading
import time
import urllib.parse


def main():
    url, path, n, spread = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    poll = float(sys.argv[5]) if len(sys.argv) > 5 else 0.02
    timeout = float(sys.argv[6]) if len(sys.argv) > 6 else 120
    u = urllib.parse.urlsplit(url)
    with open(path) as f:
        bodies = [line.strip() for line in f if line.strip()][:n]
    accepted = {}   # txid -> monotonic time of its 202
    done = {}       # txid -> monotonic time its commit was seen
    lock = threading.Lock()
    posting = [True]

    def get(conn, p):
        conn.request("GET", p)
        r = conn.getresponse()
        return r.status, json.loads(r.read() or b"null")

    def poller():
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        tip = None
        end = None
        seen = set()    # votes looked at since their 202 (a new one is asked once at once)
        while True:
            with lock:
                pending = [t for t in accepted if t not in done]
                if not posting[0] and not pending:
                    return
            if not posting[0] and end is None:
                end = time.monotonic() + timeout
            if end is not None and time.monotonic() > end:
                return
            st, el = get(conn, "/api/election")
            now = time.monotonic()
            fresh = [t for t in pending if t not in seen]
            if st == 200 and (el.get("tip_height") != tip or fresh):
                tip = el.get("tip_height")
                seen.update(pending)
                for t in pending:
                    st, v = get(conn, "/api/votes/" + t)
                    if st == 200 and v.get("status") == "committed":
                        with lock:
                            done[t] = now
            time.sleep(poll)

    th = threading.Thread(target=poller)
    th.start()
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    t0 = time.monotonic()
    for i, body in enumerate(bodies):
        time.sleep(max(0.0, t0 + i * spread - time.monotonic()))
        conn.request("POST", "/api/votes", body, {"Content-Type": "application/json"})
        r = conn.getresponse()
        j = json.loads(r.read() or b"null")
        if r.status == 202:
            with lock:
                accepted[j["txid"]] = time.monotonic()
    posting[0] = False
    th.join()
    delays = sorted((done[t] - accepted[t]) * 1000 for t in done)

    def pct(p):
        if not delays:
            return 0
        return delays[min(len(delays) - 1, int(round(p * (len(delays) - 1))))]

    print(json.dumps({"n": len(accepted), "committed": len(delays), "p50_ms": pct(0.5),
                      "p90_ms": pct(0.9), "max_ms": delays[-1] if delays else 0,
                      "poll_ms": poll * 1000}))


main()
