#!/bin/sh
# Secret ballots through the service, the chain and the tally against the real nginx and
# FastCGI programs on a free loopback port (tests/e2e_ballots.py says what it checks).
exec python3 "$(dirname "$0")/e2e_ballots.py"
