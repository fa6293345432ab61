#!/bin/sh
# Starts or stops a whole ChainVote system on LISTEN:PORT with its state in DATA:
# the five FastCGI programs, nginx (config rendered from ../nginx.conf), a miner and the
# demo's validator daemons (`chainvote validator`, one per key in DATA/demo/validators/).
# `start` creates a demo election first unless DATA already holds one: the demo (the
# default election; secret ballots, BALLOTS=open for open ones) and an empty election
# `next` to set up (DEMO=0: neither). The secret demo's validators are its trustees: once
# the service answers, run.sh runs their key ceremony with the CLI (`chainvote trustee`),
# opens the election and casts a few demo ballots; the validator daemons hold the
# trustees' shares and post their decryption shares by themselves after the seal.
# Every process it starts is recorded in DATA/run/*.pid; `stop` stops exactly those.
# `supervise` prepares the same and then runs it all in the foreground under supervisord
# (conf/supervisord.conf), which restarts whatever dies: the container's command.
# Started as root, the programs and the miner run as the system user chainvote (created
# here when missing, group www-data) and nginx's workers as www-data; the sockets are in
# DATA/run/sock, which only they can enter (README, "Trust boundary").
#   usage: tools/run.sh start|join|supervise|stop|status PORT DATA
# Environment: BIN, CGI (binary directories), WORKERS (per program, default 4),
#   VOTE_WORKERS (the vote program's, default 4 x WORKERS up to 64: a vote waits for the
#   log flush its batch shares, not the CPU, so more workers make larger batches),
#   MINER=0 (no miner), DEMO=0 (no demo election), RATE_EXEMPT_LOOPBACK=1 (benchmarks),
#   BALLOTS (the demo's: secret, the default, or open; read only when the demo is made),
#   VALIDATORS (how many of the demo's validator keys sign by themselves as daemons,
#   default 2, the demo's threshold; 0: none, proposals wait for a person), VALIDATOR_INTERVAL
#   (their polling pause in seconds, default 2; 0.5 with DIFFICULTY=0),
#   DIFFICULTY (the demo elections' proof of work in leading zero bits, default 16; 0: an
#   energy-free election, whose validator daemons propose the blocks themselves, in turn,
#   so that with MINER=0 no miner runs at all),
#   LISTEN (address, default 127.0.0.1), DEMO_VOTERS (the demo's voters, default 20),
#   WWW (the directory of the static pages nginx serves, default the repository's www/;
#   the bench serves a copy with the files it measures beside the pages),
#   CLUSTER_CONF (this node's replication configuration, conf/cluster/node.conf.example:
#   the node joins that replication group; `chainvote replicate` runs beside the
#   programs, started first; only the node whose file says `creator` makes the demo).
#   LISTEN (address, default 127.0.0.1), STORE_KEY (encryption at rest: README, "The
#   store key". Unset: a new election's store is encrypted under DATA/keys/store.key,
#   made when missing; an existing one opens under that key, or unencrypted if it was
#   made so. A key file: the same under that file. none: a new store is made
#   unencrypted, the explicit opt-out. A replication group's node (CLUSTER_CONF) is the
#   same: each node its own key, DATA/keys/store.key, unless STORE_KEY names one).
# HTTPS: on 127.0.0.1 the service speaks plain HTTP (a page on localhost is a secure
#   context already); on any other LISTEN it speaks only HTTPS on PORT (plain HTTP there
#   is redirected), with TLS_CERT and TLS_KEY (PEM files, the chain first) when given,
#   else a self-signed certificate made at first start in DATA/tls/ for TLS_NAME
#   (default: this host's name) with a loud note. HTTP_PORT: also a plain-HTTP port that
#   only redirects to HTTPS. TLS_CA: the CA file the miner trusts (self-signed: that
#   certificate); MINER_URL: the address the miner uses (default https://TLS_NAME:PORT
#   with an admin's certificate, the listening address with the self-signed one).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
action=${1:-start}
PORT=${2:-8080}
DATA=${3:-./var}
mkdir -p "$DATA"
DATA=$(cd "$DATA" && pwd)
RUN=$DATA/run
SOCK=$RUN/sock
BIN=${BIN:-$top/build/rel/bin}
CGI=${CGI:-$top/build/rel/cgi}
WORKERS=${WORKERS:-4}
DIFFICULTY=${DIFFICULTY:-16}
BALLOTS=${BALLOTS:-secret}
case "$BALLOTS" in open | secret) ;; *) echo "run: BALLOTS wants secret or open" >&2; exit 2 ;; esac
case "$DIFFICULTY" in '' | *[!0-9]*) echo "run: DIFFICULTY wants 0 to 255" >&2; exit 2 ;; esac
[ "$DIFFICULTY" -le 255 ] || { echo "run: DIFFICULTY wants 0 to 255" >&2; exit 2; }
# energy-free, the daemons propose too: a vote waits about one pause for its proposer
# and one for the approvals
if [ "$DIFFICULTY" = 0 ]; then VALIDATOR_INTERVAL=${VALIDATOR_INTERVAL:-0.5}; fi
VOTE_WORKERS=${VOTE_WORKERS:-$((WORKERS * 4 > 64 ? 64 : WORKERS * 4))}
PROGRAMS="chain vote blocks validate register"
# The store's key: outside DATA/election, so that backups of the election never carry it.
KEYS=$DATA/keys
KEYOPT=""
if [ -n "${STORE_KEY:-}" ]; then KEYOPT="--store-key $STORE_KEY"; fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
SERVICE_USER=chainvote
WEB_USER=www-data

