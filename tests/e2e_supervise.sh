#!/bin/sh
# The container's layout without a container: tools/run.sh supervise under tini, a
# killed program master started again, and run.sh's `alive` not fooled by a zombie
# (tests/e2e_supervise.py says what each checks).
exec python3 "$(dirname "$0")/e2e_supervise.py"
