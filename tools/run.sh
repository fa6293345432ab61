#!/bin/sh
# Starts or stops a whole ChainVote system on 127.0.0.1:PORT with its state in DATA:
# the five FastCGI programs, nginx (config rendered from ../nginx.conf) and a miner.
# `start` creates a demo election first unless DATA already holds one (DEMO=0: none).
# Every process it starts is recorded in DATA/run/*.pid; `stop` stops exactly those.
#   usage: tools/run.sh start|stop|status PORT DATA
# Environment: BIN, CGI (binary directories), WORKERS (per program, default 4),
#   MINER=0 (no miner), DEMO=0 (no demo election), RATE_EXEMPT_LOOPBACK=1 (benchmarks).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
action=${1:-start}
PORT=${2:-8080}
DATA=${3:-./var}
mkdir -p "$DATA"
DATA=$(cd "$DATA" && pwd)
RUN=$DATA/run
BIN=${BIN:-$top/build/rel/bin}
CGI=${CGI:-$top/build/rel/cgi}
WORKERS=${WORKERS:-4}
PROGRAMS="chain vote blocks validate register"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

key_of() { sed -n 's/.*"public_key"[^"]*"\([0-9a-f]*\)".*/\1/p' "$1"; }

demo_election() {
	demo=$DATA/demo
	mkdir -p "$demo/validators" "$demo/voters"
	"$BIN/chainvote" init --data "$DATA/election" --title "Demo election" \
		--threshold 2 --difficulty 16 --max-block-votes 64
	printf '1,Alder Party\n2,Birch Alliance\n3,Cedar Union\n' |
		"$BIN/chainvote" candidates --data "$DATA/election" -
	: >"$demo/validators.csv"
	for i in 1 2 3; do
		f=$demo/validators/validator-$i.json
		[ -f "$f" ] || "$BIN/chainvote" keygen -o "$f" 2>/dev/null
		echo "$(key_of "$f"),Validator $i" >>"$demo/validators.csv"
	done
	"$BIN/chainvote" validators --data "$DATA/election" "$demo/validators.csv"
	: >"$demo/voters.csv"
	for i in $(seq -w 1 20); do
		f=$demo/voters/voter-$i.json
		[ -f "$f" ] || "$BIN/chainvote" keygen -o "$f" 2>/dev/null
		key_of "$f" >>"$demo/voters.csv"
	done
	"$BIN/chainvote" voters --data "$DATA/election" "$demo/voters.csv"
	"$BIN/chainvote" open --data "$DATA/election"
}

admin_password() {
	mkdir -p "$DATA/demo"
	if [ ! -s "$DATA/demo/admin-password" ]; then
		(umask 077 && openssl rand -hex 12 >"$DATA/demo/admin-password")
	fi
	pw=$(cat "$DATA/demo/admin-password")
	(umask 077 && printf 'admin:%s\n' "$(openssl passwd -6 "$pw")" >"$RUN/htpasswd")
}

render_nginx() {
	user=$(id -un)
	exempt=""
	[ "${RATE_EXEMPT_LOOPBACK:-0}" = 1 ] && exempt="127.0.0.0/8 1; ::1 1;"
	sed -e "s#@PORT@#$PORT#g" -e "s#@RUN@#$RUN#g" -e "s#@WWW@#$top/www#g" \
		-e "s#@USER@#$user#g" -e "s#@LISTEN@#${LISTEN:-127.0.0.1}#g" -e "s#@RATE_EXEMPT@#$exempt#g" \
		"$top/nginx.conf" >"$RUN/nginx.conf"
	cp "$top/conf/fastcgi.conf" "$RUN/fastcgi.conf"
	"$NGINX" -t -q -p "$RUN" -c "$RUN/nginx.conf"
}

