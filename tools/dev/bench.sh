#!/bin/sh
# `make bench`: measures ChainVote beside what this machine can do at best, in one run,
# and prints a table of every figure with its ceiling, ratio and target, plus a JSON file
# ($BUILD/bench.json, or BENCH_JSON). Starts its own systems on free loopback ports in a
# temporary directory (tools/run.sh, loopback exempt from rate limits, no miner, no demo)
# and stops exactly those at the end.
#   usage: BUILD=build sh tools/dev/bench.sh
# Environment: BENCH_WORKERS (FastCGI workers per program, default run.sh's),
#   BENCH_VOTE_WORKERS (the vote program's, default run.sh's),
#   BENCH_BIG_ROLL (voters of the large roll, default 1000000),
#   BENCH_AUDIT_VOTES (votes of the chain whose audit memory is measured, default 1000000),
#   BENCH_ONLY=delay (only the delay from a vote to its commit, with and without mining),
#   BENCH_ONLY=audit (only the audit, beside the ECDSA ceilings of the same run),
#   BENCH_ONLY=reads (only the reads of a committed block and of the export, each beside
#   nginx serving the same bytes from a file),
#   BENCH_ONLY=secret (only the secret ballots' figures, beside the P-256 ceilings),
#   BENCH_SECRET_BALLOTS (ballots of the secret chain audited, default 100000),
#   BENCH_SECRET_INGEST (ballots made for the admission run, default 20000).
#   BENCH_ONLY=atrest (only vote ingestion on a store not encrypted, the explicit opt-out
#   --store-key none, and an encrypted one).
#   BENCH_ONLY=ingest (only vote ingestion at 64 connections and the curve, beside the
#   ceilings they are judged on, measured in the same run: about two minutes).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
BIN=$BUILD/rel/bin
CGI=$BUILD/rel/cgi
JSON=${BENCH_JSON:-$BUILD/bench.json}
BIG=${BENCH_BIG_ROLL:-1000000}
CORES=$(nproc)
T=$(mktemp -d /tmp/chainvote-bench.XXXXXX)
# as root, run.sh runs the programs as chainvote, who must pass through to DATA
chmod 711 "$T"
ROWS=$T/rows
STARTED=""
export BIN CGI
[ -n "${BENCH_WORKERS:-}" ] && export WORKERS=$BENCH_WORKERS
[ -n "${BENCH_VOTE_WORKERS:-}" ] && export VOTE_WORKERS=$BENCH_VOTE_WORKERS
: >"$ROWS"

for b in chainvote miner cvload bench_ceil; do
	[ -x "$BIN/$b" ] || { echo "bench: $BIN/$b is missing; run make first" >&2; exit 1; }
done

cleanup() {
	for d in $STARTED; do sh "$top/tools/run.sh" stop 0 "$d" >/dev/null 2>&1 || true; done
	if [ -f "$T/ngx/nginx.pid" ]; then kill -QUIT "$(cat "$T/ngx/nginx.pid")" 2>/dev/null || true; fi
	if [ -f "$T/hello.pid" ]; then kill -TERM "$(cat "$T/hello.pid")" 2>/dev/null || true; fi
	sleep 0.3
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '%s\n' "$*" >&2; }
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# field JSON_LINE NAME: one number out of a one-line JSON object
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
calc() { python3 -c "print($1)"; }
now() { python3 -c 'import time; print(time.monotonic())'; }
# row SECTION FIGURE VALUE UNIT CEILING_NAME CEILING TARGET: TARGET is a Python
# condition on `value` and `ratio` (value / ceiling), or "-" for none.
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$ROWS"; }
# CPU seconds used so far by the processes in pid files $@ and their children.
cpu_of() {
	python3 - "$@" <<'PY'
import os, sys
tick = os.sysconf("SC_CLK_TCK")
def kids(p):
    out = []
    for t in os.listdir("/proc/%d/task" % p):
        try:
            out += [int(c) for c in open("/proc/%d/task/%s/children" % (p, t)).read().split()]
        except OSError:
            pass
    return out
total = 0.0
for f in sys.argv[1:]:
    stack = [int(open(f).read())]
    while stack:
        p = stack.pop()
        try:
            st = open("/proc/%d/stat" % p).read().rsplit(")", 1)[1].split()
            total += (int(st[11]) + int(st[12])) / tick
            stack += kids(p)
        except OSError:
            pass
print("%.4f" % total)
PY
}
# Memory of the workers of the program whose master pid file is $1: "max_pss_mb max_rss_mb".
worker_mem() {
	python3 - "$1" <<'PY'
import sys
master = int(open(sys.argv[1]).read())
kids = open("/proc/%d/task/%d/children" % (master, master)).read().split()
pss = rss = 0
for k in kids:
    vals = {}
    for line in open("/proc/%s/smaps_rollup" % k):
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("Pss:", "Rss:"):
            vals[parts[0]] = int(parts[1]) / 1024
    pss = max(pss, vals.get("Pss:", 0))
    rss = max(rss, vals.get("Rss:", 0))
print("%.1f %.1f" % (pss, rss))
PY
}

# measured OUT CMD...: runs CMD with stdout and stderr to OUT; prints "wall_s cpu_s
# peak_rss_mb" (CPU: user + system of CMD and its threads; peak RSS from getrusage).
measured() {
	python3 - "$@" <<'PY'
import resource, subprocess, sys, time
out = open(sys.argv[1], "w")
t0 = time.monotonic()
subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.STDOUT)
wall = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.4f %.4f %.1f" % (wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024))
PY
}

ecdsa_line() { openssl speed -seconds 3 "$@" ecdsap256 2>/dev/null | awk '/nistp256/ {print $NF}'; }

