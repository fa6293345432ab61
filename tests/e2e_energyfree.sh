#!/bin/sh
# The energy-free mode (difficulty 0: the validator daemons propose, no miner) against
# the real nginx and FastCGI programs on a free loopback port (tests/e2e_energyfree.py
# says what it checks).
exec python3 "$(dirname "$0")/e2e_energyfree.py"
