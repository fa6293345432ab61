#!/bin/sh
# A replication group of NODES whole ChainVote nodes on this machine (docs/ARCHITECTURE.md,
# "Past one machine"): node I serves HTTP on 127.0.0.1:PORT+I-1 with its data in
# DATA/node-I, and its replication port beside it (PORT+NODES+I-1). Each node is
# tools/run.sh with CLUSTER_CONF, its configuration (DATA/node-I/node.conf, the format of
# conf/cluster/node.conf.example). Node 1 creates the group and the demo election; the
# others join it one after the other, each taking its initial copy from the group.
# `add` starts one more node in DATA while the group runs: node N+1 on HTTP_PORT with its
# replication port REP_PORT, named as a peer in no running node's file yet: it joins
# through the others as bootstrap helpers, takes its initial copy from the group by itself
# (repmgr's internal init), and only then do the other nodes' files name it (its URL,
# where they forward writes should it become master; read again by running processes).
# `restore` makes node I again from a backup of its store, after the loss of its disk;
# `remove` takes node I out of the group for good.
#   usage: tools/cluster.sh start NODES PORT DATA | add DATA HTTP_PORT REP_PORT |
#          restore DATA I BACKUP | remove DATA I | stop DATA | status DATA
# Environment: HTTP_PORTS, REP_PORTS (the nodes' ports, space-separated, instead of the
#   consecutive ones), PRIORITIES (the nodes' election priorities, default 100 each;
#   PRIORITY for an added node), STORE_KEY (every node's store is encrypted at rest under
#   a key of its own, DATA/node-I/keys/store.key, made at its first start; STORE_KEY
#   names one key file for every node instead, or none), and what tools/run.sh takes
#   (WORKERS, DIFFICULTY, ...). The miner and the validator daemons run on node 1 only
#   (MINER=0 VALIDATORS=0: nowhere).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
action=${1:-}

# shellcheck disable=SC2086 # the list, split on purpose
nth() { echo $2 | tr ' ' '\n' | sed -n "${1}p"; }

# tools/run.sh ACTION for node directory $2 on HTTP port $3, with its configuration (its
# own store key unless STORE_KEY names one: run.sh's default place, beside its election).
node_run() {
	CLUSTER_CONF=$2/node.conf sh "$top/tools/run.sh" "$1" "$3" "$2"
}

# The files beside the store that are the group's, not in it: the key that signs
# acceptances and the admin's enrolment, copied from node $1 to node $2.
group_files() {
	for f in service-key.json admin-auth.json; do
		[ -f "$1/election/$f" ] && cp -p "$1/election/$f" "$2/election/$f"
	done
	return 0
}

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
		node_run join "$data/node-$i" "$(nth "$i" "$http_ports")" >/dev/null
		echo "node $i in the group"
		i=$((i + 1))
	done
	i=1
	while [ "$i" -le "$nodes" ]; do
		if [ "$i" = 1 ]; then
			node_run start "$data/node-$i" "$(nth "$i" "$http_ports")"
		else
			# one service for the voters: the first node's files beside the store
			group_files "$data/node-1" "$data/node-$i"
			MINER=0 VALIDATORS=0 node_run start "$data/node-$i" "$(nth "$i" "$http_ports")" >/dev/null
			echo "node $i serves http://127.0.0.1:$(nth "$i" "$http_ports")/"
		fi
		i=$((i + 1))
	done
	echo "status: $top/bin/chainvote cluster status --url http://127.0.0.1:$(nth 1 "$http_ports")"
	echo "stop with: make cluster-stop DATA=$data"
}

# The programs of node directory $1 renew their workers, one at a time each (SIGUSR2 to
# every program's supervisor: a worker finishes the request it serves, and its successor
# opens the store anew, learning the group's members as they are now); returns once none
# of the workers that ran before remains (at most a minute).
renew_workers() {
	pids="" before=""
	for p in chain vote blocks validate register; do
		[ -f "$1/run/$p.pid" ] || continue
		pid=$(cat "$1/run/$p.pid")
		kill -0 "$pid" 2>/dev/null || continue
		pids="$pids $pid"
		before="$before $(ps -o pid= --ppid "$pid" | tr '\n' ' ')"
		kill -USR2 "$pid"
	done
	i=0
	while [ $i -lt 600 ]; do
		# shellcheck disable=SC2086 # the lists, split on purpose
		now=" $(for pid in $pids; do ps -o pid= --ppid "$pid"; done | tr '\n' ' ' | tr -s ' ') "
		left=0
		for w in $before; do
			case "$now" in *" $w "*) left=1 ;; esac
		done
		[ $left = 0 ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "cluster: $1: workers still not renewed after a minute" >&2
	return 1
}

