#!/bin/sh
# End-to-end test of `chainvote verify` on a secret election (DESIGN section 6): the
# reference secret chain is valid with its ballot count, seal, trustees and decrypted
# tally, and every variant of secret/invalid-chains.json is refused with a problem line
# naming the expected code (the seal's variants with section 2's seal codes, see
# docs/SECRET.md). Env: BIN (directory of chainvote), VECTORS (the reference vectors).
set -u
BIN=${BIN:-build/rel/bin}
VECTORS=${VECTORS:-../shared/vectors}
exec python3 "$(dirname "$0")/e2e_secret.py" "$BIN/chainvote" "$VECTORS/secret"
