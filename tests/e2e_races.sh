#!/bin/sh
# End-to-end races tests against the real nginx and FastCGI programs on a free loopback
# port (tests/e2e_races.py says what each checks).
exec python3 "$(dirname "$0")/e2e_races.py"
