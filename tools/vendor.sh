#!/bin/sh
# Browser libraries the pages load, vendored into www/vendor/ from the npm registry at
# pinned versions (no build step, no CDN: the pages' CSP allows only 'self'). Run it to
# fetch them again and check that the committed copies are exactly the pinned ones
# (`git status www/vendor` shows nothing after it).
#   qrcode-generator 2.0.4 (MIT, Kazuhiko Arase): dist/qrcode.mjs, the admin page's QR code
#   @noble/curves and @noble/hashes 2.4.0 (MIT, Paul Miller), pinned with their integrity
#   in tools/vendor/package-lock.json: P-256 for the vote page's secret ballots
#   (www/js/ballot.js). Only the ES modules that nist.js needs, and each LICENSE. The one
#   change: the curves' imports of '@noble/hashes/X.js' (a bare name, which a browser
#   resolves only through an import map, i.e. an inline script the CSP forbids) become
#   relative paths to www/vendor/noble-hashes/X.js.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent qrcode-generator@2.0.4 >/dev/null && tar xzf qrcode-generator-2.0.4.tgz)
echo "ea91d7118a5395289170da848b7c6758b996163bfbccf312591ab65a4911b7c0  $tmp/package/dist/qrcode.mjs" |
	sha256sum -c --quiet
mkdir -p "$top/www/vendor/qrcode-generator"
cp "$tmp/package/dist/qrcode.mjs" "$top/www/vendor/qrcode-generator/qrcode.mjs"
echo "vendor: www/vendor/qrcode-generator/qrcode.mjs is qrcode-generator 2.0.4"

# npm ci checks each tarball against the lockfile's sha512 integrity
mkdir "$tmp/noble"
cp "$top/tools/vendor/package.json" "$top/tools/vendor/package-lock.json" "$tmp/noble/"
(cd "$tmp/noble" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
src="$tmp/noble/node_modules/@noble"
curves="nist.js utils.js abstract/curve.js abstract/der.js abstract/fft.js abstract/frost.js
abstract/hash-to-curve.js abstract/modular.js abstract/oprf.js abstract/weierstrass.js LICENSE"
hashes="_md.js _u64.js hmac.js legacy.js sha2.js sha3.js utils.js LICENSE"
rm -rf "$top/www/vendor/noble-curves" "$top/www/vendor/noble-hashes"
mkdir -p "$top/www/vendor/noble-curves/abstract" "$top/www/vendor/noble-hashes"
for f in $hashes; do
	cp "$src/hashes/$f" "$top/www/vendor/noble-hashes/$f"
done
for f in $curves; do
	case "$f" in abstract/*) up="../../" ;; *) up="../" ;; esac
	sed "s#^\(import .* from \)'@noble/hashes/\([a-z0-9_]*\.js\)';#\1'${up}noble-hashes/\2';#" \
		"$src/curves/$f" >"$top/www/vendor/noble-curves/$f"
done
# every import of the copies is relative now, and each resolves to a copied file
if grep -n "^import .*from '@" "$top/www/vendor/noble-curves" -r; then
	echo "vendor: a bare import is left" >&2
	exit 1
fi
v=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$src/curves/package.json")
echo "vendor: www/vendor/noble-curves is @noble/curves $v, www/vendor/noble-hashes @noble/hashes"
