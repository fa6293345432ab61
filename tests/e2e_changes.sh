#!/bin/sh
# End-to-end test of changes of the parameters in force (docs/GOVERNANCE.md) through the
# real nginx and programs: closes extended, a leaked validator key replaced (its
# approvals refused after the effective height), the difficulty changed, each proposed
# and co-signed with `chainvote change`, offered by the work template alone in its block
# once threshold validators signed, mined and approved; hostile changes refused.
exec python3 "$(dirname "$0")/e2e_changes.py"
