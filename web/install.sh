#!/usr/bin/env bash
# Installs the web map's JavaScript dependencies (MapLibre GL JS and the RTL text plugin, which
# the service serves from web/node_modules; fontnik) with `npm ci` when web/node_modules is
# missing or web/package-lock.json changed since the last install, then builds the label
# glyphs from Debian's Noto fonts (fonts-noto-core) into web/build/fonts (build-glyphs.js;
# nothing to do when they are up to date). Needs Node.js >= 20 with npm.
#   web/install.sh             fails when npm is missing
#   web/install.sh --optional  only warns when npm is missing (the API works without the web map)
set -euo pipefail
cd "$(dirname "$0")"

stamp=node_modules/.dtm-atlas-installed
want=$(sha256sum package-lock.json | cut -d' ' -f1)
glyphs() {
  if ! node build-glyphs.js; then
    echo "web/install.sh: the label glyphs were not built: the web map shows no labels until they are." >&2
    [ "${1:-}" = "--optional" ] || exit 1
  fi
}
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f node_modules/maplibre-gl/package.json ]; then
  glyphs "${1:-}"
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "web/install.sh: npm is not installed, so the web map at / is not (it answers 503 until it is)." >&2
  echo "Install Node.js >= 18 with npm (Debian: apt-get install nodejs npm), then run web/install.sh." >&2
  [ "${1:-}" = "--optional" ] && exit 0
  exit 1
fi
echo "==> installing the web map's JavaScript dependencies (npm ci in web/)"
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
glyphs "${1:-}"
