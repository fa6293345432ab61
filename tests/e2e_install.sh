#!/bin/sh
# `make install` into a temporary root, then the installed system run as installed:
# every file is in place, no template token is left in the installed nginx.conf or the
# systemd units, and the installed programs behind the installed nginx config (its
# absolute paths moved under the temporary root, its ports free loopback ones) serve
# the pages, the API and, signed in, the administration API over HTTPS with the
# certificate the installed tlscert.sh makes, and port 80 only redirects there.
# Env: BUILD (the build directory make test uses).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
tmp=$(mktemp -d /tmp/cv-install-XXXXXX)
root=$tmp/root
P=$root/usr/local
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
PROGRAMS="chain vote blocks validate register"
passed=0
failed=0
pids=""

ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; [ -f "$tmp/out" ] && sed 's/^/  | /' "$tmp/out" | head -20; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

cleanup() {
	[ -f "$tmp/run/nginx.pid" ] && kill -QUIT "$(cat "$tmp/run/nginx.pid")" 2>/dev/null
	for p in $pids; do kill -TERM "$p" 2>/dev/null; done
	for p in $pids; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		kill -KILL "$p" 2>/dev/null
	done
	sleep 0.2
	# the store's shared memory released before the directory goes (tests/cvtest.py)
	if ! BIN="$P/bin" python3 "$top/tests/cvtest.py" remove-tree "$tmp"; then
		echo "not ok - the store's shared memory is released (no segment left at its keys)"
		rm -rf "$tmp"
		exit 1
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# ---- the files ----
if make -s -C "$top" install BUILD="$BUILD" DESTDIR="$root" PREFIX=/usr/local >"$tmp/out" 2>&1; then
	ok "make install into a temporary root"
else
	not_ok "make install into a temporary root"
	echo "e2e_install: $passed passed, $failed failed"
	exit 1
fi
missing=""
for f in bin/chainvote bin/miner share/chainvote/www/index.html share/chainvote/www/vote.html \
	share/chainvote/www/admin/index.html share/chainvote/conf/nginx.conf \
	share/chainvote/conf/fastcgi.conf share/chainvote/conf/DB_CONFIG \
	lib/systemd/system/chainvote@.service lib/systemd/system/chainvote.target \
	lib/systemd/system/chainvote-validator@.service; do
	[ -s "$P/$f" ] || missing="$missing $f"
done
for p in $PROGRAMS; do [ -x "$P/lib/chainvote/$p.fcgi" ] || missing="$missing lib/chainvote/$p.fcgi"; done
check "every installed file is in place${missing:+ (missing:$missing)}" '[ -z "$missing" ]'
check "no template token is left in the installed nginx.conf" \
	'! grep -n "^[^#]*@[A-Z_]*@" "$P/share/chainvote/conf/nginx.conf" >"$tmp/out"'
check "no template token is left in the systemd units" \
	'! grep -n "@[A-Z_]*@" "$P"/lib/systemd/system/* >"$tmp/out"'
conf=$P/share/chainvote/conf/nginx.conf
unit=$P/lib/systemd/system/chainvote@.service
check "the installed nginx.conf connects to the sockets in /run/chainvote, the units' directory" \
	'grep -q "server unix:/run/chainvote/chain.sock" "$conf" && grep -q "socket /run/chainvote/%i.sock" "$unit"'
check "the units keep /run/chainvote to the programs' user and nginx's group (0750)" \
	'grep -q "^User=chainvote" "$unit" && grep -q "^Group=www-data" "$unit" && grep -q "^RuntimeDirectoryMode=0750" "$unit"'
check "the units make the election's files the programs' own (UMask 0077, state 0750)" \
	'grep -q "^UMask=0077" "$unit" && grep -q "^StateDirectoryMode=0750" "$unit"'
check "the installed nginx.conf has no daemon line (Debian's nginx.service sets it)" \
	'! grep -q "^daemon" "$conf"'
check "the installed nginx.conf runs its workers as www-data with a descriptor limit" \
	'grep -q "^user www-data;" "$conf" && grep -q "^worker_rlimit_nofile [0-9]*;" "$conf"'
exec_path=$(sed -n 's#^ExecStart=\([^ ]*\)%i\.fcgi.*#\1#p' "$P/lib/systemd/system/chainvote@.service")
check "the unit starts the installed programs" '[ -x "$root${exec_path}chain.fcgi" ]'

# ---- the installed config, run ----
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
http_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$tmp/run" "$tmp/log" "$tmp/state/nginx-tmp" "$tmp/etc"
sed -e "s#/run/chainvote#$tmp/run#g" -e "s#/var/log/chainvote#$tmp/log#g" \
	-e "s#/var/lib/chainvote#$tmp/state#g" -e "s#/etc/chainvote#$tmp/etc#g" \
	-e "s#/usr/local/share/chainvote#$P/share/chainvote#g" \
	-e "s#^user .*#user root;#" -e "s#listen 0\.0\.0\.0:443 ssl;#listen 127.0.0.1:$port ssl;#" \
	-e "s#listen 0\.0\.0\.0:80;#listen 127.0.0.1:$http_port;#" -e "s#https://\$host\$request_uri#https://\$host:$port\$request_uri#" \
	"$P/share/chainvote/conf/nginx.conf" >"$tmp/nginx.conf"
check "the installed config serves HTTPS on 443 of every address, moved here to loopback" \
	'grep -q "listen 127.0.0.1:$port ssl;" "$tmp/nginx.conf" && grep -q "ssl_protocols TLSv1.2 TLSv1.3;" "$tmp/nginx.conf"'
check "and port 80 only redirects to HTTPS" \
	'grep -q "listen 127.0.0.1:$http_port;" "$tmp/nginx.conf" && grep -A3 "listen 127.0.0.1:$http_port;" "$tmp/nginx.conf" | grep -q "return 301 https://"'
tls_unit=$P/lib/systemd/system/chainvote-tls.service
check "chainvote-tls.service makes the certificate the installed config names, before nginx" \
	'grep -q "^ExecStart=/usr/local/lib/chainvote/tlscert.sh /var/lib/chainvote/tls " "$tls_unit" &&
	grep -q "^Before=nginx.service" "$tls_unit" && [ -x "$P/lib/chainvote/tlscert.sh" ] &&
	grep -q "ssl_certificate /var/lib/chainvote/tls/cert.pem;" "$P/share/chainvote/conf/nginx.conf" &&
	grep -q "chainvote-tls.service" "$P/lib/systemd/system/chainvote.target"'
sh "$P/lib/chainvote/tlscert.sh" "$tmp/state/tls" localhost 127.0.0.1 >"$tmp/out" 2>&1
check "the installed tlscert.sh makes it, the key 0600, with the note" \
	'[ "$(stat -c %a "$tmp/state/tls/key.pem")" = 600 ] && grep -q "SELF-SIGNED" "$tmp/out"'
check "nginx -t accepts the installed config" '"$NGINX" -t -c "$tmp/nginx.conf" >"$tmp/out" 2>&1'

"$P/bin/chainvote" init --data "$tmp/state/election" --title "Installed" --threshold 2 \
	--difficulty 8 --max-block-votes 4 >"$tmp/out" 2>&1
rc=$?
check "the installed CLI creates an election" '[ $rc -eq 0 ]'
check "encrypted at rest by default: the key made beside it (0600, directory 0700), and said" \
	'[ "$(stat -c %a "$tmp/state/keys/store.key")" = 600 ] &&
	[ "$(stat -c %a "$tmp/state/keys")" = 700 ] && [ -f "$tmp/state/election/regions.id" ] &&
	grep -q "encrypted under the key $tmp/state/keys/store.key" "$tmp/out"'
printf 'install-test\n' >"$tmp/admin-password"
openssl rand 20 | base32 >"$tmp/admin-totp"
"$P/bin/chainvote" admin-init --data "$tmp/state/election" --password-file "$tmp/admin-password" \
	--totp-secret-file "$tmp/admin-totp" >"$tmp/out" 2>&1
rc=$?
check "the installed CLI enrols the admin (otpauth URI, recovery codes)" \
	'[ $rc -eq 0 ] && grep -q "^otpauth-uri: otpauth://totp/" "$tmp/out" && [ "$(grep -c "^recovery-code: " "$tmp/out")" = 10 ]'
for p in $PROGRAMS; do
	"$P/lib/chainvote/$p.fcgi" --socket "$tmp/run/$p.sock" --data "$tmp/state/election" \
		--workers 1 >>"$tmp/log/$p.log" 2>&1 &
	pids="$pids $!"
done
for p in $PROGRAMS; do
	i=0
	while [ ! -S "$tmp/run/$p.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
done
"$NGINX" -c "$tmp/nginx.conf" >"$tmp/out" 2>&1
rc=$?
check "the installed nginx config starts" '[ $rc -eq 0 ]'
url=https://127.0.0.1:$port
curl() { command curl --cacert "$tmp/state/tls/cert.pem" "$@"; }
i=0
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/api/election")" != 000 ] || [ $i -ge 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
code=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://127.0.0.1:$http_port/vote.html")
check "plain HTTP on the installed port 80 redirects to HTTPS ($code)" \
	'[ "$code" = "301 https://127.0.0.1:$port/vote.html" ]'
code=$(curl -s -o "$tmp/page" -w '%{http_code}' "$url/")
check "the installed pages are served (GET / is $code)" '[ "$code" = 200 ] && grep -q "<html" "$tmp/page"'
code=$(curl -s -o "$tmp/out" -w '%{http_code}' "$url/api/election")
check "the installed programs answer the API (GET /api/election is $code in set-up)" \
	'[ "$code" = 409 ] || [ "$code" = 200 ] || [ "$code" = 404 ]'
check "and the answer is JSON" 'python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$tmp/out"'
code=$(curl -s -o /dev/null -w '%{http_code}' "$url/admin/api/election")
check "the administration API wants a signed-in session ($code)" '[ "$code" = 401 ]'
totp=$("$P/bin/chainvote" totp "$tmp/admin-totp")
code=$(curl -s -c "$tmp/jar" -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
	-d "{\"user\":\"admin\",\"password\":\"install-test\",\"code\":\"$totp\"}" "$url/admin/api/session")
check "the admin signs in with the password and the TOTP code ($code)" '[ "$code" = 201 ]'
code=$(curl -s -b "$tmp/jar" -o "$tmp/out" -w '%{http_code}' "$url/admin/api/election")
check "and the administration API answers the session ($code)" '[ "$code" = 200 ] && grep -q Installed "$tmp/out"'

echo "e2e_install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
