#!/usr/bin/env bash
# Installs what the local stack needs and is missing: Debian packages, the two
# Go-built servers (FerretDB, Versity S3 gateway) into the cache directory, and
# the Python virtual environment from pinned versions. Safe to run again.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${FRAMEGATE_CACHE:-$ROOT/.cache}
BIN=$CACHE/bin
VENV=${FRAMEGATE_VENV:-$ROOT/.venv}
mkdir -p "$BIN"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

debian_packages() {
  local want=(rabbitmq-server ffmpeg nginx-light postgresql chromium chromium-driver poppler-utils)
  local missing=()
  for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
}

ferretdb() {
  [ -x "$BIN/ferretdb" ] && return 0
  log "building FerretDB v1.24.2 (about two minutes the first time)"
  local dir work
  dir=$(go mod download -json github.com/FerretDB/FerretDB@v1.24.2 \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  work=$CACHE/ferretdb-src
  rm -rf "$work"; cp -r "$dir" "$work"; chmod -R u+w "$work"
  # The module zip lacks the version file the binary embeds; without it, it panics.
  echo v1.24.2 > "$work/build/version/version.txt"
  (cd "$work" && go build -o "$BIN/ferretdb.tmp" ./cmd/ferretdb)
  mv "$BIN/ferretdb.tmp" "$BIN/ferretdb"
  rm -rf "$work"
}

versitygw() {
  [ -x "$BIN/versitygw" ] && return 0
  log "building Versity S3 gateway v1.8.0 (about two minutes the first time)"
  GOBIN="$BIN" go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
}

python_env() {
  local stamp=$VENV/.requirements.sha
  local want; want=$(cat "$ROOT/requirements.txt" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  log "creating the Python environment in $VENV"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -r "$ROOT/requirements.txt"
  "$VENV/bin/pip" install -q --no-deps -e "$ROOT"
  echo "$want" > "$stamp"
}

# hls.js for the review player, served by services/review from the cache (no build step).
HLSJS_VERSION=1.7.4
hlsjs() {
  local dir=$CACHE/npm
  local have; have=$(node -p "require('$dir/node_modules/hls.js/package.json').version" 2>/dev/null || true)
  [ "$have" = "$HLSJS_VERSION" ] && return 0
  log "installing hls.js $HLSJS_VERSION into $dir"
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || echo '{"private": true}' > "$dir/package.json"
  npm install --prefix "$dir" --no-audit --no-fund --save-exact "hls.js@$HLSJS_VERSION" >&2
}

case "${1:-all}" in
  debian) debian_packages ;;
  go) ferretdb; versitygw ;;
  python) python_env ;;
  npm) hlsjs ;;
  all) debian_packages; ferretdb; versitygw; python_env; hlsjs ;;
  *) echo "usage: $0 [all|debian|go|python|npm]" >&2; exit 2 ;;
esac
