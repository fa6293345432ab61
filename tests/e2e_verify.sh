#!/bin/sh
# End-to-end test of `chainvote verify` and `chainvote keygen`: the reference chain is
# valid with its tally, every variant of invalid-chains.json is refused with a problem
# line, the sealed chain is valid and final and every broken seal is refused, stdin works, and a generated key file has the promised shape and mode.
# Env: BIN (directory of chainvote), VECTORS (the reference vectors).
set -u
BIN=${BIN:-build/rel/bin}
VECTORS=${VECTORS:-../shared/vectors}
CV="$BIN/chainvote"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; [ -f "$tmp/out" ] && sed 's/^/  | /' "$tmp/out" | head -20; }

# the reference chain: exit 0, the tally, "valid" last
"$CV" verify "$VECTORS/chain.json" >"$tmp/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -qx 'candidate 1 (Candidate public 1): 2' "$tmp/out" &&
	grep -qx 'candidate 2 (Candidate public 2): 1' "$tmp/out" &&
	grep -qx 'candidate 3 (Candidate public 3): 2' "$tmp/out" &&
	[ "$(tail -n 1 "$tmp/out")" = valid ]; then
	ok "reference chain is valid with its tally"
else
	not_ok "reference chain is valid with its tally (exit $rc)"
fi

# the same from stdin
"$CV" verify - <"$VECTORS/chain.json" >"$tmp/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && [ "$(tail -n 1 "$tmp/out")" = valid ]; then
	ok "verify - reads stdin"
else
	not_ok "verify - reads stdin (exit $rc)"
fi

# every invalid variant: exit 1, at least one "height H: code: ..." line, INVALID last
names=$(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))))' \
	"$VECTORS/invalid-chains.json")
n_variants=0
for name in $names; do
	n_variants=$((n_variants + 1))
	python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1]))[sys.argv[2]], sys.stdout)' \
		"$VECTORS/invalid-chains.json" "$name" >"$tmp/$name.json"
	"$CV" verify "$tmp/$name.json" >"$tmp/out" 2>&1
	rc=$?
	if [ $rc -eq 1 ] && grep -Eq '^height [0-9]+: [a-z_]+: ' "$tmp/out" &&
		tail -n 1 "$tmp/out" | grep -Eq '^INVALID: [0-9]+ problems?$'; then
		ok "invalid chain $name is refused"
	else
		not_ok "invalid chain $name is refused (exit $rc)"
	fi
done
if [ "$n_variants" -eq 13 ]; then ok "13 invalid variants were tried"; else not_ok "13 invalid variants were tried ($n_variants)"; fi

# the sealed chain: valid, the same tally, and final at its close
"$CV" verify "$VECTORS/chain-sealed.json" >"$tmp/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -qx 'candidate 1 (Candidate public 1): 2' "$tmp/out" &&
	grep -qx 'candidate 3 (Candidate public 3): 2' "$tmp/out" &&
	grep -qx 'final: sealed, closed at 1767225755' "$tmp/out" &&
	[ "$(tail -n 1 "$tmp/out")" = valid ]; then
	ok "sealed reference chain is valid and final"
else
	not_ok "sealed reference chain is valid and final (exit $rc)"
fi
"$CV" verify "$VECTORS/chain.json" >"$tmp/out" 2>&1
if grep -qx 'provisional: not sealed' "$tmp/out"; then
	ok "a chain without a seal is reported provisional"
else
	not_ok "a chain without a seal is reported provisional"
fi

# every broken seal rule is refused, each with the rule's own code
for pair in seal_vote_after_seal:sealed seal_twice:sealed seal_not_alone:bad_seal \
	seal_closed_before_vote:late_vote seal_closed_after_closes:bad_seal \
	seal_closed_after_block:bad_seal seal_other_election:bad_seal; do
	name=${pair%%:*}
	code=${pair#*:}
	python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1]))[sys.argv[2]], sys.stdout)' \
		"$VECTORS/invalid-sealed.json" "$name" >"$tmp/$name.json"
	"$CV" verify "$tmp/$name.json" >"$tmp/out" 2>&1
	rc=$?
	if [ $rc -eq 1 ] && grep -Eq "^height [0-9]+: $code: " "$tmp/out" &&
		! grep -q '^final' "$tmp/out" &&
		tail -n 1 "$tmp/out" | grep -Eq '^INVALID: [0-9]+ problems?$'; then
		ok "invalid sealed chain $name is refused ($code)"
	else
		not_ok "invalid sealed chain $name is refused ($code, exit $rc)"
	fi
