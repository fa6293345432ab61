#!/bin/sh
# Short crash-chaos run for the test suite: tests/chaos.py (see there) with 20 seconds
# of load (CHAOS_SECONDS overrides; `make chaos` runs the long one).
CHAOS_SECONDS=${CHAOS_SECONDS:-20} exec python3 "$(dirname "$0")/chaos.py"