port_number() {
	case "$1" in '' | *[!0-9]*) echo "cluster: $2 wants a port number" >&2; exit 2 ;; esac
	if [ "$1" -lt 1 ] || [ "$1" -gt 65535 ]; then echo "cluster: $2 wants 1 to 65535" >&2; exit 2; fi
}

# One more node for the running group in DATA (README, "Adding a node"): the next free
# node-I directory, its file naming every node there as a peer, its replication process
# joined (the initial copy), the group's files, the other nodes' files told its address,
# then its programs and nginx.
add() {
	data=$1 http=$2 rep=$3
	port_number "$http" HTTP_PORT
	port_number "$rep" REP_PORT
	[ -f "$data/node-1/node.conf" ] || { echo "cluster: no group in $data" >&2; exit 2; }
	data=$(cd "$data" && pwd)
	i=1
	while [ -d "$data/node-$i" ]; do i=$((i + 1)); done
	[ "$i" -le 16 ] || { echo "cluster: a group has at most 16 nodes" >&2; exit 2; }
	dir=$data/node-$i
	self="127.0.0.1:$rep http://127.0.0.1:$http"
	for conf in "$data"/node-*/node.conf; do
		if grep -q "^self 127.0.0.1:$rep \|^self [^ ]* http://127.0.0.1:$http\$" "$conf"; then
			echo "cluster: $conf has port $rep or $http already" >&2
			exit 2
		fi
	done
	mkdir -p "$dir"
	{
		echo "# node $i, added to the running group (tools/cluster.sh add)"
		echo "self $self"
		for conf in "$data"/node-*/node.conf; do
			sed -n 's/^self /peer /p' "$conf"
		done
		echo "priority ${PRIORITY:-100}"
	} >"$dir/node.conf.tmp"
	mv "$dir/node.conf.tmp" "$dir/node.conf"
	node_run join "$dir" "$http" >/dev/null
	echo "node $i in the group (its initial copy taken)"
	group_files "$data/node-1" "$dir"
	# Now that it is a member, the other nodes name it: the URL their processes look up
	# when it is master, and a peer to join through at their next start. (Named before
	# it joined, a running node's processes would take it for a helper that is not a
	# member yet.)
	for conf in "$data"/node-*/node.conf "$data"/node-*/election/replication.conf; do
		case "$conf" in "$dir"/*) continue ;; esac
		echo "peer $self" >>"$conf"
	done
	echo "$(cat "$data/http-ports" 2>/dev/null) $http" >"$data/http-ports"
	MINER=0 VALIDATORS=0 node_run start "$dir" "$http" >/dev/null
	echo "node $i serves http://127.0.0.1:$http/"
	# Processes that opened the store before the new site joined may not ship their
	# commits to it nor count its acknowledgements (libdb5.3): every other node's
	# workers are renewed, one at a time, each finishing its request first.
	for other in "$data"/node-*; do
		[ "$other" = "$dir" ] && continue
		renew_workers "$other" && echo "$(basename "$other"): workers renewed"
	done
}

# Node I of the group in DATA made again from a backup of its store (chainvote backup),
# as after the loss of its disk (README, "Replacing a lost node"): its processes
# stopped, what is left of its election moved aside, the backup restored (under the
# node's own store key, which the operator keeps apart from the backups), the group's
# files beside the store copied from another node, and the node started: it rejoins
# and the group brings it up to date from the master's log (or gives it a new initial
# copy when the master no longer has the log it needs).
restore() {
	data=$1 i=$2 backup=$3
	case "$i" in '' | *[!0-9]*) echo "cluster: restore wants a node number" >&2; exit 2 ;; esac
	dir=$data/node-$i
	[ -f "$dir/node.conf" ] || { echo "cluster: no node $i in $data" >&2; exit 2; }
	[ -d "$backup" ] || { echo "cluster: no backup $backup" >&2; exit 2; }
	data=$(cd "$data" && pwd)
	dir=$data/node-$i
	sh "$top/tools/run.sh" stop 0 "$dir"
	if [ -e "$dir/election" ]; then
		aside=$dir/election.before-restore.$(date +%s)
		mv "$dir/election" "$aside"
		echo "node $i: its old election directory is in $aside"
	fi
	# under the node's key: STORE_KEY when one file is every node's, else its own beside
	# its election (the default), or none
	keyopt=""
	[ -n "${STORE_KEY:-}" ] && keyopt="--store-key $STORE_KEY"
	# shellcheck disable=SC2086 # the option and its file, split on purpose
	"${BIN:-$top/build/rel/bin}/chainvote" restore --data "$dir/election" $keyopt "$backup"
	for other in "$data"/node-*; do
		if [ "$other" != "$dir" ] && [ -f "$other/election/service-key.json" ]; then
			group_files "$other" "$dir"
			break
		fi
	done
	# the port its nginx listens on: its own URL's
	port=$(sed -n 's#^self [^ ]* https*://[^:/]*:\([0-9]*\).*#\1#p' "$dir/node.conf")
	# the miner and the validator daemons run on the first node only, as at start
	if [ "$i" = 1 ]; then
		node_run start "$dir" "$port" >/dev/null
	else
		MINER=0 VALIDATORS=0 node_run start "$dir" "$port" >/dev/null
	fi
	echo "node $i restored from $backup and started: it rejoins the group"
}

# Node I of the group in DATA taken out of it for good: stopped, removed from the group's
# membership through a running node (chainvote cluster remove: the quorum and the
# elections no longer count it), forgotten by the other nodes' files, its directory
# moved aside (DATA/removed-node-I.TIME), and the others' workers renewed.
remove() {
	data=$1 i=$2
	case "$i" in '' | *[!0-9]*) echo "cluster: remove wants a node number" >&2; exit 2 ;; esac
	[ -f "$data/node-$i/node.conf" ] || { echo "cluster: no node $i in $data" >&2; exit 2; }
	data=$(cd "$data" && pwd)
	dir=$data/node-$i
	addr=$(sed -n 's/^self \([^ ]*\) .*/\1/p' "$dir/node.conf")
	sh "$top/tools/run.sh" stop 0 "$dir"
	as=""
	[ "$(id -u)" -eq 0 ] && as="setpriv --reuid=chainvote --regid=www-data --clear-groups --no-new-privs --"
	keyopt=""
	[ -n "${STORE_KEY:-}" ] && keyopt="--store-key $STORE_KEY"
	removed=0
	for other in "$data"/node-*; do
		[ "$other" = "$dir" ] && continue
		if [ ! -f "$other/run/replicate.pid" ] ||
			! kill -0 "$(cat "$other/run/replicate.pid")" 2>/dev/null; then
			continue
		fi
		# shellcheck disable=SC2086 # the prefix and the option, split on purpose
		if $as "${BIN:-$top/build/rel/bin}/chainvote" cluster remove --data "$other/election" \
			$keyopt "$addr"; then
			removed=1
			break
		fi
	done
	[ $removed = 1 ] || { echo "cluster: no running node could remove $addr" >&2; exit 1; }
	for conf in "$data"/node-*/node.conf "$data"/node-*/election/replication.conf; do
		case "$conf" in "$dir"/*) continue ;; esac
		grep -v "^peer $addr " "$conf" >"$conf.tmp" || true
		cat "$conf.tmp" >"$conf"
		rm -f "$conf.tmp"
	done
	mv "$dir" "$data/removed-node-$i.$(date +%s)"
	for other in "$data"/node-*; do
		renew_workers "$other" && echo "$(basename "$other"): workers renewed"
	done
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
add) add "${2:-./var-cluster}" "${3:-}" "${4:-}" ;;
restore) restore "${2:-./var-cluster}" "${3:-}" "${4:-}" ;;
remove) remove "${2:-./var-cluster}" "${3:-}" ;;
stop) stop "${2:-./var-cluster}" ;;
status) status "${2:-./var-cluster}" ;;
*) echo "usage: $0 start NODES PORT DATA | add DATA HTTP_PORT REP_PORT | restore DATA I BACKUP | remove DATA I | stop DATA | status DATA" >&2; exit 2 ;;
esac
