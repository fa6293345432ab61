#!/bin/sh
# Makes a self-signed certificate for HTTPS when the admin named none: DIR/cert.pem and
# DIR/key.pem (ECDSA P-256; the key 0600, the certificate 0644 so that the miner, run as
# another user, can trust it), valid for NAME, localhost and each ADDR (IP addresses), and prints the loud note that browsers warn until a real
# certificate replaces it, with the fingerprints to check it by. Does nothing to a pair
# already there; prints the note again while the pair is still self-signed.
#   usage: tools/tlscert.sh DIR NAME [ADDR...]
# tools/run.sh calls it at start (DIR = DATA/tls); the installed chainvote-tls.service
# at boot (DIR = /var/lib/chainvote/tls).
set -eu
[ $# -ge 2 ] || { echo "usage: $0 DIR NAME [ADDR...]" >&2; exit 2; }
dir=$1
name=$2
shift 2
cert=$dir/cert.pem
key=$dir/key.pem

if [ ! -s "$cert" ] || [ ! -s "$key" ]; then
	mkdir -p "$dir"
	san="DNS:$name,DNS:localhost"
	for a in "$@"; do san="$san,IP:$a"; done
	# written beside and moved into place, so that a start that dies half-way leaves
	# no key without its certificate
	rm -f "$key.new" "$cert.new"
	(umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-sha256 -days 825 -subj "/CN=$name" -addext "subjectAltName=$san" \
		-addext "basicConstraints=critical,CA:FALSE" \
		-addext "extendedKeyUsage=serverAuth" \
		-keyout "$key.new" -out "$cert.new" 2>/dev/null)
	chmod 0600 "$key.new"
	chmod 0644 "$cert.new"
	mv "$key.new" "$key"
	mv "$cert.new" "$cert"
fi

# the note, while the certificate in DIR is the one made here (issuer = subject)
if [ "$(openssl x509 -noout -issuer -in "$cert" | sed 's/^issuer=//')" = \
	"$(openssl x509 -noout -subject -in "$cert" | sed 's/^subject=//')" ]; then
	spki=$(openssl x509 -noout -pubkey -in "$cert" | openssl pkey -pubin -outform der |
		openssl dgst -sha256 -binary | openssl base64)
	fp=$(openssl x509 -noout -fingerprint -sha256 -in "$cert" | sed 's/^[^=]*=//')
	cat >&2 <<NOTE
***************************************************************************************
* HTTPS uses a SELF-SIGNED certificate made here: $cert
* Browsers WILL WARN that the connection is not private until a real certificate
* (e.g. from your CA or Let's Encrypt) replaces it: TLS_CERT=... TLS_KEY=... for
* make run, or the paths in the installed nginx.conf. Voters must not learn to click
* through certificate warnings. Until then, check the certificate by its fingerprint:
*   SHA-256 $fp
*   SPKI sha256 (base64) $spki
* The CLI and the miner trust it with --cacert $cert
***************************************************************************************
NOTE
fi
