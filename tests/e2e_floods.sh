#!/bin/sh
# A flood of proposals at one height against the real nginx and FastCGI programs on a free
# loopback port (tests/e2e_floods.py says what it checks).
exec python3 "$(dirname "$0")/e2e_floods.py"
