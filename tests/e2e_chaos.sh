#!/bin/sh
# The short crash-chaos run against the real nginx and FastCGI programs on a free
# loopback port (tests/chaos.py says what it checks; `make chaos` runs it longer).
CHAOS_SECONDS=${CHAOS_SECONDS:-20} exec python3 "$(dirname "$0")/chaos.py"
