#!/usr/bin/env bash
# Builds every Framegate image with podman and prints their sizes:
#   localhost/framegate-base:bookworm    debootstrap (base.sh; skipped if present)
#   localhost/framegate-python:bookworm  python3 + tini + the non-root user
#   localhost/framegate-{relay,ingest,transcode}:$TAG   the services
# Layers are cached by podman: a second run with no change takes seconds, a
# code-only change rebuilds only the final COPY layers.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TAG=${TAG:-dev}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$HERE/containers.conf}
BASE_IMAGE=localhost/framegate-base:bookworm
PYTHON_IMAGE=localhost/framegate-python:bookworm
SERVICES=(relay ingest transcode)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
started=$(date +%s)

"$HERE/base.sh"

# Host networking: builds reach the Debian mirror and PyPI the way the host
# does. pip inside the build trusts the host's CA bundle (Debian's pip reads
# /etc/ssl/certs), as it would behind a TLS-inspecting proxy; the mount exists
# only while a RUN step runs and is not part of any image.
build=(podman build --network=host --layers --pull=never)

log "building $PYTHON_IMAGE"
"${build[@]}" -q --build-arg BASE_IMAGE="$BASE_IMAGE" -t "$PYTHON_IMAGE" \
  -f "$HERE/python.Containerfile" "$HERE" >/dev/null

for svc in "${SERVICES[@]}"; do
  log "building localhost/framegate-$svc:$TAG"
  "${build[@]}" -q -v /etc/ssl/certs:/etc/ssl/certs:ro \
    --build-arg PYTHON_IMAGE="$PYTHON_IMAGE" --target "$svc" \
    --ignorefile "$HERE/containerignore" \
    --label org.opencontainers.image.title="framegate-$svc" \
    --label org.opencontainers.image.revision="$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)" \
    -t "localhost/framegate-$svc:$TAG" -f "$HERE/services.Containerfile" "$ROOT" >/dev/null
done
# Untagged intermediate images from earlier builds only take space.
podman image prune -f >/dev/null 2>&1 || true

echo "Framegate images (built in $(( $(date +%s) - started ))s):"
for image in "$BASE_IMAGE" "$PYTHON_IMAGE" "${SERVICES[@]/#/localhost/framegate-}"; do
  [[ $image == *:* ]] || image="$image:$TAG"
  size=$(podman image inspect --format '{{.Size}}' "$image")
  printf '  %-40s %6.1f MB\n' "$image" "$(echo "$size / 1000000" | bc -l 2>/dev/null || python3 -c "print($size/1e6)")"
done
