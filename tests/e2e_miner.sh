#!/bin/sh
# The miner against the real nginx and FastCGI programs on a free loopback port
# (tests/e2e_miner.py says what it checks).
exec python3 "$(dirname "$0")/e2e_miner.py"
