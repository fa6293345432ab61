#!/bin/sh
# HTTPS beyond loopback against the real nginx and programs (tests/e2e_tls.py says what
# it checks), then the pages in Chromium by a host name over HTTPS (tests/browser/e2e.mjs
# with TLS_LISTEN). Prints "e2e_tls: N passed, N failed".
exec python3 "$(dirname "$0")/e2e_tls.py"
