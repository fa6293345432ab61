#!/bin/sh
# Hot backup and restore against the real system: tests/e2e_backup.py.
exec python3 "$(dirname "$0")/e2e_backup.py"
