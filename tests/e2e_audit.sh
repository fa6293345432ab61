#!/bin/sh
# The audit log: anonymous refused requests write nothing, approvals are rate limited,
# and a rotation (rename, SIGHUP) moves the next lines to the new file (e2e_audit.py).
exec python3 "$(dirname "$0")/e2e_audit.py"
