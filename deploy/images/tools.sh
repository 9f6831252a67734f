#!/usr/bin/env bash
# Installs what building and checking the images and manifests needs, when it
# is missing: podman, runc, debootstrap, promtool (Debian), kustomize (Go, into
# the cache directory) and the pinned Python checkers (into .venv). Safe to run
# again: each part checks first and returns at once when nothing is missing.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${FRAMEGATE_CACHE:-$ROOT/.cache}/bin
VENV=${FRAMEGATE_VENV:-$ROOT/.venv}
KUSTOMIZE_VERSION=v5.8.0   # v5.8.3 needs a newer Go than Debian 12 machines have
mkdir -p "$BIN"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo

missing_debs() {
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

debian_packages() {
  local missing; missing=$(missing_debs podman runc catatonit debootstrap prometheus)
  [ -z "$missing" ] && return 0
  log "installing Debian packages: $(echo $missing)"
  $sudo apt-get update -q
  # --no-install-recommends: we want promtool from `prometheus`, not its
  # exporters; the package starts no server without an init system. podman
  # only recommends catatonit, but `kube play` needs it for the pod's pause
  # container.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing
}

kustomize() {
  if [ -x "$BIN/kustomize" ] && "$BIN/kustomize" version 2>/dev/null | grep -q "$KUSTOMIZE_VERSION"; then
    return 0
  fi
  log "building kustomize $KUSTOMIZE_VERSION into $BIN"
  GOBIN="$BIN" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
}

python_checkers() {
  local req=$ROOT/deploy/requirements-deploy.txt stamp=$VENV/.requirements-deploy.sha want
  want=$(sha256sum "$req" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  log "installing $(basename "$req") into $VENV"
  "$VENV/bin/pip" install -q -r "$req"
  echo "$want" > "$stamp"
}

# tools.sh [debian] [kustomize] [python]: the named parts, or all of them.
parts=("$@"); [ ${#parts[@]} -gt 0 ] || parts=(debian kustomize python)
for part in "${parts[@]}"; do
  case $part in
    debian) debian_packages ;;
    kustomize) kustomize ;;
    python) python_checkers ;;
    *) echo "tools.sh: unknown part $part (debian, kustomize, python)" >&2; exit 2 ;;
  esac
done