# The audit (chainvote verify reading the export as a stream): a 100,000-vote chain's
# votes/s beside the ECDSA ceiling of all cores, its CPU per vote beside one ECDSA
# verify and its peak memory; then the peak memory of a BENCH_AUDIT_VOTES chain beside
# the export's size. Needs ecdsa1 and ecdsan. The votes/s against two ceilings, the
# target judged on both: the run's ecdsan, and the same measured by the clock (openssl
# speed divides by its CPU time unless told -elapsed, the audit's votes/s are by the
# clock) right before and right after the audit, their mean: on a quiet machine the two
# are the same, on a shared one the second falls with the audit. The chain is kept in
# $BUILD/bench-cache until bench_ceil is rebuilt.
audit_section() {
	say "bench: audit of a 100,000-vote chain"
	cache=$BUILD/bench-cache
	ac=$cache/chain-100000.json
	mkdir -p "$cache"
	if [ ! -s "$ac" ] || [ "$BIN/bench_ceil" -nt "$ac" ]; then
		"$BIN/bench_ceil" chain 100000 1000 8 "$ac.tmp" && mv "$ac.tmp" "$ac"
	fi
	before=$(ecdsa_line -elapsed -multi "$CORES")
	m=$(measured "$T/verify.out" "$BIN/chainvote" verify "$ac")
	after=$(ecdsa_line -elapsed -multi "$CORES")
	tail -n 1 "$T/verify.out" | grep -qx valid || say "bench: verify found problems: $(tail -3 "$T/verify.out")"
	set -- $m
	beside=$(calc "($before + $after) / 2")
	row audit "chainvote verify, 100,000 votes: votes/s" "$(calc "100000 / $1")" "/s" "ECDSA verifies/s, $CORES processes, by the clock, just before and after" "$beside" "ratio >= 0.85"
	row audit "chainvote verify, 100,000 votes: votes/s" "$(calc "100000 / $1")" "/s" "ECDSA verifies/s, $CORES processes (the run's ceilings)" "$ecdsan" "ratio >= 0.85"
	# CPU per vote beside one signature check: what the parse and the rules add to it
	row audit "chainvote verify, 100,000 votes: CPU per vote" "$(calc "$2 * 1e6 / 100000")" "us" "one ECDSA verify (openssl speed, 1 core)" "$(calc "1e6 / $ecdsa1")" "-"
	# how much of the run kept every core busy (CORES: all of it)
	row audit "chainvote verify, 100,000 votes: CPU time / wall time" "$(calc "$2 / $1")" "cores" "the cores" "$CORES" "-"
	row audit "chainvote verify, 100,000 votes: peak memory (RSS)" "$3" "MB" "-" "" "-"

	AV=${BENCH_AUDIT_VOTES:-1000000}
	say "bench: audit of a $AV-vote chain (memory)"
	"$BIN/bench_ceil" chain "$AV" 1000 8 "$T/chain.json"
	emb=$(calc "$(wc -c <"$T/chain.json") / 1048576")
	m=$(measured "$T/verify.out" "$BIN/chainvote" verify "$T/chain.json")
	tail -n 1 "$T/verify.out" | grep -qx valid || say "bench: verify found problems: $(tail -3 "$T/verify.out")"
	set -- $m
	row audit "chainvote verify, $AV votes: peak memory (RSS)" "$3" "MB" "the export's size" "$emb" "-"
	row audit "chainvote verify, $AV votes: votes/s" "$(calc "$AV / $1")" "/s" "ECDSA verifies/s, $CORES processes" "$ecdsan" "-"
	rm -f "$T/chain.json"
}

# The reads of committed data beside nginx serving the same bytes from a file, in the
# same run: the same nginx (the system DIR restarted on PORT with its pages in a copy of
# www/), the same client and connections. The answers of block 1 (plain and gzip) and of
# the export are written byte for byte into files under that copy; each request is
# measured beside its file: the block, the block asked with Accept-Encoding: gzip (the
# file holds the gzip answer's bytes), the block asked with If-None-Match (304; the file
# with its own ETag), the export plain and gzip. The request and its file are measured
# in turn, RD_ROUNDS times RD seconds each, and the best of each kept, so that load that
# comes and goes on a shared machine falls on both. The system is left running; DIR's
# block 1 must be committed.
RD=2
RD_ROUNDS=3
# rd_pair PATH FILE_PATH [CVLOAD_OPTION...]: sets rd_a and rd_b, cvload's best line for
# each (by requests/s).
rd_pair() {
	rp_a=$1
	rp_b=$2
	shift 2
	rd_a='{"per_s":-1}'
	rd_b='{"per_s":-1}'
	i=0
	while [ $i -lt $RD_ROUNDS ]; do
		x=$("$BIN/cvload" --url "$rd_url" -c 64 -d "$RD" "$@" --get "$rp_a" || true)
		rd_a=$(python3 -c 'import json,sys; a,b=sys.argv[1:]; print(b if json.loads(b)["per_s"] > json.loads(a)["per_s"] else a)' "$rd_a" "$x")
		x=$("$BIN/cvload" --url "$rd_url" -c 64 -d "$RD" "$@" --get "$rp_b" || true)
		rd_b=$(python3 -c 'import json,sys; a,b=sys.argv[1:]; print(b if json.loads(b)["per_s"] > json.loads(a)["per_s"] else a)' "$rd_b" "$x")
		i=$((i + 1))
	done
}
reads_section() {
	rd_d=$1
	rd_url=http://127.0.0.1:$2
	rm -rf "$T/www"
	cp -R "$top/www" "$T/www"
	mkdir -p "$T/www/bench"
	WWW=$T/www
	export WWW
	start "$rd_d" "$2"
	unset WWW
	curl -s -D "$T/block.head" -o "$T/www/bench/block-1.json" "$rd_url/api/blocks/1"
	curl -s -H 'Accept-Encoding: gzip' -D "$T/blockgz.head" -o "$T/www/bench/block-1.json.gz" "$rd_url/api/blocks/1"
	curl -s -o "$T/www/bench/export.json" "$rd_url/api/chain/export"
	curl -s -H 'Accept-Encoding: gzip' -o "$T/www/bench/export.json.gz" "$rd_url/api/chain/export"
	grep -qi '^content-encoding: gzip' "$T/blockgz.head" || say "bench: block 1 was not answered in gzip"
	chmod -R a+rX "$T/www"
	etag=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *\([^[:space:]]*\).*/\1/p' "$T/block.head")
	fetag=$(curl -s -D - -o /dev/null "$rd_url/bench/block-1.json" | sed -n 's/^[Ee][Tt][Aa][Gg]: *\([^[:space:]]*\).*/\1/p')
	kb=$(calc "round($(wc -c <"$T/www/bench/block-1.json") / 1024)")
	kgz=$(calc "round($(wc -c <"$T/www/bench/block-1.json.gz") / 1024)")
	kex=$(calc "round($(wc -c <"$T/www/bench/export.json") / 1024)")
	kexz=$(calc "round($(wc -c <"$T/www/bench/export.json.gz") / 1024)")
	rd_pair /api/blocks/1 /bench/block-1.json
	blk=$rd_a fblk=$rd_b
	rd_pair /api/blocks/1 /bench/block-1.json.gz -H 'Accept-Encoding: gzip'
	gz=$rd_a fgz=$rd_b
	rd_pair /api/blocks/1 /bench/block-1.json -H "If-None-Match: $etag"
	nm=$rd_a
	rd_pair /bench/block-1.json /api/blocks/1 -H "If-None-Match: $fetag"
	fnm=$rd_a
	rd_pair /api/chain/export /bench/export.json
	ex=$rd_a fex=$rd_b
	rd_pair /api/chain/export /bench/export.json.gz -H 'Accept-Encoding: gzip'
	exz=$rd_a fexz=$rd_b
	for v in "$blk" "$fblk" "$gz" "$fgz" "$ex" "$fex" "$exz" "$fexz"; do
		[ "$(field "$v" ok)" -gt 0 ] && [ "$(field "$v" errors)" = 0 ] || say "bench: a read failed: $v"
	done
	python3 -c 'import json,sys; [sys.exit(1) for a in sys.argv[1:] if set(json.loads(a)["status"]) != {"304"}]' "$nm" "$fnm" ||
		say "bench: a conditional read was not answered 304: $nm $fnm"
	row reads "GET /api/blocks/1 (1,000 votes, $kb KB), requests/s" "$(field "$blk" ok_per_s)" "/s" "nginx serving the same bytes from a file" "$(field "$fblk" ok_per_s)" "ratio >= 0.5"
	row reads "same, Accept-Encoding: gzip ($kgz KB), requests/s" "$(field "$gz" ok_per_s)" "/s" "nginx serving the same gzip bytes from a file" "$(field "$fgz" ok_per_s)" "ratio >= 0.5"
	row reads "same, If-None-Match its ETag (304), requests/s" "$(field "$nm" per_s)" "/s" "nginx: a file's If-None-Match (304)" "$(field "$fnm" per_s)" "ratio >= 0.5"
	row reads "GET /api/chain/export (height 1, $kex KB), requests/s" "$(field "$ex" ok_per_s)" "/s" "nginx serving the same bytes from a file" "$(field "$fex" ok_per_s)" "ratio >= 0.5"
	row reads "same, Accept-Encoding: gzip ($kexz KB), requests/s" "$(field "$exz" ok_per_s)" "/s" "nginx serving the same gzip bytes from a file" "$(field "$fexz" ok_per_s)" "ratio >= 0.5"
}