# A PID file's process is alive when it exists and is not a zombie: a program master that
# died but was not reaped yet (its parent is not us) still answers kill -0.
alive() {
	[ -f "$1" ] || return 1
	pid=$(cat "$1")
	kill -0 "$pid" 2>/dev/null || return 1
	[ -r "/proc/$pid/stat" ] || return 0
	# the state is the field after the command name, which is in parentheses
	[ "$(sed -n 's/.*) \(.\).*/\1/p' "/proc/$pid/stat")" != Z ]
}

root() { [ "$(id -u)" -eq 0 ]; }

# The prefix that runs a command as the programs' user: setpriv (util-linux) changes the
# user and group, drops the supplementary groups and forbids gaining privileges again,
# then execs the command (so that $! of `$AS cmd &` is the command's PID). Not root: none.
AS=""
root && AS="setpriv --reuid=$SERVICE_USER --regid=$WEB_USER --clear-groups --no-new-privs --"

# Started as root: the users (idempotent), and each directory owned by the one who needs
# it. The election (with the admin's sign-in file) only for the programs' user (0700);
# the sockets' directory for it and nginx's group (0750).
users_and_owners() {
	if ! root; then
		mkdir -p "$SOCK" "$KEYS"
		chmod 0750 "$SOCK"
		chmod 0700 "$KEYS"
		return 0
	fi
	getent group "$WEB_USER" >/dev/null || groupadd --system "$WEB_USER"
	getent passwd "$WEB_USER" >/dev/null ||
		useradd --system --gid "$WEB_USER" --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin "$WEB_USER"
	getent passwd "$SERVICE_USER" >/dev/null ||
		useradd --system --gid "$WEB_USER" --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin "$SERVICE_USER"
	mkdir -p "$SOCK" "$DATA/election"
	chown "$SERVICE_USER:$WEB_USER" "$SOCK"
	chmod 0750 "$SOCK"
	# an election made or restored by root (chainvote init, restore) becomes the programs'
	chown -R "$SERVICE_USER:$WEB_USER" "$DATA/election"
	chmod 0700 "$DATA/election"
	# the store key (made by root's chainvote init, or by the programs with a new
	# election): the programs' user's alone
	mkdir -p "$KEYS"
	chown -R "$SERVICE_USER:$WEB_USER" "$KEYS"
	chmod 0700 "$KEYS"
	if [ -f "$KEYS/store.key" ]; then chmod 0600 "$KEYS/store.key"; fi
	# a key file named elsewhere (STORE_KEY, made by root's chainvote init): the
	# programs' user's alone too, or they could not read it
	if [ -n "${STORE_KEY:-}" ] && [ "$STORE_KEY" != none ] && [ -f "$STORE_KEY" ]; then
		chown "$SERVICE_USER:$WEB_USER" "$STORE_KEY"
		chmod 0600 "$STORE_KEY"
	fi
	if ! $AS sh -c 'test -w "$1" && test -w "$2" && test -x "$3/chain.fcgi"' _ \
		"$DATA/election" "$SOCK" "$CGI"; then
		echo "run: user $SERVICE_USER cannot reach $DATA/election, $SOCK or $CGI;" \
			"open their parent directories to others (chmod o+x) or move them" >&2
		exit 1
	fi
	if ! setpriv --reuid="$WEB_USER" --regid="$WEB_USER" --clear-groups -- \
		test -r "$top/www/index.html"; then
		echo "run: user $WEB_USER cannot read the pages in $top/www;" \
			"open its parent directories to others (chmod o+x) or move it" >&2
		exit 1
	fi
}

