#!/usr/bin/env bash
# Builds Framegate's images with podman and prints their sizes.
#
#   images.sh            the services (make images):
#     localhost/framegate-base:bookworm    debootstrap (base.sh; skipped if present)
#     localhost/framegate-python:bookworm  python3 + tini + the non-root user
#     localhost/framegate-{relay,nameko,ingest,review,approval,transcode}:$TAG
#   images.sh dev        the dev overlay's servers (make dev-images):
#     localhost/framegate-dev-{postgres,ferretdb,rabbitmq,s3,cdn}:$TAG
#     (Debian packages + .cache/bin/{ferretdb,versitygw} from deploy/local/install.sh;
#     cdn: nginx with deploy/local/nginx.conf.tmpl, rendered at container start)
#
# Layers are cached by podman: a second run with no change takes seconds, a
# code-only change rebuilds only the final COPY layers.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TAG=${TAG:-dev}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$HERE/containers.conf}
BASE_IMAGE=localhost/framegate-base:bookworm
PYTHON_IMAGE=localhost/framegate-python:bookworm
SERVICES=(relay nameko ingest review approval transcode)
DEV_INFRA=(postgres ferretdb rabbitmq s3 cdn)
CACHE=${FRAMEGATE_CACHE:-$ROOT/.cache}
HLSJS=$CACHE/npm/node_modules/hls.js/dist/hls.min.js

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
started=$(date +%s)
mode=${1:-services}

"$HERE/base.sh"

# Host networking: builds reach the Debian mirror and PyPI the way the host
# does. pip inside the build trusts the host's CA bundle, as it would behind a
# TLS-inspecting proxy: it is staged into the context (.cache/image-build) and
# copied into the build stage only, never into an image. (Not a `-v` mount:
# podman does not reuse cached RUN layers of a build that mounts volumes, so
# every build would reinstall the virtual environment.)
build=(podman build --network=host --layers --pull=never)
revision=(--label org.opencontainers.image.revision="$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)")

size() {
  local image=$1 bytes
  bytes=$(podman image inspect --format '{{.Size}}' "$image")
  printf '  %-42s %6.1f MB\n' "$image" "$(python3 -c "print($bytes / 1e6)")"
}

case $mode in
  services)
    # The review image carries hls.js for its player; make install fetches it.
    if [ ! -f "$HLSJS" ]; then
      log "hls.js is missing ($HLSJS); fetching it"
      "$ROOT/deploy/local/install.sh" npm
    fi
    ca=$CACHE/image-build/ca-certificates.crt
    mkdir -p "$(dirname "$ca")"
    cmp -s /etc/ssl/certs/ca-certificates.crt "$ca" 2>/dev/null || cp /etc/ssl/certs/ca-certificates.crt "$ca"
    log "building $PYTHON_IMAGE"
    "${build[@]}" -q --build-arg BASE_IMAGE="$BASE_IMAGE" -t "$PYTHON_IMAGE" \
      -f "$HERE/python.Containerfile" "$HERE" >/dev/null
    # The build stage (virtual environment) is tagged so that the prune below
    # keeps its layers: untagged, podman would delete them as dangling and
    # every build would reinstall the requirements. It stays on this machine.
    log "building localhost/framegate-build-cache:$TAG (the services' build stage)"
    "${build[@]}" -q --build-arg PYTHON_IMAGE="$PYTHON_IMAGE" --target build \
      --ignorefile "$HERE/containerignore" \
      -t "localhost/framegate-build-cache:$TAG" -f "$HERE/services.Containerfile" "$ROOT" >/dev/null
    for svc in "${SERVICES[@]}"; do
      log "building localhost/framegate-$svc:$TAG"
      "${build[@]}" -q \
        --build-arg PYTHON_IMAGE="$PYTHON_IMAGE" --target "$svc" \
        --ignorefile "$HERE/containerignore" \
        --label org.opencontainers.image.title="framegate-$svc" "${revision[@]}" \
        -t "localhost/framegate-$svc:$TAG" -f "$HERE/services.Containerfile" "$ROOT" >/dev/null
    done
    images=("$BASE_IMAGE" "$PYTHON_IMAGE" "${SERVICES[@]/#/localhost/framegate-}")
    ;;
  dev)
    for bin in ferretdb versitygw; do
      [ -x "$CACHE/bin/$bin" ] || { echo "images.sh: $CACHE/bin/$bin is missing (make install builds it)" >&2; exit 1; }
    done
    for svc in "${DEV_INFRA[@]}"; do
      log "building localhost/framegate-dev-$svc:$TAG"
      "${build[@]}" -q --build-arg BASE_IMAGE="$BASE_IMAGE" --target "$svc" \
        --ignorefile "$HERE/dev-infra/containerignore" \
        --label org.opencontainers.image.title="framegate-dev-$svc" "${revision[@]}" \
        -t "localhost/framegate-dev-$svc:$TAG" -f "$HERE/dev-infra.Containerfile" "$ROOT" >/dev/null
    done
    images=("${DEV_INFRA[@]/#/localhost/framegate-dev-}")
    ;;
  *) echo "usage: $0 [services|dev]" >&2; exit 2 ;;
esac
# Untagged intermediate images from earlier builds only take space.
podman image prune -f >/dev/null 2>&1 || true

echo "Framegate $mode images (built in $(( $(date +%s) - started ))s):"
for image in "${images[@]}"; do
  [[ $image == *:* ]] || image="$image:$TAG"
  size "$image"
done
