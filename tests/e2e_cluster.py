"""A replication group of three whole nodes (tools/cluster.sh: nginx, the programs and a
Berkeley DB environment each, joined by the replication manager) on loopback ports:

- the group forms with one master that every node names (GET /api/cluster, chainvote
  cluster status);
- votes posted round-robin to all three nodes are answered 2xx (a replica forwards them
  to the master), a second vote by one voter through another node is refused, and once
  the group is quiet every node's export is byte-identical and chainvote verify accepts
  it;
- failover: under vote load through the two other nodes, every process of the master is
  killed with SIGKILL; the others elect a new master and writes are answered again (the
  time is measured and printed); no vote answered 2xx is lost or doubled; the old master
  started again rejoins as a replica and converges;
- every node's store is encrypted at rest under a key of its own (the default): no
  plaintext of the election in any file of any node's election directory but
  replication's own temporary databases (the known gap, reported), and the group works
  as above;
- the whole group stopped and started again together elects a master among itself,
  every node knows the group's members, nothing is lost and it takes votes;
- a replica whose disk is lost is restored from its backup (chainvote restore), rejoins,
  catches up with the votes taken meanwhile and converges;
- a fourth node added to the running group (tools/cluster.sh add) takes its initial copy
  by itself, serves reads and takes writes (forwarded), converges to the same export,
  and counts in the quorum of the programs that were running before it joined (the two
  original replicas killed, the master still answers 2xx with the new node's
  acknowledgement);
- a master cut off from the majority (every other node killed) answers a vote 503
  not_durable, never 2xx.

Started by tests/e2e_cluster.sh with BIN and CGI in the environment. CLUSTER_CHAOS=1
(make cluster-chaos) adds the longer runs: the master stopped with SIGSTOP for 15 s
(no split brain: one master once it is continued, the exports converge) and a replica
killed under load (the clients of the other nodes see nothing).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True   # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cvtest as T  # noqa: E402

RES = T.Results("e2e_cluster")
check = RES.check
TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLUSTER_SH = os.path.join(TOP, "tools", "cluster.sh")
RUN_SH = os.path.join(TOP, "tools", "run.sh")
CHAINVOTE = os.path.join(T.BIN, "chainvote")
NODES = 3
VOTERS = 150
LOAD_END = 100   # the failover's load: voters 13 to 99
CHAOS = os.environ.get("CLUSTER_CHAOS") == "1"


class Cluster:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="cv-cluster-")
        if os.geteuid() == 0:
            os.chmod(self.tmp, 0o711)
        self.data = os.path.join(self.tmp, "data")
        ports = set()
        while len(ports) < 2 * NODES:
            ports.add(T.free_port())
        ports = sorted(ports)
        self.http = ports[:NODES]
        self.rep = ports[NODES:]
        self.n = NODES
        # as by default, every node's store encrypted at rest under a key of its own
        self.env = dict(os.environ, BIN=T.BIN, CGI=T.CGI, DIFFICULTY="0", MINER="0", BALLOTS="open",
                        WORKERS="2", VOTE_WORKERS="4", RATE_EXEMPT_LOOPBACK="1",
                        DEMO_VOTERS=str(VOTERS), VALIDATOR_INTERVAL="0.5",
                        HTTP_PORTS=" ".join(map(str, self.http)),
                        REP_PORTS=" ".join(map(str, self.rep)))

    def url(self, i):
        return f"http://127.0.0.1:{self.http[i - 1]}"

    def node(self, i):
        return os.path.join(self.data, f"node-{i}")

    def start(self):
        r = subprocess.run(["sh", CLUSTER_SH, "start", str(NODES), "0", self.data],
                           env=self.env, capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            print(r.stdout[-2000:], r.stderr[-2000:])
        return r.returncode == 0

    def start_node(self, i):
        """Node i started again on its data (it rejoins the group), with the
        validator daemons when it is node 1 (as tools/cluster.sh starts it)."""
        env = dict(self.env, CLUSTER_CONF=os.path.join(self.node(i), "node.conf"))
        if i != 1:
            env["VALIDATORS"] = "0"
        r = subprocess.run(["sh", RUN_SH, "start", str(self.http[i - 1]), self.node(i)],
                           env=env, capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            print(r.stdout[-2000:], r.stderr[-2000:])
        return r.returncode == 0

    def pids(self, i):
        """Every process of node i: those recorded in its PID files and their
        children (the programs' workers)."""
        out = []
        run = os.path.join(self.node(i), "run")
        for name in os.listdir(run) if os.path.isdir(run) else []:
            if not name.endswith(".pid"):
                continue
            try:
                with open(os.path.join(run, name)) as f:
                    p = int(f.read())
            except (OSError, ValueError):
                continue
            if T.alive(p):
                out.append(p)
                out.extend(T.children(p))
        return out

    def signal_node(self, i, sig):
        pids = self.pids(i)
        for p in pids:
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        return pids

    def kill_node(self, i):
        pids = self.signal_node(i, signal.SIGKILL)
        deadline = time.time() + 10
        while time.time() < deadline and any(T.alive(p) for p in pids):
            time.sleep(0.05)
        # the dead node's PID files stay: run.sh start finds them dead and recovers

    def stop(self):
        subprocess.run(["sh", CLUSTER_SH, "stop", self.data], env=self.env,
                       capture_output=True, timeout=300)
        for i in range(1, self.n + 1):
            self.signal_node(i, signal.SIGCONT)
            self.signal_node(i, signal.SIGKILL)

    def cleanup(self):
        self.stop()
        T.remove_tree(self.tmp)

    def cluster(self, i):
        r = T.request(self.url(i), "GET", "/api/cluster", timeout=10)
        return r.json if r.status == 200 else None

    def nodes(self):
        return list(range(1, self.n + 1))

    def voter(self, n):
        # the demo's voter keys, made on node 1; copied aside once, since node 1 may be
        # taken out of the group (and its directory moved) later
        voters = os.path.join(self.tmp, "voters")
        if not os.path.isdir(voters):
            shutil.copytree(os.path.join(self.node(1), "demo", "voters"), voters)
        return os.path.join(voters, f"voter-{n:03d}.json")


def vote(url, key, candidate=1):
    """chainvote vote: (exit status, its output)."""
    try:
        r = subprocess.run([CHAINVOTE, "vote", "--url", url, "--key", key, "--candidate",
                            str(candidate)], capture_output=True, text=True, timeout=30)
        return r.returncode, r.stdout + r.stderr
    except subprocess.TimeoutExpired:
        return 124, "timeout"


def voter_keys(cl, n):
    out = []
    for k in range(1, n + 1):
        with open(cl.voter(k)) as f:
            out.append(json.load(f)["public_key"])
    return out


def masters(cl, nodes):
    """{node: its /api/cluster} for the given nodes, and the master URLs they name."""
    views = {i: cl.cluster(i) for i in nodes}
    named = {v["master"]["url"] for v in views.values() if v and v.get("master")}
    return views, named


def wait_one_master(cl, nodes, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        views, named = masters(cl, nodes)
        roles = [v["role"] for v in views.values() if v]
        if len(named) == 1 and roles.count("master") == 1 and len(roles) == len(nodes):
            return named.pop(), views
        time.sleep(0.3)
    return None, masters(cl, nodes)[0]


def export(cl, i):
    r = T.request(cl.url(i), "GET", "/api/chain/export", timeout=30)
    if r.status == 302 or r.status == 303:
        r = T.request(cl.url(i), "GET", r.header("location"), timeout=30)
    return r


def chain_state(cl, i):
    """(tip hash, pending votes) of node i, or None."""
    e = T.request(cl.url(i), "GET", "/api/election", timeout=10)
    p = T.request(cl.url(i), "GET", "/api/pool", timeout=10)
    if e.status != 200 or p.status != 200 or not e.json or not p.json:
        return None
    return (e.json.get("tip_height"), p.json["pending"])


def wait_quiet(cl, nodes, timeout=90):
    """Until every node has no vote pending and the same tip, twice in a row."""
    deadline, last = time.time() + timeout, None
    while time.time() < deadline:
        states = [chain_state(cl, i) for i in nodes]
        if all(s is not None and s[1] == 0 for s in states) and len(set(states)) == 1:
            if last == states[0]:
                return True
            last = states[0]
        time.sleep(1)
    return False


def votes_in_export(doc):
    """voter key -> how many times it appears in the export's blocks."""
    count = {}
    for b in doc.get("blocks", []):
        for v in b.get("votes", []):
            count[v["voter_key"]] = count.get(v["voter_key"], 0) + 1
    return count


def same_exports(cl, nodes, what):
    bodies = {i: export(cl, i) for i in nodes}
    ok = all(r.status == 200 for r in bodies.values())
    check(f"{what}: every node serves its export", ok,
          {i: r.status for i, r in bodies.items()})
    distinct = {r.body for r in bodies.values()}
    check(f"{what}: the exports of nodes {nodes} are byte-identical", ok and len(distinct) == 1,
          [T.sha256(b).hex()[:16] for b in distinct])
    return bodies[nodes[0]].body


def verify(cl, body, what):
    path = os.path.join(cl.tmp, "export.json")
    with open(path, "wb") as f:
        f.write(body)
    r = subprocess.run([CHAINVOTE, "verify", path], capture_output=True, text=True, timeout=120)
    check(f"{what}: chainvote verify accepts the export", r.returncode == 0,
          r.stdout[-400:] + r.stderr[-400:])


def converged(cl, nodes, what):
    """The group goes quiet (every vote committed, one tip), every node serves the same
    export and it verifies: the votes in it, by voter key."""
    check(f"{what}: the group goes quiet", wait_quiet(cl, nodes, timeout=120))
    body = same_exports(cl, nodes, what)
    verify(cl, body, what)
    return votes_in_export(json.loads(body))


def formed(cl):
    url, views = wait_one_master(cl, [1, 2, 3])
    check("the group has one master that every node names", url == cl.url(1), views)
    for i in (2, 3):
        v = views.get(i) or {}
        check(f"node {i} is a replica that has caught up", v.get("role") == "replica" and
              v.get("startup_done") is True, v)
        sites = v.get("sites") or []
        check(f"node {i} lists the two other sites with their lag",
              len(sites) == 2 and all("lag_bytes" in s for s in sites), sites)
    r = subprocess.run([CHAINVOTE, "cluster", "status", "--url", cl.url(2)],
                       capture_output=True, text=True, timeout=30)
    check("chainvote cluster status names the role and the master",
          r.returncode == 0 and "role: replica" in r.stdout and cl.url(1) in r.stdout,
          r.stdout + r.stderr)


def round_robin(cl):
    rcs = []
    for k in range(1, 13):
        rcs.append(vote(cl.url((k - 1) % 3 + 1), cl.voter(k), candidate=k % 3 + 1))
    check("12 votes posted round-robin to the three nodes are all accepted",
          all(rc == 0 for rc, _ in rcs), [o for rc, o in rcs if rc != 0][:3])
    rc, out = vote(cl.url(3), cl.voter(1), candidate=2)
    check("a second vote by one voter through another node is refused (already voted)",
          rc != 0 and "already_voted" in out, out)
    counts = converged(cl, [1, 2, 3], "after the round-robin votes")
    keys = voter_keys(cl, 12)
    check("the export holds each of the 12 votes once",
          all(counts.get(k) == 1 for k in keys), counts)


def backup_on_replica(cl):
    """chainvote backup of a replica's store while the group runs: a consistent copy
    (a single machine's data directory), and the group goes on taking votes."""
    target = os.path.join(cl.tmp, "backup-node-2")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(cl.tmp, user=T.SERVICE_USER)
    r = subprocess.run(T.as_service_user([CHAINVOTE, "backup", "--data",
                                          os.path.join(cl.node(2), "election"), target]),
                       capture_output=True, text=True, timeout=120)
    check("chainvote backup of a replica's store succeeds", r.returncode == 0,
          r.stdout + r.stderr)
    # the copy is encrypted under node 2's key (it holds no key itself)
    s = subprocess.run([CHAINVOTE, "status", "--data", target, "--store-key",
                        os.path.join(cl.node(2), "keys", "store.key")], capture_output=True,
                       text=True, timeout=60)
    check("the backup is an open election of its own",
          s.returncode == 0 and '"open"' in s.stdout, s.stdout[-300:] + s.stderr[-300:])
    rc, out = vote(cl.url(2), cl.voter(121), candidate=1)
    check("the replica takes a vote after its backup", rc == 0, out)


def recovery_on_replica(cl):
    """The programs of a replica recover its store together (as after a worker died
    inside it: recovery.request): the replication process leaves the group while
    recovery runs, joins again, and the node takes votes again."""
    request = os.path.join(cl.node(2), "election", "recovery.request")
    subprocess.run(T.as_service_user(["touch", request]), timeout=30, check=False)
    deadline = time.time() + 60
    while os.path.exists(request) and time.time() < deadline:
        time.sleep(0.2)
    check("a recovery requested on a replica runs (the request is taken away)",
          not os.path.exists(request))
    rc, out = 1, ""
    while time.time() < deadline:
        rc, out = vote(cl.url(2), cl.voter(122), candidate=1)
        if rc == 0:
            break
        time.sleep(0.5)
    check("after its recovery the replica rejoins and takes a vote", rc == 0, out)
    url, views = wait_one_master(cl, [1, 2, 3])
    check("and the group still has its master", url == cl.url(1), views)


# Berkeley DB's replication keeps log records that reach a replica out of order in
# __db.rep.db, and an initial copy's page numbers in __db.reppg.db, until they are
# applied; it opens them itself, unencrypted even in an encrypted environment (a known
# gap: docs/ARCHITECTURE.md, "Past one machine").
REP_TEMP_DBS = ("__db.rep.db", "__db.reppg.db")


def node_files(cl, i):
    """Every file of node i's election directory (its store and what lies beside it)."""
    out = []
    for root, _, names in os.walk(os.path.join(cl.node(i), "election")):
        out.extend(os.path.join(root, n) for n in sorted(names))
    return [f for f in out if os.path.isfile(f) and not os.path.islink(f)]


def encrypted_at_rest(cl, nodes, what):
    """Each node's store is encrypted under its own key: the key files differ, and no
    file of any node's election directory (databases, log, what lies beside them) holds
    the election's title or a candidate's name in the clear (the replicas wrote what the
    master sent them under their own key), but for the known gap, reported."""
    keys = {}
    for i in nodes:
        try:
            with open(os.path.join(cl.node(i), "keys", "store.key"), "rb") as f:
                keys[i] = f.read()
        except OSError:
            keys[i] = None
    check(f"{what}: nodes {nodes} each have a store key of their own",
          all(keys.values()) and len(set(keys.values())) == len(nodes),
          {i: bool(k) for i, k in keys.items()})
    clear, rep_temp = [], []
    for i in nodes:
        files = node_files(cl, i)
        if not any(os.path.basename(f).startswith("log.") for f in files):
            clear.append((i, "no log file"))
        for path in files:
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                continue   # gone meanwhile (a lock or temporary file)
            if b"Demo election" in data or b"Birch Alliance" in data:
                name = os.path.basename(path)
                # replication's own temporary databases, which Berkeley DB opens itself
                # without encryption: the known gap, reported here, not hidden
                (rep_temp if name in REP_TEMP_DBS else clear).append((i, name))
    check(f"{what}: no file of nodes {nodes} but replication's temporary databases holds "
          "the election in the clear", not clear, clear)
    if rep_temp:
        print(f"# known gap: replication's temporary databases in the clear: {rep_temp}")


def restore_replica(cl):
    """Node 2's disk is lost: its election directory goes with every process of it. The
    operator restores the backup taken earlier (tools/cluster.sh restore: chainvote
    restore under the node's key, kept apart, and the group's files) and the node
    rejoins and catches up with what the group took meanwhile."""
    backup = os.path.join(cl.tmp, "backup-node-2")
    cl.kill_node(2)
    # the disk goes, not the machine: the dead processes' shared memory is released
    # first, as an operator deleting a crashed store does (README, "The store key")
    T.remove_tree(os.path.join(cl.node(2), "election"))
    rc, out = vote(cl.url(3), cl.voter(123), candidate=2)
    check("while node 2 is lost, the two others take a vote", rc == 0, out)
    r = subprocess.run(["sh", CLUSTER_SH, "restore", cl.data, "2", backup], env=cl.env,
                       capture_output=True, text=True, timeout=300)
    check("tools/cluster.sh restore makes node 2 again from its backup and starts it",
          r.returncode == 0 and "restored" in r.stdout, r.stdout[-1000:] + r.stderr[-1000:])
    url, views = wait_one_master(cl, [1, 2, 3])
    check("the restored node rejoins as a replica that caught up, knowing the group's "
          "three members (its backup's membership database restored with it)",
          url == cl.url(1) and (views.get(2) or {}).get("role") == "replica" and
          (views.get(2) or {}).get("startup_done") is True and
          (views.get(2) or {}).get("group_size") == 3, views)
    rc, out = vote(cl.url(2), cl.voter(124), candidate=3)
    check("the restored node takes a vote", rc == 0, out)
    counts = converged(cl, [1, 2, 3], "after the restore")
    keys = voter_keys(cl, 124)
    check("the restored node holds the vote taken while it was lost, once",
          counts.get(keys[123 - 1]) == 1 and counts.get(keys[124 - 1]) == 1, counts)


def add_node(cl, master):
    """A fourth node added to the running group by the operator's command: it takes its
    initial copy by itself, serves reads, forwards writes, converges; the programs
    running before it joined count its acknowledgement towards the quorum."""
    h, r = T.free_port(), T.free_port()
    while h in cl.http + cl.rep or r in cl.http + cl.rep or h == r:
        h, r = T.free_port(), T.free_port()
    m = [i for i in cl.nodes() if cl.url(i) == master][0]
    with open(os.path.join(cl.node(m), "run", "vote.pid")) as f:
        vote_master = int(f.read())
    workers = T.children(vote_master)
    # votes keep coming through the three nodes while the fourth joins and every
    # node's workers are renewed; each is asked again until answered, as a person would
    answered, stop = {}, threading.Event()

    def client():
        for n in range(127, 147):
            for _ in range(100):
                rc, out = vote(cl.url((n % 3) + 1), cl.voter(n), candidate=n % 3 + 1)
                if rc == 0 or "already_voted" in out:
                    answered[n] = "accepted" if rc == 0 else "already"
                    break
                time.sleep(0.2)
            if stop.is_set():
                return
            time.sleep(0.3)

    load = threading.Thread(target=client)
    load.start()
    res = subprocess.run(["sh", CLUSTER_SH, "add", cl.data, str(h), str(r)], env=cl.env,
                         capture_output=True, text=True, timeout=300)
    check("tools/cluster.sh add starts a fourth node in the running group and renews the "
          "others' workers", res.returncode == 0 and res.stdout.count("workers renewed") == 3,
          res.stdout[-1000:] + res.stderr[-1000:])
    load.join(300)
    stop.set()
    cl.http.append(h)
    cl.rep.append(r)
    cl.n += 1
    new = cl.n
    url, views = wait_one_master(cl, cl.nodes())
    v = views.get(new) or {}
    check("the new node is a replica that took its initial copy, under the same master",
          url == master and v.get("role") == "replica" and v.get("startup_done") is True,
          views)
    site = [x for x in (views.get(m) or {}).get("sites", [])
            if x.get("address") == f"127.0.0.1:{r}"]
    check("the master's running programs know the new node's URL (its file, read again)",
          len(site) == 1 and site[0].get("url") == cl.url(new) and site[0].get("connected"),
          (views.get(m) or {}).get("sites"))
    check("the master's vote workers were renewed (none that opened the store before the "
          "join remains) under the same program, which kept answering",
          workers and T.alive(vote_master) and not any(T.alive(p) for p in workers) and
          len(T.children(vote_master)) == len(workers), (workers, T.children(vote_master)))
    check("every vote of the load during the join was answered in the end",
          len(answered) == 20, sorted(answered))
    encrypted_at_rest(cl, cl.nodes(), "after the fourth node joined under load")
    rc, out = vote(cl.url(new), cl.voter(125), candidate=1)
    check("a vote through the new node is accepted (forwarded to the master)", rc == 0, out)
    counts = converged(cl, cl.nodes(), "after the fourth node joined")
    keys = voter_keys(cl, 147)
    accepted = [n for n, how in answered.items() if how == "accepted"] + [125]
    check("no vote answered 2xx while the node joined is lost or doubled",
          all(counts.get(keys[n - 1]) == 1 for n in accepted) and
          all(c == 1 for c in counts.values()),
          [n for n in accepted if counts.get(keys[n - 1]) != 1])
    # the new node's acknowledgement counts: the two other original nodes killed, the
    # master (whose programs opened the store before the new node joined) has only it
    others = [i for i in range(1, NODES + 1) if i != m]
    for i in others:
        cl.kill_node(i)
    time.sleep(1)
    rc, out = vote(master, cl.voter(126), candidate=2)
    check("with the two original replicas killed, the master's vote is durable on the new "
          "node and answered 2xx", rc == 0, out)
    # one of the killed nodes taken out of the group for good: the group is three again
    size = (cl.cluster(m) or {}).get("group_size")
    res = subprocess.run(["sh", CLUSTER_SH, "remove", cl.data, str(others[0])], env=cl.env,
                         capture_output=True, text=True, timeout=300)
    check("tools/cluster.sh remove takes a stopped node out of the group",
          res.returncode == 0 and "removed 127.0.0.1:" in res.stdout,
          res.stdout[-1000:] + res.stderr[-1000:])
    deadline, after = time.time() + 30, {}
    while time.time() < deadline:
        after = {i: (cl.cluster(i) or {}).get("group_size") for i in (m, new)}
        if all(v == 3 for v in after.values()):
            break
        time.sleep(0.5)
    check("the group counted four sites, and three once the node is removed, on the master "
          "and the new node", size == 4 and all(v == 3 for v in after.values()), (size, after))
    rc, out = vote(master, cl.voter(127 + 20), candidate=3)
    check("the master's programs, renewed again, still get their quorum", rc == 0, out)
    return m


def failover(cl):
    """Vote load through nodes 2 and 3 while node 1 (the master) is killed outright."""
    answered, lock, stop = {}, threading.Lock(), threading.Event()
    first_after_kill = []
    killed_at = []

    def client(node, voters):
        for n in voters:
            if stop.is_set():
                return
            key = cl.voter(n)
            for _ in range(60):           # retried until answered, as a person would
                began = time.time()
                rc, out = vote(cl.url(node), key, candidate=n % 3 + 1)
                if rc == 0 or "already_voted" in out:
                    with lock:
                        answered[n] = "accepted" if rc == 0 else "already"
                        # the first write both sent and answered after the kill
                        if killed_at and rc == 0 and began > killed_at[0] and \
                                not first_after_kill:
                            first_after_kill.append(time.time() - killed_at[0])
                    break
                time.sleep(0.2)
            time.sleep(0.1)

    a = threading.Thread(target=client, args=(2, range(13, LOAD_END, 2)))
    b = threading.Thread(target=client, args=(3, range(14, LOAD_END, 2)))
    a.start()
    b.start()
    time.sleep(2)
    killed_at.append(time.time())
    cl.kill_node(1)
    a.join(300)
    b.join(300)
    stop.set()
    took = first_after_kill[0] if first_after_kill else None
    print(f"# failover: writes answered again {took:.2f} s after the master was killed"
          if took is not None else "# failover: no write answered after the kill")
    check("after the master is killed, writes are answered again within 10 s",
          took is not None and took < 10, took)
    check("every vote of the load was answered in the end (2xx or already voted)",
          len(answered) == len(range(13, LOAD_END)), len(answered))
    url, views = wait_one_master(cl, [2, 3])
    check("nodes 2 and 3 agree on a new master", url in (cl.url(2), cl.url(3)), views)
    check("node 1 restarted on its data starts", cl.start_node(1))
    url1, views = wait_one_master(cl, [1, 2, 3])
    check("the old master rejoins as a replica of the new one",
          url1 == url and (views.get(1) or {}).get("role") == "replica", views)
    counts = converged(cl, [1, 2, 3], "after the failover")
    keys = voter_keys(cl, LOAD_END - 1)
    accepted = [n for n, how in answered.items() if how == "accepted"]
    check("no vote answered 2xx is lost: each is in the export",
          all(counts.get(keys[n - 1]) == 1 for n in accepted),
          [n for n in accepted if counts.get(keys[n - 1]) != 1])
    check("no vote is doubled", all(c == 1 for c in counts.values()), counts)
    return url


def whole_group_restart(cl):
    """Every node stopped, then all started again together: they elect a master among
    themselves, each knowing the group's members (its membership database on disk),
    nothing the group held is lost, and it takes votes again."""
    before = export(cl, 1)
    counts_before = votes_in_export(json.loads(before.body)) if before.status == 200 else {}
    r = subprocess.run(["sh", CLUSTER_SH, "stop", cl.data], env=cl.env, capture_output=True,
                       text=True, timeout=300)
    check("the whole group stops", r.returncode == 0, r.stdout[-500:] + r.stderr[-500:])
    started, began = {}, time.time()
    threads = [threading.Thread(target=lambda i=i: started.__setitem__(i, cl.start_node(i)))
               for i in (1, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(400)
    check("the three nodes started again together each start (a master elected among them)",
          all(started.get(i) for i in (1, 2, 3)), started)
    url, views = wait_one_master(cl, [1, 2, 3])
    print(f"# whole-group restart: one master {time.time() - began:.1f} s after the nodes "
          f"were started, generation {(views.get(1) or {}).get('generation')}")
    check("after the whole group's restart there is one master, every node knowing the "
          "group's three members",
          url is not None and all((views.get(i) or {}).get("group_size") == 3
                                  for i in (1, 2, 3)), views)
    rc, out = vote(cl.url(2), cl.voter(120), candidate=2)
    check("a vote is accepted after the whole group's restart", rc == 0, out)
    counts = converged(cl, [1, 2, 3], "after the whole group's restart")
    key120 = voter_keys(cl, 120)[119]
    check("every vote the group held before its restart is there once, and the new one",
          counts_before and all(counts.get(k) == 1 for k in counts_before) and
          counts.get(key120) == 1 and all(c == 1 for c in counts.values()),
          [k[:12] for k in counts_before if counts.get(k) != 1])
    encrypted_at_rest(cl, [1, 2, 3], "after the whole group's restart")
    return url


def sigstop_master(cl, master):
    """CLUSTER_CHAOS: the master frozen 15 s then continued: one master afterwards."""
    m = [i for i in (1, 2, 3) if cl.url(i) == master][0]
    others = [i for i in (1, 2, 3) if i != m]
    cl.signal_node(m, signal.SIGSTOP)
    time.sleep(15)
    url, views = wait_one_master(cl, others, timeout=30)
    check("while the master is stopped, the others elect a new one",
          url is not None and url != master, views)
    rc, out = vote(cl.url(others[0]), cl.voter(119), candidate=1)
    check("a vote through another node is accepted while the old master is stopped",
          rc == 0, out)
    cl.signal_node(m, signal.SIGCONT)
    url2, views = wait_one_master(cl, [1, 2, 3], timeout=60)
    check("once continued there is still one master (no split brain)",
          url2 is not None and url2 == url, views)
    check("the group converges after the stop", wait_quiet(cl, [1, 2, 3], timeout=120))
    same_exports(cl, [1, 2, 3], "after the SIGSTOP")
    return url2


def replica_killed(cl, master):
    """CLUSTER_CHAOS: a replica killed under load through the two other nodes: their
    clients see nothing (every vote answered 2xx at the first try)."""
    m = [i for i in (1, 2, 3) if cl.url(i) == master][0]
    r = [i for i in (1, 2, 3) if i != m][0]
    other = [i for i in (1, 2, 3) if i not in (m, r)][0]
    results = []

    def client(node, voters):
        for n in voters:
            results.append(vote(cl.url(node), cl.voter(n), candidate=n % 3 + 1))
            time.sleep(0.1)

    a = threading.Thread(target=client, args=(m, range(100, 110)))
    b = threading.Thread(target=client, args=(other, range(110, 119)))
    a.start()
    b.start()
    time.sleep(1)
    cl.kill_node(r)
    a.join(300)
    b.join(300)
    check("with a replica killed under load, every vote through the other nodes is "
          "answered 2xx at the first try", results and all(rc == 0 for rc, _ in results),
          [o for rc, o in results if rc != 0][:3])
    check("the killed replica started again rejoins", cl.start_node(r))
    check("the group converges after the replica's return",
          wait_quiet(cl, [1, 2, 3], timeout=120))
    same_exports(cl, [1, 2, 3], "after the replica's return")


def cut_off(cl, master):
    """The master alone: its commits are not acknowledged by a majority."""
    m = [i for i in cl.nodes() if cl.url(i) == master][0]
    for i in cl.nodes():
        if i != m:
            cl.kill_node(i)
    time.sleep(1)
    rc, out = vote(cl.url(m), cl.voter(VOTERS), candidate=1)
    check("a master cut off from the majority answers a vote 503 not_durable, never 2xx",
          rc != 0 and "not_durable" in out, out)


def main():
    cl = Cluster()
    try:
        if not check("tools/cluster.sh starts a group of three nodes", cl.start()):
            return
        formed(cl)
        encrypted_at_rest(cl, [1, 2, 3], "once formed")
        round_robin(cl)
        backup_on_replica(cl)
        recovery_on_replica(cl)
        restore_replica(cl)
        master = failover(cl)
        master = whole_group_restart(cl)
        if CHAOS:
            master = sigstop_master(cl, master)
            replica_killed(cl, master)
        add_node(cl, master)
        cut_off(cl, master)
    finally:
        cl.cleanup()


if __name__ == "__main__":
    RES.run(main)
