#!/bin/sh
# A secret election's set-up and its trustees' key ceremony against the real nginx and
# FastCGI programs on a free loopback port (tests/e2e_ceremony.py says what it checks).
exec python3 "$(dirname "$0")/e2e_ceremony.py"