key_of() { sed -n 's/.*"public_key"[^"]*"\([0-9a-f]*\)".*/\1/p' "$1"; }

# The demo election: three candidates, three validators (keys in DATA/demo/validators/),
# twenty voters (DATA/demo/voters/), threshold 2. Open ballots: opened here. Secret
# ballots (quorum 2 of the three validators as trustees): left in set-up with
# DATA/demo/ceremony-pending, for demo_ceremony once the service answers.
demo_election() {
	demo=$DATA/demo
	mkdir -p "$demo/validators" "$demo/voters"
	"$BIN/chainvote" init --data "$DATA/election" $KEYOPT --title "Demo election" \
		--threshold 2 --difficulty "$DIFFICULTY" --max-block-votes 64 --ballots "$BALLOTS"
	printf '1,Alder Party\n2,Birch Alliance\n3,Cedar Union\n' |
		"$BIN/chainvote" candidates --data "$DATA/election" $KEYOPT -
	: >"$demo/validators.csv"
	for i in 1 2 3; do
		f=$demo/validators/validator-$i.json
		[ -f "$f" ] || "$BIN/chainvote" keygen -o "$f" 2>/dev/null
		echo "$(key_of "$f"),Validator $i" >>"$demo/validators.csv"
	done
	"$BIN/chainvote" validators --data "$DATA/election" $KEYOPT "$demo/validators.csv"
	: >"$demo/voters.csv"
	for i in $(seq -w 1 "${DEMO_VOTERS:-20}"); do
		f=$demo/voters/voter-$i.json
		[ -f "$f" ] || "$BIN/chainvote" keygen -o "$f" 2>/dev/null
		key_of "$f" >>"$demo/voters.csv"
	done
	"$BIN/chainvote" voters --data "$DATA/election" $KEYOPT "$demo/voters.csv"
	if [ "$BALLOTS" = secret ]; then
		: >"$demo/ceremony-pending"
	else
		"$BIN/chainvote" open --data "$DATA/election" $KEYOPT
	fi
	# beside the open demo, an empty election to try set-up and registration on
	"$BIN/chainvote" init --data "$DATA/election" $KEYOPT --election next --title "Next election" \
		--threshold 2 --difficulty "$DIFFICULTY" --max-block-votes 64
}

# The demo's admin: a password and a TOTP secret (base32) in DATA/demo/, enrolled in
# the election's directory (chainvote admin-init) when no admin is enrolled there yet;
# the recovery codes it prints are kept beside them. An admin enrolled by hand is left
# as it is.
admin_credentials() {
	mkdir -p "$DATA/demo"
	if [ ! -s "$DATA/demo/admin-password" ]; then
		(umask 077 && openssl rand -hex 12 >"$DATA/demo/admin-password")
	fi
	if [ ! -s "$DATA/demo/admin-totp" ]; then
		(umask 077 && openssl rand 20 | base32 >"$DATA/demo/admin-totp")
	fi
	if [ ! -f "$DATA/election/admin-auth.json" ]; then
		enrolled=$("$BIN/chainvote" admin-init --data "$DATA/election" \
			--password-file "$DATA/demo/admin-password" \
			--totp-secret-file "$DATA/demo/admin-totp") ||
			{ echo "run: chainvote admin-init failed" >&2; exit 1; }
		(umask 077 && printf '%s\n' "$enrolled" |
			sed -n 's/^recovery-code: //p' >"$DATA/demo/admin-recovery-codes")
	fi
}

