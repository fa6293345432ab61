#!/bin/sh
# Many elections side by side against the real nginx and FastCGI programs on a free
# loopback port (tests/e2e_elections.py says what it checks).
exec python3 "$(dirname "$0")/e2e_elections.py"
