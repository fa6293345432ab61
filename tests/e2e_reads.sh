#!/bin/sh
# Committed data served as nginx serves files: committed blocks cached by nginx and
# answered byte for byte without the program, never a stale 404, 304s, gzip, and the
# export valid across commits (about 15 s; see e2e_reads.py).
exec python3 "$(dirname "$0")/e2e_reads.py"