# ---- secret ballots (DESIGN section 6) ----
# The ceiling of every secret figure is P-256 variable-base point multiplications/s
# (`openssl speed ecdhp256`: one ECDH is one such multiplication), 1 and CORES processes,
# divided by what section 6 asks to verify one ballot of k = 3 candidates, counted as a
# verifier following the text computes it: per position the 0/1 proof's a_0, b_0, a_1,
# b_1, two multiplications each (8k); the sum proof's a and b (4); the ECDSA signature (2).
ecdh_line() { openssl speed -seconds 3 "$@" ecdhp256 2>/dev/null | awk '/nistp256/ {print $NF}'; }
MULTS_PER_BALLOT=$((8 * 3 + 4 + 2))
SECRET_BALLOTS=${BENCH_SECRET_BALLOTS:-100000}
secret_ceilings() {
	ecdh1=$(ecdh_line)
	ecdhn=$(ecdh_line -multi "$CORES")
	row ceilings "P-256 variable-base multiplications/s, 1 core (openssl speed ecdhp256)" "$ecdh1" "/s" "-" "" "-"
	row ceilings "P-256 variable-base multiplications/s, $CORES processes" "$ecdhn" "/s" "-" "" "-"
	row ceilings "multiplications section 6 needs to verify one ballot of 3 candidates" "$MULTS_PER_BALLOT" "" "-" "" "-"
	ballot_ceil1=$(calc "$ecdh1 / $MULTS_PER_BALLOT")
	ballot_ceiln=$(calc "$ecdhn / $MULTS_PER_BALLOT")
	row ceilings "ballots/s the multiplications allow, $CORES processes" "$ballot_ceiln" "/s" "-" "" "-"
}

# The audit of a secret chain of SECRET_BALLOTS ballots (blocks of 1,000, the seal, two
# trustees' shares: `chainvote verify` checks every proof and decrypts the tally). The
# chain is generated once and kept in $BUILD/bench-cache (its timestamps are fixed, so
# it stays valid) until bench_ceil is rebuilt: making a ballot costs about what checking
# it does. Then the tally alone: three counts of up to a million ballots.
secret_audit_section() {
	say "bench: audit of a $SECRET_BALLOTS-ballot secret chain"
	cache=$BUILD/bench-cache
	sc=$cache/secretchain-$SECRET_BALLOTS.json
	mkdir -p "$cache"
	if [ ! -s "$sc" ] || [ "$BIN/bench_ceil" -nt "$sc" ]; then
		say "bench: generating it (kept in $cache)"
		"$BIN/bench_ceil" secretchain "$SECRET_BALLOTS" 1000 8 "$sc.tmp" && mv "$sc.tmp" "$sc"
	fi
	m=$(measured "$T/verify.out" "$BIN/chainvote" verify "$sc")
	tail -n 1 "$T/verify.out" | grep -qx valid || say "bench: verify found problems: $(tail -3 "$T/verify.out")"
	grep -q "^final: decrypted" "$T/verify.out" || say "bench: the secret chain's tally was not decrypted"
	set -- $m
	rate=$(calc "$SECRET_BALLOTS / $1")
	row audit "chainvote verify, $SECRET_BALLOTS ballots (3 candidates): ballots/s" "$rate" "/s" "multiplications/s, $CORES processes / $MULTS_PER_BALLOT" "$ballot_ceiln" "ratio >= 0.8"
	row audit "chainvote verify, $SECRET_BALLOTS ballots: CPU per ballot" "$(calc "$2 * 1e6 / $SECRET_BALLOTS")" "us" "$MULTS_PER_BALLOT multiplications, 1 core" "$(calc "1e6 / $ballot_ceil1")" "ratio <= 1"
	row audit "chainvote verify, $SECRET_BALLOTS ballots: peak memory (RSS)" "$3" "MB" "-" "" "-"
	row audit "batch factor: per-proof ceiling's CPU per ballot / the verifier's" "$(calc "(1e6 / $ballot_ceil1) / ($2 * 1e6 / $SECRET_BALLOTS)")" "x" "-" "" "value > 1"
	t=$("$BIN/bench_ceil" tally 1000000)
	[ "$(field "$t" right)" = True ] || say "bench: the tally decrypted wrong counts: $t"
	row tally "decrypt 3 totals of 1,000,000 ballots (cv_tally_decrypt)" "$(field "$t" seconds)" "s" "-" "" "value < 1"
}

