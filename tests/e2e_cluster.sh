#!/bin/sh
# A replication group of three whole nodes on loopback (tools/cluster.sh): the group
# forms, votes round-robin to every node converge to byte-identical exports, the master
# killed under load fails over and rejoins, a master alone answers 503 not_durable
# (e2e_cluster.py; CLUSTER_CHAOS=1 for the longer runs of make cluster-chaos).
exec python3 "$(dirname "$0")/e2e_cluster.py"