# The secret demo's key ceremony (README, "Secret elections: the key ceremony"), run here
# for the three trustees, who would each run it on their own machine: each validator key
# posts its trustee entry (its polynomial's coefficients in validator-I.secret), then
# seals its shares to the others and checks theirs until it holds s_j
# (validator-I.share); the admin then opens the election, and voters 16 to 20 cast
# ballots with `chainvote vote` so that the pages have something to show (01 to 15 are
# left for whoever tries the demo). The service must answer. 0, or 1 with the reason on
# stderr; DATA/demo/ceremony-pending is removed once the election is open, and a step
# whose file exists already is skipped when run again.
demo_ceremony() {
	demo=$DATA/demo
	# shellcheck disable=SC2046 # the service options, split on purpose
	set -- $(miner_options)
	for i in 1 2 3; do
		k=$demo/validators/validator-$i
		[ -f "$k.secret" ] && continue
		"$BIN/chainvote" trustee keygen "$@" --key "$k.json" --secret-out "$k.secret" ||
			{ echo "run: trustee $i's keygen failed" >&2; return 1; }
	done
	# every trustee sends its shares in the first round; each then finds all of its own
	for round in 1 2; do
		for i in 1 2 3; do
			k=$demo/validators/validator-$i
			[ -f "$k.share" ] && continue
			rc=0
			"$BIN/chainvote" trustee shares "$@" --key "$k.json" --secret "$k.secret" \
				--share-out "$k.share" >/dev/null || rc=$?
			# 3: shares of other trustees still missing (the next round has them)
			if [ $rc != 0 ] && { [ $rc != 3 ] || [ $round = 2 ]; }; then
				echo "run: trustee $i's shares failed (exit $rc)" >&2
				return 1
			fi
		done
	done
	$AS "$BIN/chainvote" open --data "$DATA/election" $KEYOPT || { echo "run: the open failed" >&2; return 1; }
	rm -f "$demo/ceremony-pending"
	# the roll's last five voters (names as demo_election wrote them) cast ballots
	choices="1 2 1 3 1"
	for v in $(seq -w 1 "${DEMO_VOTERS:-20}" | tail -n 5); do
		c=${choices%% *}
		choices=${choices#* }
		"$BIN/chainvote" vote "$@" --key "$demo/voters/voter-$v.json" \
			--candidate "$c" >/dev/null ||
			{ echo "run: demo voter $v's ballot was refused" >&2; return 1; }
	done
	# the daemons, as the programs' user, read the shares
	if root; then chown -R "$SERVICE_USER:$WEB_USER" "$demo/validators"; fi
	return 0
}

# Waits until the service answers GET /api/election (200, or 404 while no election is
# set up). 0, or 1 after about $1 tenths of a second.
wait_answer() {
	i=0
	until case $($probe/api/election -o /dev/null -w '%{http_code}') in 200 | 404) true ;; *) false ;; esac do
		i=$((i + 1))
		[ $i -lt "$1" ] || return 1
		sleep 0.1
	done
}

# The addresses of this start: url (printed), probe (this machine's curl at the
# service) and admin (where /admin/ answers: this machine's loopback).
addresses() {
	if [ $TLS = 1 ]; then
		url=https://$TLS_NAME:$PORT
		# -k: this only asks whether the programs answer; the certificate may name a
		# host that does not resolve here
		probe="curl -s -k https://$CONNECT:$PORT"
		# /admin/ answers only this machine's loopback (nginx.conf's allow-list)
		admin=https://$CONNECT:$PORT
	else
		url=http://127.0.0.1:$PORT
		probe="curl -s $url"
		admin=$url
	fi
}

LISTEN=${LISTEN:-127.0.0.1}
# Beyond loopback, HTTPS only: the pages need a secure context for WebCrypto.
TLS=1
[ "$LISTEN" = 127.0.0.1 ] && TLS=0
# where this machine's own clients (the start probe, the miner) connect
CONNECT=$LISTEN
case "$LISTEN" in 0.0.0.0 | "*") CONNECT=127.0.0.1 ;; esac
# the name the certificate and the printed addresses use (looked up only for HTTPS)
[ $TLS = 1 ] && [ -z "${TLS_NAME:-}" ] && TLS_NAME=$(hostname -f 2>/dev/null || hostname)

# The certificate: the admin's (TLS_CERT, TLS_KEY, both or neither), else the one made
# in DATA/tls/ (tools/tlscert.sh: kept across starts, with the loud note each time).
certificate() {
	if [ -n "${TLS_CERT:-}${TLS_KEY:-}" ]; then
		if [ -z "${TLS_CERT:-}" ] || [ -z "${TLS_KEY:-}" ]; then
			echo "run: name both TLS_CERT and TLS_KEY, or neither" >&2
			exit 1
		fi
		for f in "$TLS_CERT" "$TLS_KEY"; do
			[ -r "$f" ] || { echo "run: cannot read $f" >&2; exit 1; }
		done
		TLS_CERT=$(cd "$(dirname "$TLS_CERT")" && pwd)/$(basename "$TLS_CERT")
		TLS_KEY=$(cd "$(dirname "$TLS_KEY")" && pwd)/$(basename "$TLS_KEY")
		return 0
	fi
	addrs=127.0.0.1
	[ "$CONNECT" != 127.0.0.1 ] && addrs="$addrs $CONNECT"
	# shellcheck disable=SC2086 # addresses, one word each
	sh "$top/tools/tlscert.sh" "$DATA/tls" "$TLS_NAME" $addrs
	TLS_CERT=$DATA/tls/cert.pem
	TLS_KEY=$DATA/tls/key.pem
	TLS_CA=${TLS_CA:-$TLS_CERT}
}

