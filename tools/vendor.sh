#!/bin/sh
# Browser libraries the pages load, vendored into www/vendor/ from the npm registry at
# pinned versions (no build step, no CDN: the pages' CSP allows only 'self'). Run it to
# fetch them again and check that the committed copies are exactly the pinned ones.
#   qrcode-generator 2.0.4 (MIT, Kazuhiko Arase): dist/qrcode.mjs, the admin page's QR code
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
