#!/bin/sh
# make run's secret demo (tools/run.sh) against the real nginx and FastCGI programs on a
# free loopback port (tests/e2e_secretdemo.py says what it checks).
exec python3 "$(dirname "$0")/e2e_secretdemo.py"
