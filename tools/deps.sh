#!/bin/sh
# Installs the Debian packages ChainVote builds and runs with, only those missing, so
# that running it again is quick and harmless. Needs root (or sudo) for apt-get.
set -eu
pkgs="gcc make pkg-config libdb5.3-dev db5.3-util libjson-c-dev libssl-dev openssl
libfcgi-dev libcurl4-openssl-dev curl nginx python3 ca-certificates"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends $missing
