#!/usr/bin/env bash
# Run the whole test suite (and optionally the demo) on another Debian's QGIS in a Debian root.
#
#   sudo bash scripts/check_debian.sh [SUITE] [--demo] [pytest arguments...]
#
# SUITE: trixie (Debian 13: QGIS 3.40, Python 3.13; the default) or testing (forky: QGIS 3.44,
# Python 3.14), as debootstrap names it.
# Builds (once) a root of that suite with debootstrap from the mirror this machine's apt uses,
# copies the working tree into it, mounts ../shared read-only beside it and runs the README's two
# commands there in a chroot: scripts/test.sh always, scripts/demo.sh with --demo. Both install
# what they need inside the root with apt, so the first run downloads about 1.5 GB and takes
# 10-20 minutes; later runs reuse the root.
# Too heavy for every CI run: run it before a release and after touching the QGIS API.
# Root folder: $SRT_DEBIAN_ROOT (default /var/tmp/srt-debian-SUITE/root). Needs root and debootstrap.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SUITE=trixie
case "${1:-}" in trixie|testing|sid|unstable) SUITE="$1"; shift ;; forky) SUITE=testing; shift ;; esac
ROOT="${SRT_DEBIAN_ROOT:-/var/tmp/srt-debian-$SUITE/root}"
RUN_DEMO=0
if [ "${1:-}" = "--demo" ]; then RUN_DEMO=1; shift; fi

if [ "$(id -u)" -ne 0 ]; then
  echo "check_debian.sh needs root (debootstrap, chroot, mounts): run it with sudo." >&2
  exit 2
fi

apt_mirror() {
  # The Debian mirror this machine's apt already uses (deb822 or one-line format).
  local uri
  uri="$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1 || true)"
  [ -n "$uri" ] || uri="$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -n1 || true)"
  [ -n "$uri" ] || { echo "No Debian mirror found in /etc/apt: set one up first." >&2; exit 2; }
  echo "$uri"
}

ensure_root() {
  command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap
  if [ ! -f "$ROOT/.srt-debootstrap-done" ]; then
    echo "== debootstrap $SUITE into $ROOT"
    mkdir -p "$ROOT"
    debootstrap --variant=minbase --include=ca-certificates,sudo "$SUITE" "$ROOT" "$(apt_mirror)"
    touch "$ROOT/.srt-debootstrap-done"
  fi
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
  # testing's and sid's Release files carry a short Valid-Until; a mirror snapshot outlives it.
  echo 'Acquire::Check-Valid-Until "false";' > "$ROOT/etc/apt/apt.conf.d/99srt-check-valid-until"
  # Trust the same local certificate authorities as this machine (e.g. a TLS-inspecting proxy in
  # front of the package registries), so apt and pip inside the root reach what this machine reaches.
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    mkdir -p "$ROOT/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/"
    chroot "$ROOT" update-ca-certificates >/dev/null
  fi
}

MOUNTS=()
mount_into_root() {
  local source="$1" target="$ROOT$2"; shift 2
  mkdir -p "$target"
  mount "$@" "$source" "$target"
  MOUNTS=("$target" "${MOUNTS[@]}")
}
unmount_all() {
  for target in "${MOUNTS[@]}"; do umount -l "$target" 2>/dev/null || true; done
}
trap unmount_all EXIT

copy_tree() {
  # The working tree as git sees it (tracked and untracked, not ignored), without .venv and caches.
  echo "== copy $REPO into the root"
  rm -rf "$ROOT/srt/main" && mkdir -p "$ROOT/srt/main"
  (cd "$REPO" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) \
    | tar -xf - -C "$ROOT/srt/main"
}

ensure_root
copy_tree
mount_into_root proc /proc -t proc
mount_into_root sysfs /sys -t sysfs
mount_into_root /dev /dev --bind
mount_into_root devpts /dev/pts -t devpts
mount_into_root tmpfs /dev/shm -t tmpfs
if [ -d "$REPO/../shared" ]; then
  mount_into_root "$(cd "$REPO/../shared" && pwd)" /srt/shared --bind -o ro
fi

in_root() {
  chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

echo "== Debian $SUITE ($(cat "$ROOT/etc/debian_version")) in $ROOT"
status=0
if [ "$RUN_DEMO" -eq 1 ]; then
  in_root bash -c 'cd /srt/main && bash scripts/demo.sh /tmp/srt-demo' || status=$?
fi
in_root bash -c 'cd /srt/main && dpkg-query -W qgis python3 python3-numpy 2>/dev/null; bash scripts/test.sh "$@"' \
  bash "$@" || status=$?
exit "$status"
