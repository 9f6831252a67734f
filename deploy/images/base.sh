#!/usr/bin/env bash
# Makes localhost/framegate-base:bookworm, a minimal Debian 12 root filesystem
# from debootstrap, and imports it into podman. No registry is involved: the
# packages come from the machine's own Debian mirror. Skipped when the image
# exists (FORCE=1 rebuilds it).
set -euo pipefail

IMAGE=${BASE_IMAGE:-localhost/framegate-base:bookworm}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$(cd "$(dirname "$0")" && pwd)/containers.conf}

if [ "${FORCE:-0}" != 1 ] && podman image exists "$IMAGE"; then
  echo "base image $IMAGE exists; skipping (FORCE=1 rebuilds it)"
  exit 0
fi

sources=/etc/apt/sources.list.d/debian.sources
mirror=$(awk '/^URIs:/{print $2; exit}' "$sources" 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
security=$(awk '/^URIs:/ && /security/{print $2; exit}' "$sources" 2>/dev/null || true)
security=${security:-http://deb.debian.org/debian-security}

rootfs=$(mktemp -d /var/tmp/framegate-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
echo "debootstrap bookworm from $mirror"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
  || { tail -30 "$rootfs.log"; rm -f "$rootfs.log"; exit 1; }
rm -f "$rootfs.log"

# Point apt at updates and security too, so every image stage upgrades to the
# current point release in the same apt-get run that installs its packages.
rm -f "$rootfs/etc/apt/sources.list"
cat > "$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
# Images never keep downloaded packages, docs or man pages.
cat > "$rootfs/etc/apt/apt.conf.d/90framegate" <<'APT'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
APT
cat > "$rootfs/etc/dpkg/dpkg.cfg.d/90framegate" <<'DPKG'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
DPKG
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
       "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
       "$rootfs"/var/log/* "$rootfs"/tmp/*

tar -C "$rootfs" --numeric-owner -c . \
  | podman import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' - "$IMAGE" >/dev/null
echo "imported $IMAGE"
