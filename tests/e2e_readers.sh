#!/bin/sh
# Slow readers of a multi-megabyte export, a FastCGI peer that does not read and
# clients that send one byte cost no recovery and do not slow GET /api/election (about
# 60 s; see e2e_readers.py).
exec python3 "$(dirname "$0")/e2e_readers.py"
