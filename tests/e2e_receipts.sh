#!/bin/sh
# End-to-end test of receipts: signed acceptances of votes, receipt checks by payload and
# key (a miner's twin signature), and chainvote verify --receipts, against the real system.
exec python3 "$(dirname "$0")/e2e_receipts.py"
