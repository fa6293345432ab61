#!/bin/sh
# The admin's sign-in (password and TOTP, sessions, recovery codes, lockout) against the
# real nginx and register program on a free loopback port (tests/e2e_mfa.py says what
# each checks).
exec python3 "$(dirname "$0")/e2e_mfa.py"