# Ballot admission: 202-accepted (durable) ballots/s through nginx, 64 connections, into a
# secret election set up as an operator would (chainvote init --ballots secret, the
# ceremony by `chainvote trustee keygen` and `shares` against the running service, the
# open), with BENCH_SECRET_INGEST ballots made beforehand (bench_ceil ballots: encrypted
# under the genesis's K, proved and signed). The ceiling: the multiplications that
# verifying a ballot takes, on every core.
secret_ingest_section() {
	NB=${BENCH_SECRET_INGEST:-20000}
	d=$T/secret
	say "bench: ballot admission (a secret election through nginx, $NB ballots)"
	mkdir -p "$d/data"
	"$BIN/bench_ceil" keys "$NB" "$d/keys.bin" "$d/keys.csv"
	election_setup "$d" "$d/keys.csv" 1000 8 --ballots secret --quorum 2
	port=$(free_port)
	url=http://127.0.0.1:$port
	start "$d" "$port"
	for i in 1 2 3; do
		"$BIN/chainvote" trustee keygen --url "$url" --key "$d/val$i.json" \
			--secret-out "$d/trustee$i.secret" >/dev/null 2>&1 || say "bench: trustee $i keygen failed"
	done
	# the first round posts the sealed shares, the second checks those received
	for round in 1 2; do
		for i in 1 2 3; do
			"$BIN/chainvote" trustee shares --url "$url" --key "$d/val$i.json" \
				--secret "$d/trustee$i.secret" >/dev/null 2>&1 || [ "$round" = 1 ] ||
				say "bench: trustee $i shares failed"
		done
	done
	stop "$d"
	"$BIN/chainvote" open --data "$d/data/election" >/dev/null || say "bench: the secret election did not open"
	start "$d" "$port"
	curl -s "$url/api/blocks/0" >"$d/genesis.json"
	"$BIN/bench_ceil" ballots "$d/keys.bin" "$d/genesis.json" 0 "$NB" "$d/ballots"
	c0=$(cpu_of "$d/data/run/vote.pid")
	n0=$(cpu_of "$d/data/run/nginx.pid")
	ing=$("$BIN/cvload" --url "$url" -c 64 -d 15 --post /api/votes --bodies "$d/ballots" || true)
	c1=$(cpu_of "$d/data/run/vote.pid")
	n1=$(cpu_of "$d/data/run/nginx.pid")
	# the browser: the page encrypting and proving a ballot of this election in Chromium
	pr=""
	if command -v node >/dev/null && [ -d "$top/tests/browser/node_modules/playwright-core" ]; then
		pr=$(URL=$url node "$top/tools/dev/bench_prepare.mjs" 2>"$T/prepare.err") ||
			say "bench: the browser's timing failed: $(tail -3 "$T/prepare.err")"
	else
		say "bench: no node or playwright-core (tools/npm-ci.sh tests/browser): no browser timing"
	fi
	stop "$d"
	if [ -n "$pr" ]; then
		row browser "encrypt and prove a 3-candidate ballot in Chromium, median" "$(field "$pr" rate_1)" "ms" "-" "" "-"
		row browser "same, CPU throttled 4x (phone-class), median" "$(field "$pr" rate_4)" "ms" "-" "" "value <= 1000"
		row browser "same, CPU throttled 6x, slowest of 5" "$(field "$pr" max_6)" "ms" "-" "" "value <= 1000"
	fi
	accepted=$(field "$ing" ok)
	[ "$accepted" -gt 0 ] || say "bench: no ballot was accepted: $ing"
	row ingestion "durable ballots/s through nginx (64 connections, 3 candidates)" "$(field "$ing" ok_per_s)" "/s" "multiplications/s, $CORES processes / $MULTS_PER_BALLOT" "$ballot_ceiln" "ratio >= 0.7"
	row ingestion "ballot latency p50 under that load" "$(field "$ing" p50_ms)" "ms" "-" "" "-"
	row ingestion "ballot latency p99 under that load" "$(field "$ing" p99_ms)" "ms" "-" "" "-"
	row ingestion "CPU per ballot: vote workers" "$(calc "($c1 - $c0) * 1e6 / max(1, $accepted)")" "us" "$MULTS_PER_BALLOT multiplications, 1 core" "$(calc "1e6 / $ballot_ceil1")" "-"
	row ingestion "CPU per ballot: nginx" "$(calc "($n1 - $n0) * 1e6 / max(1, $accepted)")" "us" "-" "" "-"
	rm -rf "$d"
}

key_of() { sed -n 's/.*"public_key"[^"]*"\([0-9a-f]*\)".*/\1/p' "$1"; }