# The lines marked @MARK@ in nginx.conf, kept (without the mark) or dropped.
mark() {
	if [ "$2" = 1 ]; then printf 's#^\\([[:space:]]*\\)@%s@#\\1#' "$1"; else printf '/^[[:space:]]*@%s@/d' "$1"; fi
}

render_nginx() {
	# nginx ignores `user` when not started as root
	if root; then user="$WEB_USER $WEB_USER"; else user=$(id -un); fi
	exempt=""
	[ "${RATE_EXEMPT_LOOPBACK:-0}" = 1 ] && exempt="127.0.0.0/8 1; ::1 1;"
	ssl="" stapling=0 resolver="" redirect=0
	if [ $TLS = 1 ]; then
		certificate
		ssl=" ssl"
		# OCSP stapling only for a certificate that names a responder, looked up
		# with this machine's first name server
		if [ -n "$(openssl x509 -noout -ocsp_uri -in "$TLS_CERT" 2>/dev/null)" ]; then
			resolver=$(sed -n 's/^nameserver[[:space:]]*\([^[:space:]]*\).*/\1/p' \
				/etc/resolv.conf 2>/dev/null | head -n 1)
			[ -n "$resolver" ] && stapling=1
		fi
		[ -n "${HTTP_PORT:-}" ] && redirect=1
	fi
	sed -e "$(mark TLS $TLS)" -e "$(mark STAPLING $stapling)" -e "$(mark REDIRECT $redirect)" \
		-e "s#@PORT@#$PORT#g" -e "s#@RUN@#$RUN#g" -e "s#@SOCK@#$SOCK#g" -e "s#@WWW@#${WWW:-$top/www}#g" \
		-e "s#@DAEMON@#${1:-on}#g" -e "s#@SSL@#$ssl#g" -e "s#@HTTP_PORT@#${HTTP_PORT:-}#g" \
		-e "s#@TLS_CERT@#${TLS_CERT:-}#g" -e "s#@TLS_KEY@#${TLS_KEY:-}#g" \
		-e "s#@RESOLVER@#$resolver#g" \
		-e "s#@USER@#$user#g" -e "s#@LISTEN@#$LISTEN#g" -e "s#@RATE_EXEMPT@#$exempt#g" \
		"$top/nginx.conf" >"$RUN/nginx.conf"
	cp "$top/conf/fastcgi.conf" "$RUN/fastcgi.conf"
	"$NGINX" -t -q -p "$RUN" -c "$RUN/nginx.conf"
}

# What start and supervise share: the election, the password, the users and owners, the
# nginx config (daemon on|off), and recovery when nothing of ours runs on the store.
prepare() {
	BIN=$(cd "$BIN" && pwd)
	CGI=$(cd "$CGI" && pwd)
	mkdir -p "$RUN/tmp"
	if [ -n "${CLUSTER_CONF:-}" ]; then
		# the node's configuration, where every process that opens the store reads it
		mkdir -p "$DATA/election"
		cp "$CLUSTER_CONF" "$DATA/election/replication.conf"
		grep -q '^[[:space:]]*creator' "$CLUSTER_CONF" || CLUSTER_JOINER=1
	fi
	if [ -n "${CLUSTER_JOINER:-}" ]; then
		: # a joining node's store comes from the group (an initial copy by itself)
	elif [ ! -f "$DATA/election/meta.db" ]; then
		mkdir -p "$DATA/election"
		if [ "${DEMO:-1}" = 1 ]; then demo_election; else
			"$BIN/chainvote" status --data "$DATA/election" $KEYOPT >/dev/null 2>&1 || true
		fi
	fi
	[ -n "${CLUSTER_JOINER:-}" ] || admin_credentials
	users_and_owners
	render_nginx "$1"
	# Nothing of ours runs on the store (after a crash, or a kill of everything): run
	# Berkeley DB recovery first, as its documentation asks, so that no process has to
	# join an environment that dead processes left behind.
	running=0
	for p in replicate $PROGRAMS; do alive "$RUN/$p.pid" && running=1; done
	if [ $running = 0 ] && [ -f "$DATA/election/meta.db" ]; then
		$AS "$BIN/chainvote" recover --data "$DATA/election" $KEYOPT ||
			{ echo "run: recovery of $DATA/election failed" >&2; exit 1; }
	fi
}