start() {
	BIN=$(cd "$BIN" && pwd)
	CGI=$(cd "$CGI" && pwd)
	mkdir -p "$RUN/tmp"
	if [ ! -d "$DATA/election" ]; then
		mkdir -p "$DATA/election"
		if [ "${DEMO:-1}" = 1 ]; then demo_election; else
			"$BIN/chainvote" status --data "$DATA/election" >/dev/null 2>&1 || true
		fi
	fi
	admin_password
	render_nginx
	# Nothing of ours runs on the store (after a crash, or a kill of everything): run
	# Berkeley DB recovery first, as its documentation asks, so that no process has to
	# join an environment that dead processes left behind.
	running=0
	for p in $PROGRAMS; do alive "$RUN/$p.pid" && running=1; done
	if [ $running = 0 ] && [ -f "$DATA/election/meta.db" ]; then
		"$BIN/chainvote" recover --data "$DATA/election" || { echo "run: recovery of $DATA/election failed" >&2; exit 1; }
	fi
	for p in $PROGRAMS; do
		alive "$RUN/$p.pid" && continue
		rm -f "$RUN/$p.sock"
		"$CGI/$p.fcgi" --socket "$RUN/$p.sock" --data "$DATA/election" \
			--workers "$WORKERS" >>"$RUN/$p.log" 2>&1 &
		echo $! >"$RUN/$p.pid"
	done
	for p in $PROGRAMS; do
		i=0
		while [ ! -S "$RUN/$p.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
		if [ ! -S "$RUN/$p.sock" ]; then
			echo "run: $p did not start; the end of $RUN/$p.log:" >&2
			tail -n 5 "$RUN/$p.log" >&2
			exit 1
		fi
	done
	if alive "$RUN/nginx.pid"; then
		"$NGINX" -p "$RUN" -c "$RUN/nginx.conf" -s reload
	else
		"$NGINX" -p "$RUN" -c "$RUN/nginx.conf"
	fi
	url=http://127.0.0.1:$PORT
	i=0
	# 200, or 404 while no election has been created yet (DEMO=0): the programs answer
	until case $(curl -s -o /dev/null -w '%{http_code}' "$url/api/election") in 200 | 404) true ;; *) false ;; esac do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "run: no answer from $url" >&2; exit 1; }
		sleep 0.1
	done
	if [ "${MINER:-1}" = 1 ] && [ -x "$BIN/miner" ] && ! alive "$RUN/miner.pid"; then
		"$BIN/miner" --url "$url" --threads 1 >>"$RUN/miner.log" 2>&1 &
		echo $! >"$RUN/miner.pid"
	fi
	cat <<MSG
ChainVote is running at $url/
  vote:       $url/vote.html          results:  $url/results.html
  explorer:   $url/explorer.html      validate: $url/validator.html
  admin:      $url/admin/  (user admin, password $(cat "$DATA/demo/admin-password"))
  keys:       validators in $DATA/demo/validators/, voters in $DATA/demo/voters/
  logs:       $RUN/*.log
  stop with:  make stop PORT=$PORT DATA=$DATA
MSG
}

stop() {
	[ -d "$RUN" ] || return 0
	if alive "$RUN/nginx.pid"; then
		kill -QUIT "$(cat "$RUN/nginx.pid")" 2>/dev/null || true
	fi
	for p in miner $PROGRAMS; do
		alive "$RUN/$p.pid" && kill -TERM "$(cat "$RUN/$p.pid")" 2>/dev/null || true
	done
	for p in nginx miner $PROGRAMS; do
		i=0
		while alive "$RUN/$p.pid" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		alive "$RUN/$p.pid" && kill -KILL "$(cat "$RUN/$p.pid")" 2>/dev/null || true
		rm -f "$RUN/$p.pid"
	done
	rm -f "$RUN"/*.sock
}

status() {
	for p in nginx miner $PROGRAMS; do
		if alive "$RUN/$p.pid"; then echo "$p: running ($(cat "$RUN/$p.pid"))"; else echo "$p: stopped"; fi
	done
}

case "$action" in
start) start ;;
stop) stop ;;
status) status ;;
*) echo "usage: $0 start|stop|status PORT DATA" >&2; exit 2 ;;
esac
