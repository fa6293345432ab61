#!/bin/sh
# Validator daemons against the real nginx, FastCGI programs and miner on a free
# loopback port (tests/e2e_validator.py says what it checks).
exec python3 "$(dirname "$0")/e2e_validator.py"
