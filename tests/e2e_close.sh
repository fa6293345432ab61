#!/bin/sh
# End-to-end test of the final close against the real nginx and programs: after the
# admin's close nothing but the votes pending at it enters the chain (the attack of a
# block with a back-dated vote signed after the close, approved by two validators, is
# refused and the export is byte-identical), then the seal makes the result final.
exec python3 "$(dirname "$0")/e2e_close.py"
