#!/bin/sh
# End-to-end test of `chainvote verify` on the governance vectors (docs/GOVERNANCE.md):
# the election with a change of each kind is valid, final, with its tally and every change
# printed; each tampered chain of invalid-chains.json is refused, its first problem at the
# height and with the code the vectors name; the replaced key's approval is named as such.
# Env: BIN (directory of chainvote).
set -u
BIN=${BIN:-build/rel/bin}
DIR=${GOVERNANCE_VECTORS:-docs/vectors/governance}
CV="$BIN/chainvote"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; [ -f "$tmp/out" ] && sed 's/^/  | /' "$tmp/out" | head -20; }

"$CV" verify "$DIR/chain.json" >"$tmp/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && [ "$(tail -n 1 "$tmp/out")" = valid ] &&
	grep -qx 'candidate 1 (Candidate 1): 3' "$tmp/out" &&
	grep -qx 'candidate 2 (Candidate 2): 2' "$tmp/out" &&
	grep -qx 'candidate 3 (Candidate 3): 1' "$tmp/out" &&
	grep -qx 'final: sealed, closed at 1767226360' "$tmp/out"; then
	ok "the governed election is valid and final with its tally"
else
	not_ok "the governed election is valid and final with its tally (exit $rc)"
fi
if grep -qx 'change at height 2, in force from 3, 3 signatures: closes 1767232800' "$tmp/out" &&
	grep -Eqx 'change at height 4, in force from 5, 3 signatures: validator key [0-9a-f]{16}… \(Validator [A-D]\) replaced by [0-9a-f]{16}…' "$tmp/out" &&
	grep -qx 'change at height 6, in force from 7, 3 signatures: difficulty 2' "$tmp/out" &&
	grep -qx 'change at height 8, in force from 9, 3 signatures: closes 1767226360' "$tmp/out"; then
	ok "verify prints each change it saw"
else
	not_ok "verify prints each change it saw"
fi

# each tampered chain: exit 1, its first problem line at the named height and code
names=$(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))))' \
	"$DIR/invalid-chains.json")
n=0
for name in $names; do
	n=$((n + 1))
	python3 - "$DIR/invalid-chains.json" "$name" "$tmp" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))[sys.argv[2]]
json.dump(e["chain"], open(f"{sys.argv[3]}/{sys.argv[2]}.json", "w"))
open(f"{sys.argv[3]}/{sys.argv[2]}.expect", "w").write(f"height {e['height']}: {e['code']}: ")
PY
	"$CV" verify "$tmp/$name.json" >"$tmp/out" 2>&1
	rc=$?
	expect=$(cat "$tmp/$name.expect")
	first=$(grep -E '^(height [0-9]+|chain): ' "$tmp/out" | head -n 1)
	case "$first" in
	"$expect"*) match=1 ;;
	*) match=0 ;;
	esac
	if [ $rc -eq 1 ] && [ $match -eq 1 ] && tail -n 1 "$tmp/out" | grep -Eq '^INVALID: [0-9]+ problems?$'; then
		ok "$name is refused: $expect"
	else
		not_ok "$name is refused: $expect (exit $rc, first: $first)"
	fi
done
if [ "$n" -eq 13 ]; then ok "13 tampered chains were tried"; else not_ok "13 tampered chains were tried ($n)"; fi

# the replaced key's approval is named as such
python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1]))["replaced_key_approving"]["chain"], sys.stdout)' \
	"$DIR/invalid-chains.json" | "$CV" verify - >"$tmp/out" 2>&1
if grep -q '^height 5: not_validator: approval 2: [0-9a-f]*… was replaced by a change: no validator at this height$' "$tmp/out" &&
	grep -q '^height 5: too_few_approvals: ' "$tmp/out"; then
	ok "the old key's approval after the change is refused as replaced"
else
	not_ok "the old key's approval after the change is refused as replaced"
fi

echo "e2e_governance: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
