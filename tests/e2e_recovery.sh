#!/bin/sh
# Voter recovery through the real nginx and programs: the admin's list of eligibility
# entries with their states, codes reissued, keys revoked, the refusals, the audit
# lines and the CLI's side (e2e_recovery.py).
exec python3 "$(dirname "$0")/e2e_recovery.py"
