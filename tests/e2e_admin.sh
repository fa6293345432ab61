#!/bin/sh
# End-to-end test of the offline administration commands: init, CSV imports, status,
# open, close and export of a data directory, and `chainvote verify` on the export.
# Runs from the repository root with BIN (the chainvote binary's directory) and VECTORS.
set -u
BIN=${BIN:-build/rel/bin}
VECTORS=${VECTORS:-../shared/vectors}
CV="$BIN/chainvote"
tmp=$(mktemp -d /tmp/cv-e2e-admin-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
data="$tmp/data"
passed=0
failed=0

ok() {
	passed=$((passed + 1))
	echo "ok - $1"
}

not_ok() {
	failed=$((failed + 1))
	echo "not ok - $1"
}

# expect STATUS NAME CMD...: runs CMD (stdout to $tmp/out, stderr to $tmp/err) and
# checks its exit status.
expect() {
	want=$1
	name=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" -eq "$want" ]; then
		ok "$name"
	else
		not_ok "$name (exit $got, expected $want)"
		sed 's/^/    /' "$tmp/err" | head -5
	fi
}

# check NAME PYTHON-EXPR: evaluates a Python expression over the JSON in $tmp/out
# (bound to j).
check_json() {
	if python3 -c "import json,sys; j=json.load(open('$tmp/out')); sys.exit(0 if ($2) else 1)" 2>/dev/null; then
		ok "$1"
	else
		not_ok "$1"
		head -c 400 "$tmp/out" | sed 's/^/    /'
	fi
}

if [ ! -x "$CV" ]; then
	echo "e2e_admin: $CV is missing"
	echo "e2e_admin: 0 passed, 1 failed"
	exit 1
fi

# Keys of the reference vectors: validators and voters are public keys (the dict keys).
python3 - "$VECTORS/keys.json" "$tmp" <<'EOF'
import json, sys
k = json.load(open(sys.argv[1]))
out = sys.argv[2]
with open(out + "/validators.csv", "w") as f:
    f.write("key_hex,name\n")
    for i, key in enumerate(sorted(k["validators"])):
        f.write("%s,Validator %d\n" % (key, i + 1))
with open(out + "/voters.csv", "w") as f:
    f.write("# the roll\n")
    for key in sorted(k["voters"])[:4]:
        f.write(key + "\n")
with open(out + "/more_voters.csv", "w") as f:
    for key in sorted(k["voters"])[4:]:
        f.write(key + "\n")
    f.write(sorted(k["voters"])[0] + "\n")   # already on the roll: refuses the file
EOF

printf 'id,name\n1,Ada Lovelace\n2,"Brook, the second"\n3,Cato\n' >"$tmp/candidates.csv"
printf '1,Ada\nx,Broken\n' >"$tmp/bad_candidates.csv"
printf 'voter_id,code\nalice,ALICECODE42\nbob\ncarol\n' >"$tmp/eligible.csv"

# ---- usage and init ----
expect 0 "init --help" "$CV" init --help
expect 2 "init without the required options is a usage error" "$CV" init --data "$data"
expect 2 "init with a non-numeric threshold is a usage error" \
	"$CV" init --data "$data" --title T --threshold two --difficulty 8 --max-block-votes 4
expect 1 "status of a missing data directory is refused" "$CV" status --data "$data"
expect 0 "init creates the election" "$CV" init --data "$data" --title "Board election" \
	--threshold 2 --difficulty 8 --max-block-votes 4 --db-config conf/DB_CONFIG
if [ -f "$data/DB_CONFIG" ]; then ok "init copies DB_CONFIG"; else not_ok "init copies DB_CONFIG"; fi
expect 1 "a second init is refused" "$CV" init --data "$data" --title "Again" \
	--threshold 2 --difficulty 8 --max-block-votes 4
expect 0 "settings changes max-block-votes" "$CV" settings --data "$data" --max-block-votes 5
expect 1 "settings with threshold 1 is refused" "$CV" settings --data "$data" --threshold 1

# ---- imports ----
expect 0 "candidates import (header, quoted name)" "$CV" candidates --data "$data" "$tmp/candidates.csv"
expect 1 "a malformed candidates file is refused" "$CV" candidates --data "$data" "$tmp/bad_candidates.csv"
expect 0 "validators import" "$CV" validators --data "$data" "$tmp/validators.csv"
expect 0 "voters import from stdin" sh -c "'$CV' voters --data '$data' - <'$tmp/voters.csv'"
expect 1 "a voters file with a key already on the roll is refused" \
	"$CV" voters --data "$data" "$tmp/more_voters.csv"
expect 0 "eligible import" "$CV" eligible --data "$data" "$tmp/eligible.csv"
code_re='[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}'
if [ "$(wc -l <"$tmp/out")" -eq 2 ] && grep -Eq "^bob,$code_re\$" "$tmp/out" &&
	grep -Eq "^carol,$code_re\$" "$tmp/out" && ! grep -q alice "$tmp/out"; then
	ok "eligible prints generated codes only, once each"
else
	not_ok "eligible prints generated codes only, once each"
	sed 's/^/    /' "$tmp/out"
fi
expect 1 "a duplicate voter id is refused" sh -c "printf 'alice,XXXX-XXXX-XXXX\n' | '$CV' eligible --data '$data' -"
# codes are normalised (case, spaces and dashes do not matter) and an administrator's
# code needs 40 bits
expect 1 "a weak code is refused" sh -c "printf 'dave,two-2\n' | '$CV' eligible --data '$data' -"
if grep -q "stdin line 1: the code is too easy to guess" "$tmp/err"; then
	ok "the weak code's refusal names the line"
else
	not_ok "the weak code's refusal names the line"
	sed 's/^/    /' "$tmp/err"
fi
expect 0 "a code with spaces is taken" sh -c "printf 'dave,two words here\n' | '$CV' eligible --data '$data' -"
expect 1 "a code of 65 characters is refused" \
	sh -c "printf 'erin,%065d\n' 7 | '$CV' eligible --data '$data' -"
expect 1 "a voter id of 65 characters is refused" \
	sh -c "printf '%065d,CODE\n' 7 | '$CV' eligible --data '$data' -"

# the admin API's formats and messages (lib/store/import.c): JSON by the file name, the row named
printf '{"voters": [{"voter_id": "frank"}]}' >"$tmp/eligible.json"
expect 0 "eligible import from a .json file (the admin API's format)" "$CV" eligible --data "$data" "$tmp/eligible.json"
if grep -Eq "^frank,$code_re\$" "$tmp/out"; then ok "the JSON import prints its generated code"; else not_ok "the JSON import prints its generated code"; fi
expect 1 "an id twice in one file is refused" sh -c "printf 'gina\nhal\ngina\n' | '$CV' eligible --data '$data' -"
if grep -q "stdin line 3: repeats the voter id of line 1; nothing was imported" "$tmp/err"; then
	ok "the refusal names both lines"
else
	not_ok "the refusal names both lines"
	sed 's/^/    /' "$tmp/err"
fi

# ---- voter recovery (set-up only) ----
expect 0 "reissue gives an unused entry a new code" "$CV" reissue --data "$data" bob
if grep -Eq "^bob,$code_re\$" "$tmp/out"; then ok "reissue prints the new code once"; else not_ok "reissue prints the new code once"; fi
expect 0 "reissue takes a chosen code" "$CV" reissue --data "$data" --code "carol code 2024 x" carol
expect 1 "reissue refuses a weak chosen code" "$CV" reissue --data "$data" --code abc123 carol
if grep -q weak_code "$tmp/err"; then ok "the refusal says weak_code"; else not_ok "the refusal says weak_code"; fi
expect 1 "reissue refuses an unknown voter id" "$CV" reissue --data "$data" nobody
expect 1 "revoke refuses an entry with no key" "$CV" revoke --data "$data" dave
if grep -q not_registered "$tmp/err"; then ok "the refusal says not_registered"; else not_ok "the refusal says not_registered"; fi
expect 2 "reissue without a voter id is a usage error" "$CV" reissue --data "$data"
expect 0 "eligible-list" "$CV" eligible-list --data "$data"
if [ "$(head -1 "$tmp/out")" = "voter_id,state,public_key,txid" ] && grep -qx "bob,unused,," "$tmp/out" &&
	[ "$(wc -l <"$tmp/out")" -eq 6 ] && grep -q "5 eligible: 5 unused, 0 registered, 0 voted" "$tmp/err"; then
	ok "eligible-list prints each entry's state and the counts"
else
	not_ok "eligible-list prints each entry's state and the counts"
	sed 's/^/    /' "$tmp/out" "$tmp/err"
fi

expect 0 "status in set-up" "$CV" status --data "$data"
check_json "status shows set-up counts" \
	"j['state'] == 'setup' and j['voters'] == 4 and j['eligible'] == 5 and j['max_block_votes'] == 5 and len(j['candidates']) == 3 and len(j['validators']) == 3 and j['genesis_hash'] is None"
check_json "status keeps the quoted candidate name" "j['candidates'][1]['name'] == 'Brook, the second'"
check_json "the refused files left nothing behind" "[c['id'] for c in j['candidates']] == [1, 2, 3]"

# ---- open, export, close ----
expect 0 "open seals the genesis" "$CV" open --data "$data"
genesis=$(cat "$tmp/out")
if echo "$genesis" | grep -Eq '^[0-9a-f]{64}$'; then ok "open prints the genesis hash"; else not_ok "open prints the genesis hash"; fi
expect 1 "a second open is refused" "$CV" open --data "$data"
expect 1 "candidates after open are refused" "$CV" candidates --data "$data" "$tmp/candidates.csv"
expect 0 "status when open" "$CV" status --data "$data"
check_json "status shows the open election and its genesis" \
	"j['state'] == 'open' and j['genesis_hash'] == '$genesis' and j['tip_height'] == 0"

expect 0 "export to a file" "$CV" export --data "$data" --output "$tmp/chain.json"
expect 0 "the export is JSON" python3 -m json.tool "$tmp/chain.json"
cp "$tmp/chain.json" "$tmp/out"
check_json "the export is the genesis with the roll" \
	"j['format'] == 'chainvote-chain/1' and len(j['blocks']) == 1 and j['blocks'][0]['hash'] == '$genesis' and len(j['blocks'][0]['voters']) == 4"
expect 0 "chainvote verify accepts the export" "$CV" verify "$tmp/chain.json"
expect 0 "export to stdout" "$CV" export --data "$data"
if cmp -s "$tmp/out" "$tmp/chain.json"; then ok "stdout and file exports agree"; else not_ok "stdout and file exports agree"; fi

expect 0 "close" "$CV" close --data "$data"
expect 1 "a second close is refused" "$CV" close --data "$data"
expect 0 "status when closed" "$CV" status --data "$data"
check_json "status shows closed" "j['state'] == 'closed' and j['closed_at'] > 0"

for c in settings candidates validators voters eligible eligible-list reissue revoke open close status export; do
	expect 0 "$c --help" "$CV" "$c" --help
done

echo "e2e_admin: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
