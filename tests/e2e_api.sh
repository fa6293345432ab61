#!/bin/sh
# End-to-end API test: starts the real nginx and FastCGI programs (tools/run.sh) on a
# free loopback port in a temporary directory and drives a whole election over HTTP.
exec python3 "$(dirname "$0")/e2e_api.py"