# election_setup DIR ROLL_CSV MAX_BLOCK_VOTES [DIFFICULTY [INIT_OPTION...]]: a set-up
# election with three candidates, three validators (keys in DIR/val*.json, threshold 2)
# and the roll, at DIFFICULTY (default 8), its store under STORE_KEY when that is set.
election_setup() {
	es_d=$1
	es_roll=$2
	es_max=$3
	es_diff=${4:-8}
	shift 3
	[ $# -gt 0 ] && shift
	es_k=${STORE_KEY:+--store-key=$STORE_KEY}
	mkdir -p "$es_d/data"
	"$BIN/chainvote" init --data "$es_d/data/election" ${es_k:+"$es_k"} --title "Benchmark" --threshold 2 \
		--difficulty "$es_diff" --max-block-votes "$es_max" "$@" >/dev/null
	printf '1,Alder\n2,Birch\n3,Cedar\n' | "$BIN/chainvote" candidates --data "$es_d/data/election" ${es_k:+"$es_k"} - >/dev/null
	: >"$es_d/validators.csv"
	for i in 1 2 3; do
		"$BIN/chainvote" keygen -o "$es_d/val$i.json" 2>/dev/null
		echo "$(key_of "$es_d/val$i.json"),Validator $i" >>"$es_d/validators.csv"
	done
	"$BIN/chainvote" validators --data "$es_d/data/election" ${es_k:+"$es_k"} "$es_d/validators.csv" >/dev/null
	"$BIN/chainvote" voters --data "$es_d/data/election" ${es_k:+"$es_k"} "$es_roll" >/dev/null
}

# election DIR ROLL_CSV MAX_BLOCK_VOTES [DIFFICULTY]: election_setup, then opened; prints
# its id.
election() {
	election_setup "$@"
	"$BIN/chainvote" open --data "$1/data/election" ${es_k:+"$es_k"}
}

# start DIR PORT: the whole system on 127.0.0.1:PORT over DIR/data (STORE_KEY passed on).
start() {
	STARTED="$STARTED $1/data"
	RATE_EXEMPT_LOOPBACK=1 MINER=0 DEMO=0 sh "$top/tools/run.sh" start "$2" "$1/data" >/dev/null
}
stop() { sh "$top/tools/run.sh" stop 0 "$1/data" >/dev/null; }

say "bench: machine"
python3 - "$T/machine.json" <<'PY'
import json, os, platform, sys
cpu = {}
for line in open("/proc/cpuinfo"):
    if ":" in line:
        k, v = [x.strip() for x in line.split(":", 1)]
        cpu.setdefault(k, v)
mem = int(open("/proc/meminfo").readline().split()[1]) // 1024
m = {"cpu": cpu.get("model name", "?"), "cores": os.cpu_count(),
     "sha_ni": "sha_ni" in cpu.get("flags", "").split(),
     "memory_mb": mem, "kernel": platform.release(),
     "load_at_start": os.getloadavg()[0]}
json.dump(m, open(sys.argv[1], "w"))
PY

# ---- vote to commit ----
# The delay from a vote's 202 to its commit (median and 90th percentile of DELAY_VOTES
# votes, one every DELAY_SPREAD s), in the demo's two set-ups as tools/run.sh starts them:
# energy-free (difficulty 0, no miner, the validator daemons proposing, pause 0.5 s) and
# mining at the demo's difficulty 16 (one miner thread polling every 1 s, daemons pausing
# 2 s; and pausing 0.5 s, to tell the pause from the mining). Energy-free also with one of
# the three daemons down (the demo's VALIDATORS=2), where a third of the heights wait for
# the fallback turn. Each beside what its polling allows: a vote waits on average half a
# pause for its proposer to look and half a pause for an approver, so (proposer's pause +
# approvers' pause) / 2, plus for mining the expected search (2^16 hashes on 1 thread).
DELAY_VOTES=50
DELAY_SPREAD=0.1
delay_run() { # NAME DIFFICULTY MINER VALIDATORS INTERVAL: prints commit_delay's JSON line
	d=$T/delay-$1
	mkdir -p "$d/keys"
	"$BIN/bench_ceil" keys "$DELAY_VOTES" "$d/keys.bin" "$d/keys.csv" >/dev/null
	eid=$(election "$d" "$d/keys.csv" 64 "$2")
	"$BIN/bench_ceil" votes "$d/keys.bin" "$eid" 3 0 "$DELAY_VOTES" "$d/votes" >/dev/null
	mkdir -p "$d/data/demo/validators"
	for i in 1 2 3; do cp "$d/val$i.json" "$d/data/demo/validators/validator-$i.json"; done
	p=$(free_port)
	STARTED="$STARTED $d/data"
	RATE_EXEMPT_LOOPBACK=1 DEMO=0 MINER="$3" VALIDATORS="$4" VALIDATOR_INTERVAL="$5" \
		sh "$top/tools/run.sh" start "$p" "$d/data" >/dev/null
	python3 "$top/tools/dev/commit_delay.py" "http://127.0.0.1:$p" "$d/votes" \
		"$DELAY_VOTES" "$DELAY_SPREAD"
	stop "$d"
}
# ingest_on NAME KEY: a fresh election on the first NV keys of $T/ingest.csv, its store
# encrypted under KEY (a key file, made with the store), or not (none: the opt-out), then NV
# votes posted for 15 s at 64 connections through nginx; prints "votes/s CPU-us-per-vote"
# (the vote workers'). Needs NV, $T/keys.bin and $T/ingest.csv.
ingest_on() {
	STORE_KEY=$2
	export STORE_KEY
	ieid=$(election "$T/$1" "$T/ingest.csv" 1000)
	"$BIN/bench_ceil" votes "$T/keys.bin" "$ieid" 3 0 "$NV" "$T/$1.votes" >/dev/null
	iport=$(free_port)
	start "$T/$1" "$iport"
	ic0=$(cpu_of "$T/$1/data/run/vote.pid")
	iload=$("$BIN/cvload" --url "http://127.0.0.1:$iport" -c 64 -d 15 --post /api/votes --bodies "$T/$1.votes" || true)
	ic1=$(cpu_of "$T/$1/data/run/vote.pid")
	stop "$T/$1"
	unset STORE_KEY
	rm -rf "${T:?}/$1" "$T/$1.votes"
	echo "$(field "$iload" ok_per_s) $(calc "($ic1 - $ic0) * 1e6 / max(1, $(field "$iload" ok))")"
}

if [ "${BENCH_ONLY:-}" = secret ]; then
say "bench: ceilings (P-256 multiplications)"
secret_ceilings
secret_ingest_section
secret_audit_section
elif [ "${BENCH_ONLY:-}" = atrest ]; then
say "bench: vote ingestion, store not encrypted and encrypted, one after the other"
NV=40000
"$BIN/bench_ceil" keys "$NV" "$T/keys.bin" "$T/ingest.csv"
plain=$(ingest_on plain none)
keyed=$(ingest_on keyed "$T/keyed.key")
row ingestion "durable votes/s, store encrypted (AES-128) beside not encrypted" "${keyed% *}" "/s" "the same load, store not encrypted" "${plain% *}" "-"
row ingestion "CPU per vote: vote workers, store encrypted" "${keyed#* }" "us" "the same, store not encrypted" "${plain#* }" "-"
elif [ "${BENCH_ONLY:-}" = reads ]; then
say "bench: reads (a 1,000-vote block committed, then read)"
"$BIN/bench_ceil" keys 1000 "$T/keys.bin" "$T/keys.csv"
eid=$(election "$T/ingest" "$T/keys.csv" 1000)
"$BIN/bench_ceil" votes "$T/keys.bin" "$eid" 3 0 1000 "$T/ingest.votes"
port=$(free_port)
start "$T/ingest" "$port"
"$BIN/cvload" --url "http://127.0.0.1:$port" -c 16 --post /api/votes --bodies "$T/ingest.votes" >/dev/null || true
"$BIN/miner" --url "http://127.0.0.1:$port" --once --threads "$CORES" --max-votes 1000 >"$T/miner.out" 2>&1
for i in 1 2; do
	"$BIN/chainvote" approve --url "http://127.0.0.1:$port" --key "$T/ingest/val$i.json" --all >/dev/null
done
stop "$T/ingest"
reads_section "$T/ingest" "$port"
stop "$T/ingest"
elif [ "${BENCH_ONLY:-}" = ingest ]; then
: # the ceilings and the ingestion below
elif [ "${BENCH_ONLY:-}" = audit ]; then
say "bench: ceilings (ECDSA)"
ecdsa1=$(ecdsa_line)
ecdsan=$(ecdsa_line -multi "$CORES")
row ceilings "ECDSA P-256 verifies/s, 1 core (openssl speed)" "$ecdsa1" "/s" "-" "" "-"
row ceilings "ECDSA P-256 verifies/s, $CORES processes (openssl speed)" "$ecdsan" "/s" "-" "" "-"
audit_section
else
say "bench: delay from a vote to its commit (energy-free, and mining at difficulty 16)"
ef=$(delay_run free 0 0 3 0.5)
ef2=$(delay_run free2 0 0 2 0.5)
pw=$(delay_run pow 16 1 2 2)
pwf=$(delay_run powfast 16 1 2 0.5)
dpow1=$(field "$("$BIN/bench_ceil" pow 1 3)" per_s)
mine_ms=$(calc "2 ** 16 / $dpow1 * 1000")
for v in "$ef" "$ef2" "$pw" "$pwf"; do
	[ "$(field "$v" committed)" = "$DELAY_VOTES" ] || say "bench: not every vote was committed: $v"
done
row delay "vote 202 to commit p50, energy-free, 3 daemons proposing" "$(field "$ef" p50_ms)" "ms" "(0.5 s + 0.5 s) / 2" 500 "value <= 2000"
row delay "vote 202 to commit p90, energy-free, 3 daemons proposing" "$(field "$ef" p90_ms)" "ms" "(0.5 s + 0.5 s) / 2" 500 "value <= 2000"
row delay "vote 202 to commit p50, energy-free, 2 of 3 daemons (fallback)" "$(field "$ef2" p50_ms)" "ms" "(0.5 s + 0.5 s) / 2" 500 "-"
row delay "vote 202 to commit p90, energy-free, 2 of 3 daemons (fallback)" "$(field "$ef2" p90_ms)" "ms" "the fallback turn (3 s)" 3000 "-"
row delay "vote 202 to commit p50, mining at difficulty 16, daemons pausing 2 s" "$(field "$pw" p50_ms)" "ms" "(1 s + 2 s) / 2 + search" "$(calc "1500 + $mine_ms")" "-"
row delay "vote 202 to commit p90, mining at difficulty 16, daemons pausing 2 s" "$(field "$pw" p90_ms)" "ms" "(1 s + 2 s) / 2 + search" "$(calc "1500 + $mine_ms")" "-"
row delay "vote 202 to commit p50, mining at difficulty 16, daemons pausing 0.5 s" "$(field "$pwf" p50_ms)" "ms" "(1 s + 0.5 s) / 2 + search" "$(calc "750 + $mine_ms")" "-"
row delay "vote 202 to commit p90, mining at difficulty 16, daemons pausing 0.5 s" "$(field "$pwf" p90_ms)" "ms" "(1 s + 0.5 s) / 2 + search" "$(calc "750 + $mine_ms")" "-"
row delay "expected search at difficulty 16, 1 thread (2^16 hashes)" "$mine_ms" "ms" "-" "" "-"
row delay "the poller's look at the tip (resolution of these delays)" "$(field "$ef" poll_ms)" "ms" "-" "" "-"
fi # BENCH_ONLY=audit

if [ -z "${BENCH_ONLY:-}" ] || [ "$BENCH_ONLY" = ingest ]; then
if [ -z "${BENCH_ONLY:-}" ]; then
# ---- mining ----
say "bench: mining (SHA-256 compressions, miner core)"
sha_line() { openssl speed -seconds 3 -bytes 16384 -evp sha256 "$@" 2>/dev/null | awk '/^sha256/ {print $2}' | tr -d k; }
sha1=$(calc "$(sha_line) * 1000 / 64")
shan=$(calc "$(sha_line -multi "$CORES") * 1000 / 64")
pow1=$(field "$("$BIN/bench_ceil" pow 1 3)" per_s)
pown=$(field "$("$BIN/bench_ceil" pow "$CORES" 3)" per_s)
row mining "miner hashes/s, 1 thread" "$pow1" "H/s" "SHA-256 compressions/s, 1 core (openssl speed)" "$sha1" "ratio >= 0.9"
row mining "miner hashes/s, $CORES threads" "$pown" "H/s" "miner, 1 thread" "$pow1" "ratio >= 1.9"
row mining "miner hashes/s, $CORES threads" "$pown" "H/s" "SHA-256 compressions/s, $CORES processes" "$shan" "-"
fi # mining

# ---- ceilings ----
say "bench: ceilings (ECDSA, Berkeley DB commits)"
ecdsa1=$(ecdsa_line)
ecdsan=$(ecdsa_line -multi "$CORES")
cvv1=$(field "$("$BIN/bench_ceil" verify 1 3)" per_s)
cvvn=$(field "$("$BIN/bench_ceil" verify "$CORES" 3)" per_s)
row ceilings "cv_verify/s, 1 thread" "$cvv1" "/s" "ECDSA P-256 verifies/s, 1 core (openssl speed)" "$ecdsa1" "-"
row ceilings "cv_verify/s, $CORES threads" "$cvvn" "/s" "ECDSA P-256 verifies/s, $CORES processes" "$ecdsan" "-"
mkdir -p "$T/db1" "$T/dbn"
db1=$(field "$("$BIN/bench_ceil" dbcommit 1 3 "$T/db1")" per_s)
dbn=$(field "$("$BIN/bench_ceil" dbcommit 32 3 "$T/dbn")" per_s)
rm -rf "$T/db1" "$T/dbn"
row ceilings "Berkeley DB durable commits/s, 1 thread" "$db1" "/s" "-" "" "-"
row ceilings "Berkeley DB durable commits/s, 32 threads (group commit)" "$dbn" "/s" "-" "" "-"

# FastCGI hello-world behind its own nginx, pre-forked like the programs.
say "bench: ceilings (nginx static file, FastCGI hello-world)"
cat >"$T/hello.c" <<'C'
#include <fcgiapp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	int fd, n = argc > 2 ? atoi(argv[2]) : 4;
	FCGX_Request r;
	if (argc < 2 || FCGX_Init() != 0 || (fd = FCGX_OpenSocket(argv[1], 1024)) < 0)
		return 1;
	for (int i = 0; i < n; i++)
		if (fork() == 0) {
			prctl(PR_SET_PDEATHSIG, SIGTERM); /* leave with the parent */
			FCGX_InitRequest(&r, fd, 0);
			while (FCGX_Accept_r(&r) >= 0) {
				FCGX_FPrintF(r.out, "Status: 200 OK\r\nContent-Type: application/json\r\n\r\n"
				             "{\"hello\":\"world\"}");
				FCGX_Finish_r(&r);
			}
			_exit(0);
		}
	signal(SIGTERM, SIG_DFL);
	pause();
	return 0;
}
C
gcc -O2 -o "$T/hello" "$T/hello.c" -lfcgi
mkdir -p "$T/ngx/tmp"
"$T/hello" "$T/hello.sock" "${WORKERS:-4}" &
echo $! >"$T/hello.pid"
hport=$(free_port)
cat >"$T/ngx/nginx.conf" <<NGX
user $(id -un);
worker_processes auto;
pid $T/ngx/nginx.pid;
error_log $T/ngx/error.log warn;
events { worker_connections 4096; }
http {
	access_log $T/ngx/access.log;
	client_body_temp_path $T/ngx/tmp/body;
	fastcgi_temp_path $T/ngx/tmp/fastcgi;
	proxy_temp_path $T/ngx/tmp/proxy;
	uwsgi_temp_path $T/ngx/tmp/uwsgi;
	scgi_temp_path $T/ngx/tmp/scgi;
	keepalive_requests 10000;
	server {
		listen 127.0.0.1:$hport;
		location / { fastcgi_pass unix:$T/hello.sock; include /etc/nginx/fastcgi_params; }
	}
}
NGX
i=0
while [ ! -S "$T/hello.sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
nginx -p "$T/ngx" -c "$T/ngx/nginx.conf"
sleep 0.3
hello=$(field "$("$BIN/cvload" --url "http://127.0.0.1:$hport" -c 64 -d 5 --get /hello)" ok_per_s)
kill -QUIT "$(cat "$T/ngx/nginx.pid")"
kill -TERM "$(cat "$T/hello.pid")"
rm -f "$T/hello.pid"

# ---- vote ingestion ----
say "bench: keys and pre-signed votes"
NV=40000
# the curve: votes/s against the number of connections, each point on votes of its own
CURVE="1 2 4 8 16 32 64 128 256"
CURVE_VOTES=20000 # at most, per point
CURVE_SECONDS=3
NCURVE=$((9 * CURVE_VOTES))
NALL=$((NV + NCURVE))
"$BIN/bench_ceil" keys "$(if [ -z "${BENCH_ONLY:-}" ] && [ "$BIG" -gt "$NALL" ]; then echo "$BIG"; else echo "$NALL"; fi)" "$T/keys.bin" "$T/keys.csv"
head -n "$NALL" "$T/keys.csv" >"$T/ingest.csv"
# The cost of encryption at rest (the default, which every other figure uses): the same
# load on the same roll on a store made with --store-key none (the opt-out), beside it.
if [ -z "${BENCH_ONLY:-}" ]; then
say "bench: vote ingestion, store not encrypted (--store-key none)"
plain=$(ingest_on plain none)
plain_s=${plain% *}
plain_cpu=${plain#* }
fi
eid=$(election "$T/ingest" "$T/ingest.csv" 1000)
"$BIN/bench_ceil" votes "$T/keys.bin" "$eid" 3 0 "$NALL" "$T/all.votes"
head -n "$NV" "$T/all.votes" >"$T/ingest.votes"
port=$(free_port)
url=http://127.0.0.1:$port
start "$T/ingest" "$port"
RUN=$T/ingest/data/run
static=$(field "$("$BIN/cvload" --url "$url" -c 64 -d 5 --get /index.html)" ok_per_s)
row ceilings "nginx static file (index.html), requests/s" "$static" "/s" "-" "" "-"
row ceilings "nginx + FastCGI hello-world, requests/s" "$hello" "/s" "-" "" "-"

say "bench: vote ingestion"
c0=$(cpu_of "$RUN/vote.pid")
n0=$(cpu_of "$RUN/nginx.pid")
ing=$("$BIN/cvload" --url "$url" -c 64 -d 15 --post /api/votes --bodies "$T/ingest.votes" || true)
c1=$(cpu_of "$RUN/vote.pid")
n1=$(cpu_of "$RUN/nginx.pid")
votes_s=$(field "$ing" ok_per_s)
accepted=$(field "$ing" ok)
# Two ceilings: the slowest stage alone (each measured with both cores to itself), and
# the stages sharing the cores as a vote does (each vote pays all four on the same two
# cores: 1 / sum of 1/rate). The target is judged on the second, the one that can exist.
ceiling=$(calc "min($static, $hello, $ecdsan, $dbn)")
shared=$(calc "1 / (1 / $static + 1 / $hello + 1 / $ecdsan + 1 / $dbn)")
row ingestion "durable votes/s through nginx (64 connections)" "$votes_s" "/s" "stages sharing the cores: 1/(1/static+1/hello+1/ECDSA+1/DB)" "$shared" "ratio >= 0.8 and value >= 7000"
row ingestion "durable votes/s through nginx (64 connections)" "$votes_s" "/s" "slowest stage alone: min(static, hello, ECDSA, DB)" "$ceiling" "-"
[ -n "${plain_s:-}" ] && row ingestion "durable votes/s, store encrypted (AES-128) beside not encrypted" "$votes_s" "/s" "the same load, store not encrypted" "$plain_s" "-"
row ingestion "vote latency p50 under that load" "$(field "$ing" p50_ms)" "ms" "-" "" "-"
row ingestion "vote latency p99 under that load" "$(field "$ing" p99_ms)" "ms" "-" "" "value <= 10"
worker_us=$(calc "($c1 - $c0) * 1e6 / max(1, $accepted)")
row ingestion "CPU per vote: vote workers" "$worker_us" "us" "-" "" "-"
[ -n "${plain_cpu:-}" ] && row ingestion "CPU per vote: vote workers, store encrypted" "$worker_us" "us" "the same, store not encrypted" "$plain_cpu" "-"
row ingestion "CPU per vote: vote workers beyond cv_verify" "$(calc "$worker_us - 1e6 / $cvv1")" "us" "-" "" "value <= 90"
row ingestion "CPU per vote: nginx" "$(calc "($n1 - $n0) * 1e6 / max(1, $accepted)")" "us" "-" "" "-"
row ingestion "cv_verify per vote (1 thread)" "$(calc "1e6 / $cvv1")" "us" "-" "" "-"
# What the measured CPU cost per vote would allow with every core free for it: tells a
# machine shared with other work apart from a system that is slow.
row ingestion "votes/s the cores could carry at that CPU cost" "$(calc "$CORES * 1e6 * max(1, $accepted) / max(1e-9, ($c1 - $c0 + $n1 - $n0) * 1e6)")" "/s" "-" "" "-"

# The curve: votes/s, p50 and p99 against the number of connections, 1 to 256, each
# point for CURVE_SECONDS on votes of its own (the votes after the first NV).
say "bench: vote ingestion against the number of connections"
# the vote program logs at its stop how many batches (one log flush each) wrote its votes
flush_row() {
	batch=$(sed -n 's/.*: \([0-9]*\) votes written in \([0-9]*\) batches.*/\1 \2/p' "$RUN/vote.log" | tail -n 1)
	if [ -n "$batch" ]; then
		row ingestion "votes per log flush (group commit), whole run" "$(calc "${batch% *} / max(1, ${batch#* })")" "votes" "-" "" "-"
	fi
}
first=$((NV + 1))
for c in $CURVE; do
	sed -n "${first},$((first + CURVE_VOTES - 1))p" "$T/all.votes" >"$T/curve.votes"
	first=$((first + CURVE_VOTES))
	pt=$("$BIN/cvload" --url "$url" -c "$c" -d "$CURVE_SECONDS" -n "$CURVE_VOTES" --post /api/votes --bodies "$T/curve.votes" || true)
	row curve "durable votes/s, $c connections" "$(field "$pt" ok_per_s)" "/s" "stages sharing the cores" "$shared" "-"
	row curve "vote latency p50, $c connections" "$(field "$pt" p50_ms)" "ms" "-" "" "-"
	row curve "vote latency p99, $c connections" "$(field "$pt" p99_ms)" "ms" "-" "" "-"
done
rm -f "$T/curve.votes" "$T/all.votes"

if [ "${BENCH_ONLY:-}" = ingest ]; then
stop "$T/ingest"
flush_row
else

# ---- commit ----
say "bench: commit of a 1,000-vote block"
"$BIN/miner" --url "$url" --once --threads "$CORES" --max-votes 1000 >"$T/miner.out" 2>&1
hash=$(curl -s "$url/api/proposals" | python3 -c 'import json,sys; d=json.load(sys.stdin); p=d["proposals"] if isinstance(d,dict) else d; print(p[0]["hash"] if "hash" in p[0] else p[0]["block"]["hash"])')
"$BIN/chainvote" approve --url "$url" --key "$T/ingest/val1.json" --all >/dev/null
"$BIN/bench_ceil" approval "$T/ingest/val2.json" "$hash" >"$T/approval.json"
commit=$(curl -s -o "$T/commit.out" -w '%{time_total}' -H 'Content-Type: application/json' \
	--data-binary @"$T/approval.json" "$url/api/proposals/$hash/approvals")
grep -q '"committed": *true' "$T/commit.out" || say "bench: the approval did not commit: $(cat "$T/commit.out")"
row commit "threshold approval to committed block, 1,000 votes" "$(calc "$commit * 1000")" "ms" "verify 1,000 signatures (1 thread)" "$(calc "1000 * 1000 / $cvv1")" "ratio <= 2"

# ---- reads ----
say "bench: reads"
res=$(field "$("$BIN/cvload" --url "$url" -c 64 -d 5 --get /api/results)" ok_per_s)
row reads "GET /api/results, requests/s" "$res" "/s" "nginx + FastCGI hello-world" "$hello" "value >= 15000"
stop "$T/ingest"
flush_row
reads_section "$T/ingest" "$port"
stop "$T/ingest"

# ---- audit ----
audit_section

# ---- secret ballots ----
say "bench: ceilings (P-256 multiplications)"
secret_ceilings
secret_ingest_section
secret_audit_section

# ---- scale ----
say "bench: scale (roll of 1,000 and of $BIG)"
NS=1000
for roll in 1000 "$BIG"; do
	d=$T/roll$roll
	mkdir -p "$d"
	head -n "$roll" "$T/keys.csv" >"$d/roll.csv"
	s0=$(now)
	election_setup "$d" "$d/roll.csv" 1000 8
	s1=$(now)
	eid=$("$BIN/chainvote" open --data "$d/data/election")
	s2=$(now)
	rm -f "$d/roll.csv"
	"$BIN/bench_ceil" votes "$T/keys.bin" "$eid" 3 0 "$NS" "$d/votes"
	port=$(free_port)
	start "$d" "$port"
	lat=$("$BIN/cvload" --url "http://127.0.0.1:$port" -c 4 --post /api/votes --bodies "$d/votes" || true)
	mem=$(worker_mem "$d/data/run/vote.pid")
	stop "$d"
	eval "p50_$roll=$(field "$lat" p50_ms) p99_$roll=$(field "$lat" p99_ms)"
	eval "pss_$roll=${mem% *} rss_$roll=${mem#* }"
	eval "import_$roll=$(calc "$s1 - $s0") open_$roll=$(calc "$s2 - $s1")"
	rm -rf "$d/data/election"
done
eval "p50b=\$p50_$BIG p99b=\$p99_$BIG pssb=\$pss_$BIG rssb=\$rss_$BIG openb=\$open_$BIG importb=\$import_$BIG"
row scale "vote latency p50, roll $BIG (4 connections)" "$p50b" "ms" "p50, roll 1,000" "$p50_1000" "ratio <= 1.2"
row scale "vote latency p99, roll $BIG" "$p99b" "ms" "p99, roll 1,000" "$p99_1000" "ratio <= 1.2"
row scale "vote worker memory (PSS), roll $BIG" "$pssb" "MB" "-" "" "value <= 32"
row scale "vote worker memory (RSS, shared cache pages counted in full), roll $BIG" "$rssb" "MB" "-" "" "-"
row scale "vote worker memory (PSS), roll 1,000" "$pss_1000" "MB" "-" "" "value <= 32"
row scale "genesis sealing (chainvote open), roll $BIG" "$openb" "s" "-" "" "-"
row scale "roll import (chainvote init..voters), roll $BIG" "$importb" "s" "-" "" "-"
fi # BENCH_ONLY=ingest

fi # BENCH_ONLY

# ---- the table and the JSON ----
python3 - "$ROWS" "$T/machine.json" "$JSON" <<'PY'
import json, os, sys
rows, machine, out = sys.argv[1:4]
m = json.load(open(machine))
m["load_at_end"] = os.getloadavg()[0]
figs = []
for line in open(rows):
    sec, name, value, unit, cname, ceil, target = line.rstrip("\n").split("\t")
    value = float(value)
    ceil = float(ceil) if ceil else None
    ratio = value / ceil if ceil else None
    met = None
    if target != "-":
        try:
            met = bool(eval(target, {}, {"value": value, "ratio": ratio}))
        except TypeError:
            print("bench: cannot judge %r: %r" % (name, line), file=sys.stderr)
    figs.append({"section": sec, "figure": name, "value": value, "unit": unit,
                 "ceiling": cname if ceil else None, "ceiling_value": ceil,
                 "ratio": ratio, "target": None if target == "-" else target, "met": met})
def num(v):
    return "%.0f" % v if v >= 100 else "%.3g" % v
print()
print("ChainVote benchmark on %s, %d cores%s, load average %.2f at start, %.2f at end"
      % (m["cpu"], m["cores"], " (SHA-NI)" if m["sha_ni"] else "", m["load_at_start"], m["load_at_end"]))
print()
w = max(len(f["figure"]) for f in figs)
hdr = "%-10s %-*s %14s  %-5s %14s %7s  %-6s %s" % ("section", w, "figure", "value", "unit", "ceiling", "ratio", "target", "")
print(hdr)
print("-" * len(hdr))
for f in figs:
    print("%-10s %-*s %14s  %-5s %14s %7s  %-6s %s" % (
        f["section"], w, f["figure"], num(f["value"]), f["unit"],
        num(f["ceiling_value"]) if f["ceiling_value"] else "",
        "%.3f" % f["ratio"] if f["ratio"] is not None else "",
        {None: "", True: "met", False: "NOT MET"}[f["met"]],
        "(%s%s)" % (f["target"] or "", "; ceiling: " + f["ceiling"] if f["ceiling"] else "") if f["target"] or f["ceiling"] else ""))
json.dump({"machine": m, "figures": figs}, open(out, "w"), indent=1)
print()
print("written: %s" % out)
PY