done
n_sealed=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$VECTORS/invalid-sealed.json")
if [ "$n_sealed" -eq 7 ]; then ok "7 invalid sealed variants exist"; else not_ok "7 invalid sealed variants exist ($n_sealed)"; fi

# a file that is not JSON is a problem, not a crash
printf '{"format": "chainvote-chain/1", "blocks": [] } trailing' >"$tmp/bad.json"
"$CV" verify "$tmp/bad.json" >"$tmp/out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q '^chain: malformed: ' "$tmp/out"; then
	ok "non-JSON input is one malformed problem"
else
	not_ok "non-JSON input is one malformed problem (exit $rc)"
fi

# a service URL: URL/api/chain/export is fetched (a static server stands in)
mkdir -p "$tmp/www/api/chain"
cp "$VECTORS/chain.json" "$tmp/www/api/chain/export"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$tmp/www" "$port" >/dev/null 2>&1 &
server=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do
	python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$port" 2>/dev/null && break
	sleep 0.3
done
"$CV" verify "http://127.0.0.1:$port/" >"$tmp/out" 2>&1
rc=$?
"$CV" verify "http://127.0.0.1:$port/nothing-here" >"$tmp/out404" 2>&1
rc404=$?
kill "$server" 2>/dev/null
wait "$server" 2>/dev/null
if [ $rc -eq 0 ] && [ "$(tail -n 1 "$tmp/out")" = valid ] && [ $rc404 -eq 1 ]; then
	ok "verify URL fetches the export from a service"
else
	not_ok "verify URL fetches the export from a service (exit $rc, $rc404)"
fi

# usage errors exit 2; --help exits 0
"$CV" verify >"$tmp/out" 2>&1
rc1=$?
"$CV" verify a b >"$tmp/out" 2>&1
rc2=$?
"$CV" verify --help >"$tmp/out" 2>&1
rc3=$?
if [ $rc1 -eq 2 ] && [ $rc2 -eq 2 ] && [ $rc3 -eq 0 ] && grep -q '^usage: chainvote verify' "$tmp/out"; then
	ok "verify usage errors exit 2 and --help exits 0"
else
	not_ok "verify usage errors exit 2 and --help exits 0 ($rc1 $rc2 $rc3)"
fi

# keygen to a file: mode 0600, the public key on stderr matches the file
"$CV" keygen -o "$tmp/key.json" 2>"$tmp/pub" >"$tmp/out"
rc=$?
mode=$(stat -c %a "$tmp/key.json" 2>/dev/null)
if [ $rc -eq 0 ] && [ "$mode" = 600 ] &&
	python3 - "$tmp/key.json" "$tmp/pub" <<'EOF'
import base64, json, sys
k = json.load(open(sys.argv[1]))
pub = open(sys.argv[2]).read().strip()
assert k["format"] == "chainvote-key/1", k
assert k["public_key"] == pub and len(pub) == 130 and pub.startswith("04")
jwk = k["private_key"]
assert jwk["kty"] == "EC" and jwk["crv"] == "P-256"
b = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
assert (b"\x04" + b(jwk["x"]) + b(jwk["y"])).hex() == pub
assert len(b(jwk["d"])) == 32
EOF
then
	ok "keygen -o writes a 0600 key file whose public key is printed"
else
	not_ok "keygen -o writes a 0600 key file whose public key is printed (exit $rc, mode $mode)"
fi

# keygen never overwrites
cp "$tmp/key.json" "$tmp/key.before"
"$CV" keygen -o "$tmp/key.json" >"$tmp/out" 2>&1
rc=$?
if [ $rc -ne 0 ] && cmp -s "$tmp/key.json" "$tmp/key.before"; then
	ok "keygen refuses to overwrite a key file"
else
	not_ok "keygen refuses to overwrite a key file (exit $rc)"
fi

# keygen to stdout: two runs give two different keys
k1=$("$CV" keygen 2>/dev/null)
rc=$?
k2=$("$CV" keygen 2>/dev/null)
if [ $rc -eq 0 ] && [ -n "$k1" ] && [ "$k1" != "$k2" ] &&
	printf '%s' "$k1" | python3 -c 'import json,sys; assert json.load(sys.stdin)["format"] == "chainvote-key/1"'; then
	ok "keygen prints a fresh key file on stdout"
else
	not_ok "keygen prints a fresh key file on stdout (exit $rc)"
fi

echo "e2e_verify: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