# A replicated node's replication process, before the programs: they may open the store
# once it is master, or a replica that holds the group's data (the ready file).
replication_start() {
	[ -n "${CLUSTER_CONF:-}" ] || return 0
	alive "$RUN/replicate.pid" && return 0
	rm -f "$RUN/replication.ready"
	root && chown "$SERVICE_USER:$WEB_USER" "$RUN"
	$AS "$BIN/chainvote" replicate --data "$DATA/election" $KEYOPT --ready "$RUN/replication.ready" \
		>>"$RUN/replicate.log" 2>&1 &
	echo $! >"$RUN/replicate.pid"
	i=0
	while [ ! -f "$RUN/replication.ready" ] && [ $i -lt "${CLUSTER_WAIT:-600}" ]; do
		alive "$RUN/replicate.pid" || break
		sleep 0.1
		i=$((i + 1))
	done
	if [ ! -f "$RUN/replication.ready" ]; then
		echo "run: the replication process did not join its group; the end of $RUN/replicate.log:" >&2
		tail -n 5 "$RUN/replicate.log" >&2
		exit 1
	fi
}

start() {
	prepare on
	replication_start
	for p in $PROGRAMS; do
		alive "$RUN/$p.pid" && continue
		rm -f "$SOCK/$p.sock"
		w=$WORKERS
		[ "$p" = vote ] && w=$VOTE_WORKERS
		$AS "$CGI/$p.fcgi" --socket "$SOCK/$p.sock" --data "$DATA/election" $KEYOPT \
			--workers "$w" >>"$RUN/$p.log" 2>&1 &
		echo $! >"$RUN/$p.pid"
	done
	for p in $PROGRAMS; do
		i=0
		while [ ! -S "$SOCK/$p.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
		if [ ! -S "$SOCK/$p.sock" ]; then
			echo "run: $p did not start; the end of $RUN/$p.log:" >&2
			tail -n 5 "$RUN/$p.log" >&2
			exit 1
		fi
	done
	if alive "$RUN/nginx.pid"; then
		"$NGINX" -p "$RUN" -c "$RUN/nginx.conf" -s reload
	else
		# the committed blocks nginx cached belong to the store as it was: after a
		# restore a height may hold another block
		rm -rf "$RUN/tmp/cache-blocks" "$RUN/tmp/cache-exports"
		"$NGINX" -p "$RUN" -c "$RUN/nginx.conf"
	fi
	addresses
	# 200, or 404 while no election has been created yet (DEMO=0): the programs answer.
	wait_answer 100 || { echo "run: no answer from $url" >&2; exit 1; }
	if [ -f "$DATA/demo/ceremony-pending" ]; then
		demo_ceremony >>"$RUN/ceremony.log" 2>&1 ||
			{ echo "run: the secret demo's key ceremony failed; the end of $RUN/ceremony.log:" >&2
				tail -n 5 "$RUN/ceremony.log" >&2; exit 1; }
	fi
	if [ "${MINER:-1}" = 1 ] && [ -x "$BIN/miner" ] && ! alive "$RUN/miner.pid"; then
		# shellcheck disable=SC2046 # the options, split on purpose
		$AS "$BIN/miner" $(miner_options) --threads 1 >>"$RUN/miner.log" 2>&1 &
		echo $! >"$RUN/miner.pid"
	fi
	validators_start
	cat <<MSG
ChainVote is running at $url/$(https_note)
  vote:       $url/vote.html          results:  $url/results.html
  explorer:   $url/explorer.html      validate: $url/validator.html
  admin:      $admin/admin/  (user admin, password $(cat "$DATA/demo/admin-password" 2>/dev/null || echo "(on the creator node)"),
              code: $BIN/chainvote totp $DATA/demo/admin-totp)
  elections:  $url/ lists them; another one's pages are under $url/e/SLUG/
              (the demo's empty one to set up: $admin/admin/e/next/)
  keys:       validators in $DATA/demo/validators/, voters in $DATA/demo/voters/
  validators: $(validators_note)$(ballots_note)
  logs:       $RUN/*.log
  stop with:  make stop PORT=$PORT DATA=$DATA
MSG
}

# The validator daemons: the first VALIDATORS of the demo's validator keys that exist, each
# recorded in RUN/validator-I.pid with its log in RUN/validator-I.log and its journal
# beside its key (KEY.signed). As root they run as the programs' user, who then owns the
# demo's validator keys and journals.
validators_start() {
	for i in $(validator_indexes); do
		if ! alive "$RUN/validator-$i.pid"; then
			root && chown -R "$SERVICE_USER:$WEB_USER" "$DATA/demo/validators"
			# shellcheck disable=SC2046 # the options, split on purpose
			$AS "$BIN/chainvote" validator $(validator_options "$i") \
				>>"$RUN/validator-$i.log" 2>&1 &
			echo $! >"$RUN/validator-$i.pid"
		fi
	done
}

# The indexes I of the demo's validator keys DATA/demo/validators/validator-I.json that
# sign by themselves: the first VALIDATORS (default 2) that exist.
validator_indexes() {
	i=1
	while [ "$i" -le "${VALIDATORS:-2}" ] && [ -f "$DATA/demo/validators/validator-$i.json" ]; do
		echo "$i"
		i=$((i + 1))
	done
}

# The daemon's options for the demo's validator key I, on one line. A trustee of the
# secret demo (its share file made, or the ceremony to come) also posts its decryption
# share after the seal (--share).
validator_options() {
	k=$DATA/demo/validators/validator-$1
	share=""
	if [ -f "$k.share" ] || [ -f "$DATA/demo/ceremony-pending" ]; then share=" --share $k.share"; fi
	echo "$(miner_options | tr '\n' ' ')--key $k.json --interval ${VALIDATOR_INTERVAL:-2}$share"
}

# The secret demo's word on the tally, for the start message: who posts the decryption
# shares after the close, and what the trustees without a daemon would run.
ballots_note() {
	[ -f "$DATA/demo/validators/validator-1.share" ] || [ -f "$DATA/demo/ceremony-pending" ] || return 0
	posting=0
	for i in $(validator_indexes); do posting=$((posting + 1)); done
	printf '\n  secret:     ballots are encrypted; voters 16-20 cast demo ballots. Close the election\n'
	printf '              (admin page); '
	if [ $posting -ge 2 ]; then
		printf 'the validator daemons, the trustees, post their decryption\n'
		printf '              shares after the seal and the tally appears on the results page'
	else
		printf 'then each trustee posts its decryption share (2 needed):\n'
		printf '              %s trustee decrypt %s--key %s/validator-I.json --share %s/validator-I.share' \
			"$BIN/chainvote" "$(miner_options | tr '\n' ' ')" "$DATA/demo/validators" "$DATA/demo/validators"
	fi
}

# The validator daemons that run, for the start message.
validators_note() {
	names=""
	for f in "$RUN"/validator-*.pid; do
		alive "$f" && names="$names $(basename "$f" .pid)"
	done
	if [ -n "$names" ]; then
		what="sign"
		[ "$DIFFICULTY" = 0 ] && what="propose (difficulty 0, no miner needed) and sign"
		echo "${names# } $what by themselves (VALIDATORS=0: none)"
	else
		echo "none run by themselves: approve on the validate page"
	fi
}

# The PID files' names of the validator daemons started here.
validator_names() {
	for f in "$RUN"/validator-*.pid; do
		[ -f "$f" ] && basename "$f" .pid
	done
	return 0
}

# The miner's --url (and --cacert) for this start.
miner_options() {
	if [ $TLS = 0 ]; then
		echo "--url http://127.0.0.1:$PORT"
		return 0
	fi
	if [ -n "${MINER_URL:-}" ]; then
		echo "--url $MINER_URL"
	elif [ "$TLS_CERT" = "$DATA/tls/cert.pem" ]; then
		echo "--url https://$CONNECT:$PORT"
	else
		echo "--url https://$TLS_NAME:$PORT"
	fi
	[ -n "${TLS_CA:-}" ] && echo "--cacert $TLS_CA"
	return 0
}

https_note() {
	[ $TLS = 1 ] || return 0
	printf '\n  HTTPS with %s' "$TLS_CERT"
	[ "$TLS_CERT" = "$DATA/tls/cert.pem" ] && printf ' (SELF-SIGNED: browsers warn; see above)'
	[ -n "${HTTP_PORT:-}" ] && printf '; http://%s:%s/ redirects here' "$TLS_NAME" "$HTTP_PORT"
	return 0
}

# In the foreground under supervisord: it starts nginx, the programs, the miner and the
# validator daemons from
# RUN/supervisord.conf (conf/supervisord.conf rendered), restarts any that dies, and stops
# them all on SIGTERM. Each program's command records its PID as start does.
supervise() {
	for p in supervisord nginx miner $PROGRAMS; do
		if alive "$RUN/$p.pid"; then echo "run: $p is already running here; stop first" >&2; exit 1; fi
	done
	prepare off
	sed -e "s#@RUN@#$RUN#g" -e "s#@SOCK@#$SOCK#g" -e "s#@DATA@#$DATA#g" -e "s#@CGI@#$CGI#g" \
		-e "s#@BIN@#$BIN#g" -e "s#@WORKERS@#$WORKERS#g" -e "s#@VOTE_WORKERS@#$VOTE_WORKERS#g" \
		-e "s#@NGINX@#$NGINX#g" -e "s#@AS@#$AS#g" -e "s#@PORT@#$PORT#g" -e "s#@KEYOPT@#$KEYOPT#g" \
		-e "s#@MINER_OPTIONS@#$(miner_options | tr '\n' ' ')#g" \
		"$top/conf/supervisord.conf" >"$RUN/supervisord.conf"
	if [ "${MINER:-1}" != 1 ] || [ ! -x "$BIN/miner" ]; then
		sed -i '/^\[program:miner\]/,/^$/d' "$RUN/supervisord.conf"
	fi
	# the validator daemons, each one restarted like the rest (their journals keep them
	# from signing twice across restarts)
	for i in $(validator_indexes); do
		root && chown -R "$SERVICE_USER:$WEB_USER" "$DATA/demo/validators"
		cat >>"$RUN/supervisord.conf" <<EOF

[program:validator-$i]
command=sh -c 'echo \$\$ >$RUN/validator-$i.pid && exec $AS $BIN/chainvote validator $(validator_options "$i")'
autorestart=true
startsecs=1
startretries=20
stopwaitsecs=10
stdout_logfile=$RUN/validator-$i.log
redirect_stderr=true
EOF
	done
	rm -f "$RUN"/*.pid
	rm -rf "$RUN/tmp/cache-blocks" "$RUN/tmp/cache-exports" # as at start: a restored store may differ
	# the secret demo's ceremony needs the service that supervisord is about to start:
	# it runs beside it, once the service answers (its daemons wait for the open)
	if [ -f "$DATA/demo/ceremony-pending" ]; then
		addresses
		(sleep 1 && wait_answer 1200 && demo_ceremony ||
			echo "run: the secret demo's key ceremony failed" >&2) >>"$RUN/ceremony.log" 2>&1 &
	fi
	exec supervisord --nodaemon --configuration "$RUN/supervisord.conf"
}

stop() {
	[ -d "$RUN" ] || return 0
	# supervised: supervisord stops what it runs, and must not restart what we stop
	if alive "$RUN/supervisord.pid"; then
		kill -TERM "$(cat "$RUN/supervisord.pid")" 2>/dev/null || true
		i=0
		while alive "$RUN/supervisord.pid" && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
	fi
	if alive "$RUN/nginx.pid"; then
		kill -QUIT "$(cat "$RUN/nginx.pid")" 2>/dev/null || true
	fi
	validators=$(validator_names)
	for p in $validators miner $PROGRAMS; do
		alive "$RUN/$p.pid" && kill -TERM "$(cat "$RUN/$p.pid")" 2>/dev/null || true
	done
	for p in nginx $validators miner $PROGRAMS; do
		i=0
		while alive "$RUN/$p.pid" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		alive "$RUN/$p.pid" && kill -KILL "$(cat "$RUN/$p.pid")" 2>/dev/null || true
		rm -f "$RUN/$p.pid"
	done
	# the replication process last: the programs' commits wait on its group
	if alive "$RUN/replicate.pid"; then
		kill -TERM "$(cat "$RUN/replicate.pid")" 2>/dev/null || true
		i=0
		while alive "$RUN/replicate.pid" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		alive "$RUN/replicate.pid" && kill -KILL "$(cat "$RUN/replicate.pid")" 2>/dev/null || true
	fi
	rm -f "$RUN/replicate.pid" "$RUN/replication.ready"
	rm -f "$RUN/supervisord.pid" "$SOCK"/*.sock
}

status() {
	for p in supervisord replicate nginx miner $(validator_names) $PROGRAMS; do
		case $p in supervisord | replicate) [ -f "$RUN/$p.pid" ] || continue ;; esac
		if alive "$RUN/$p.pid"; then echo "$p: running ($(cat "$RUN/$p.pid"))"; else echo "$p: stopped"; fi
	done
}

case "$action" in
start) start ;;
join)
	# a replicated node's replication process alone: tools/cluster.sh forms the whole
	# group before any node's programs open the store (they learn its members then)
	[ -n "${CLUSTER_CONF:-}" ] || { echo "run: join needs CLUSTER_CONF" >&2; exit 2; }
	prepare on
	replication_start
	;;
supervise) supervise ;;
stop) stop ;;
status) status ;;
*) echo "usage: $0 start|supervise|stop|status PORT DATA" >&2; exit 2 ;;
esac
