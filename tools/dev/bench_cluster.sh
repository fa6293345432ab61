#!/bin/sh
# `make bench-cluster`: durable votes/s of a replication group of three nodes beside one
# node, in the same run on this machine (docs/BENCH.md). Each system gets the same
# election shape and its own pre-signed votes, posted by cvload with 64 connections for
# BENCH_CLUSTER_SECONDS (default 10): to the single node, to the group's master, and to a
# replica (which forwards each vote to the master). A vote counts when it was answered
# 2xx, which in the group means a quorum of the nodes has it on disk. Every system runs
# on free loopback ports in a temporary directory and is stopped at the end.
#   usage: BUILD=build sh tools/dev/bench_cluster.sh
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
BIN=$BUILD/rel/bin
CGI=$BUILD/rel/cgi
S=${BENCH_CLUSTER_SECONDS:-10}
NV=${BENCH_CLUSTER_VOTES:-20000}
T=$(mktemp -d /tmp/chainvote-bench-cluster.XXXXXX)
chmod 711 "$T"
export BIN CGI
for b in chainvote cvload bench_ceil; do
	[ -x "$BIN/$b" ] || { echo "bench: $BIN/$b is missing; run make first" >&2; exit 1; }
done

cleanup() {
	sh "$top/tools/run.sh" stop 0 "$T/single" >/dev/null 2>&1 || true
	sh "$top/tools/cluster.sh" stop "$T/group" >/dev/null 2>&1 || true
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
key_of() { sed -n 's/.*"public_key"[^"]*"\([0-9a-f]*\)".*/\1/p' "$1"; }

# election DIR ROLL.csv: an open election in DIR (an election directory); prints its id
election() {
	"$BIN/chainvote" init --data "$1" --title "Benchmark" --threshold 2 --difficulty 0 \
		--max-block-votes 1000 >/dev/null
	printf '1,Alder\n2,Birch\n3,Cedar\n' | "$BIN/chainvote" candidates --data "$1" - >/dev/null
	: >"$T/validators.csv"
	for i in 1 2 3; do
		[ -f "$T/val$i.json" ] || "$BIN/chainvote" keygen -o "$T/val$i.json" 2>/dev/null
		echo "$(key_of "$T/val$i.json"),Validator $i" >>"$T/validators.csv"
	done
	"$BIN/chainvote" validators --data "$1" "$T/validators.csv" >/dev/null
	"$BIN/chainvote" voters --data "$1" "$2" >/dev/null
	"$BIN/chainvote" open --data "$1"
}

# post URL VOTES: durable votes/s
post() {
	field "$("$BIN/cvload" --url "$1" -c 64 -d "$S" --post /api/votes --bodies "$2" || true)" ok_per_s
}

echo "bench-cluster: keys and votes" >&2
"$BIN/bench_ceil" keys "$((3 * NV))" "$T/keys.bin" "$T/keys.csv" >/dev/null

echo "bench-cluster: one node" >&2
mkdir -p "$T/single"
eid=$(election "$T/single/election" "$T/keys.csv")
"$BIN/bench_ceil" votes "$T/keys.bin" "$eid" 3 0 "$NV" "$T/single.votes" >/dev/null
port=$(free_port)
RATE_EXEMPT_LOOPBACK=1 MINER=0 DEMO=0 VALIDATORS=0 sh "$top/tools/run.sh" start "$port" "$T/single" >/dev/null
single=$(post "http://127.0.0.1:$port" "$T/single.votes")
sh "$top/tools/run.sh" stop 0 "$T/single" >/dev/null

echo "bench-cluster: a group of three nodes" >&2
mkdir -p "$T/group/node-1"
eid=$(election "$T/group/node-1/election" "$T/keys.csv")
"$BIN/bench_ceil" votes "$T/keys.bin" "$eid" 3 0 "$((2 * NV))" "$T/group.votes" >/dev/null
head -n "$NV" "$T/group.votes" >"$T/master.votes"
tail -n "$NV" "$T/group.votes" >"$T/replica.votes"
ports="" reps=""
for i in 1 2 3; do ports="$ports $(free_port)"; reps="$reps $(free_port)"; done
HTTP_PORTS=$ports REP_PORTS=$reps RATE_EXEMPT_LOOPBACK=1 MINER=0 DEMO=0 VALIDATORS=0 \
	BALLOTS=open sh "$top/tools/cluster.sh" start 3 0 "$T/group" >/dev/null
p1=$(echo "$ports" | awk '{print $1}')
p2=$(echo "$ports" | awk '{print $2}')
master=$(post "http://127.0.0.1:$p1" "$T/master.votes")
replica=$(post "http://127.0.0.1:$p2" "$T/replica.votes")

printf '%-58s %10s\n' "figure (64 connections, ${S} s each)" "votes/s"
printf '%-58s %10s\n' "one node: durable votes/s" "$single"
printf '%-58s %10s\n' "3-node group, to the master: quorum-durable votes/s" "$master"
printf '%-58s %10s\n' "3-node group, to a replica (forwarded): votes/s" "$replica"
python3 -c "print('%-58s %10.2f' % ('group / one node (to the master)', $master / $single if $single else 0))"
