#!/bin/sh
# A replication group of NODES whole ChainVote nodes on this machine (docs/ARCHITECTURE.md,
# "Past one machine"): node I serves HTTP on 127.0.0.1:PORT+I-1 with its data in
# DATA/node-I, and its replication port beside it (PORT+NODES+I-1). Each node is
# tools/run.sh with CLUSTER_CONF, its configuration (DATA/node-I/node.conf, the format of
# conf/cluster/node.conf.example). Node 1 creates the group and the demo election; the
# others join it one after the other, each taking its initial copy from the group.
#   usage: tools/cluster.sh start NODES PORT DATA | stop DATA | status DATA
# Environment: HTTP_PORTS, REP_PORTS (the nodes' ports, space-separated, instead of the
#   consecutive ones), PRIORITIES (the nodes' election priorities, default 100 each), and
#   what tools/run.sh takes (WORKERS, DIFFICULTY, ...). The miner and the validator
#   daemons run on node 1 only (MINER=0 VALIDATORS=0: nowhere).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
action=${1:-}

# shellcheck disable=SC2086 # the list, split on purpose
nth() { echo $2 | tr ' ' '\n' | sed -n "${1}p"; }

start() {
	nodes=$1 port=$2 data=$3
	case "$nodes" in '' | *[!0-9]*) echo "cluster: NODES wants a number" >&2; exit 2 ;; esac
	if [ "$nodes" -lt 1 ] || [ "$nodes" -gt 16 ]; then
		echo "cluster: NODES wants 1 to 16" >&2
		exit 2
	fi
	mkdir -p "$data"
	data=$(cd "$data" && pwd)
	http_ports=${HTTP_PORTS:-} rep_ports=${REP_PORTS:-}
	i=1
	while [ "$i" -le "$nodes" ]; do
		[ -n "${HTTP_PORTS:-}" ] || http_ports="$http_ports $((port + i - 1))"
		[ -n "${REP_PORTS:-}" ] || rep_ports="$rep_ports $((port + nodes + i - 1))"
		i=$((i + 1))
	done
	i=1
	while [ "$i" -le "$nodes" ]; do
		dir=$data/node-$i
		mkdir -p "$dir"
		{
			echo "# node $i of $nodes (tools/cluster.sh)"
			echo "self 127.0.0.1:$(nth "$i" "$rep_ports") http://127.0.0.1:$(nth "$i" "$http_ports")"
			j=1
			while [ "$j" -le "$nodes" ]; do
				[ "$j" != "$i" ] &&
					echo "peer 127.0.0.1:$(nth "$j" "$rep_ports") http://127.0.0.1:$(nth "$j" "$http_ports")"
				j=$((j + 1))
			done
			echo "priority $(nth "$i" "${PRIORITIES:-}" | grep . || echo 100)"
			[ "$i" = 1 ] && echo creator
		} >"$dir/node.conf"
		i=$((i + 1))
	done
	echo "$http_ports" >"$data/http-ports"
	# First the group: each node's replication process joins in turn (node 1 creates it
	# with the demo election; each other one takes its initial copy). Then the programs
	# and nginx of every node, which learn the group's members as they open the store.
	i=1
	while [ "$i" -le "$nodes" ]; do
		CLUSTER_CONF=$data/node-$i/node.conf sh "$top/tools/run.sh" join \
			"$(nth "$i" "$http_ports")" "$data/node-$i" >/dev/null
		echo "node $i in the group"
		i=$((i + 1))
	done
	i=1
	while [ "$i" -le "$nodes" ]; do
		if [ "$i" = 1 ]; then
			CLUSTER_CONF=$data/node-$i/node.conf sh "$top/tools/run.sh" start \
				"$(nth "$i" "$http_ports")" "$data/node-$i"
		else
			# one service for the voters: the key that signs acceptances (and the
			# admin's enrolment) are the group's, the first node's (files beside
			# the store, not in it)
			for f in service-key.json admin-auth.json; do
				[ -f "$data/node-1/election/$f" ] &&
					cp -p "$data/node-1/election/$f" "$data/node-$i/election/$f"
			done
			CLUSTER_CONF=$data/node-$i/node.conf MINER=0 VALIDATORS=0 \
				sh "$top/tools/run.sh" start "$(nth "$i" "$http_ports")" "$data/node-$i" >/dev/null
			echo "node $i serves http://127.0.0.1:$(nth "$i" "$http_ports")/"
		fi
		i=$((i + 1))
	done
	echo "status: $top/bin/chainvote cluster status --url http://127.0.0.1:$(nth 1 "$http_ports")"
	echo "stop with: make cluster-stop DATA=$data"
}

stop() {
	data=$1
	[ -d "$data" ] || return 0
	# the replicas first: the master stays while they leave
	i=16
	while [ "$i" -ge 1 ]; do
		[ -d "$data/node-$i" ] && sh "$top/tools/run.sh" stop 0 "$data/node-$i"
		i=$((i - 1))
	done
	return 0
}

status() {
	for dir in "$1"/node-*; do
		[ -d "$dir" ] || continue
		echo "$(basename "$dir"):"
		sh "$top/tools/run.sh" status 0 "$dir" | sed 's/^/  /'
	done
}

case "$action" in
start) start "${2:-3}" "${3:-8080}" "${4:-./var-cluster}" ;;
stop) stop "${2:-./var-cluster}" ;;
status) status "${2:-./var-cluster}" ;;
*) echo "usage: $0 start NODES PORT DATA | stop DATA | status DATA" >&2; exit 2 ;;
esac
