#!/bin/sh
# Installs the Debian packages ChainVote builds, runs and tests with, only those missing,
# so that running it again is quick and harmless. tini and supervisor run the container
# (tools/run.sh supervise); util-linux's setpriv, which drops the programs' privileges,
# is in every Debian; sslscan checks the HTTPS set-up from outside (tests/e2e_tls).
# python3-jsonschema checks the API's answers against its OpenAPI description
# (tests/e2e_openapi). Then the tests' npm packages (tests/browser, tests/openapi, each
# from its lockfile) when they are missing or their lockfile changed. Needs root (or sudo).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
pkgs="gcc make pkg-config libdb5.3-dev db5.3-util libjson-c-dev libssl-dev openssl
libfcgi-dev libcurl4-openssl-dev zlib1g-dev curl nginx python3 ca-certificates nodejs npm chromium
clang libclang-rt-14-dev cppcheck clang-tidy valgrind tini supervisor sslscan
python3-jsonschema"
missing=""
for p in $pkgs; do
	# a tool that is already on PATH from elsewhere (node, npm) counts as present
	case "$p" in nodejs) command -v node >/dev/null && continue ;; npm) command -v npm >/dev/null && continue ;; esac
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
if [ -n "$missing" ]; then
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -q
	$SUDO apt-get install -y -q --no-install-recommends $missing
fi
sh "$top/tools/npm-ci.sh" tests/browser tests/openapi
exit 0
