#!/usr/bin/env bash
# A Debian 13 root with Python 3.13 and xarray-spatial (the peer of bench_emerging.py), made once.
#
#   sudo bash benchmarks/xrspatial_root.sh            # build (idempotent), print the venv's python
#   sudo bash benchmarks/xrspatial_root.sh run ARGS   # run the venv's python in the root with ARGS
#
# xarray-spatial 0.10 needs Python >= 3.12 (Debian 12 has 3.11), so it lives in its own root: made with
# debootstrap from the mirror this machine's apt uses, trusting the same local certificate
# authorities (as scripts/check_debian13.sh does), with a venv from PyPI inside. The folder
# $SRT_XRS_ROOT (default /var/tmp/srt-trixie-py313) holds nothing else; remove it to start again.
set -euo pipefail

ROOT="${SRT_XRS_ROOT:-/var/tmp/srt-trixie-py313}"
VENV=/opt/xrs
XRS_VERSION="0.10.20"

if [ "$(id -u)" -ne 0 ]; then
  echo "xrspatial_root.sh needs root (debootstrap, chroot): run it with sudo." >&2
  exit 2
fi

apt_mirror() {
  local uri
  uri="$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1 || true)"
  [ -n "$uri" ] || uri="$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -n1 || true)"
  [ -n "$uri" ] || { echo "No Debian mirror found in /etc/apt." >&2; exit 2; }
  echo "$uri"
}

in_root() {
  chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PIP_DISABLE_PIP_VERSION_CHECK=1 NUMBA_CACHE_DIR=/tmp/numba "$@"
}

build() {
  command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap
  if [ ! -f "$ROOT/.srt-debootstrap-done" ]; then
    mkdir -p "$ROOT"
    debootstrap --variant=minbase --include=ca-certificates,python3,python3-venv trixie "$ROOT" "$(apt_mirror)"
    touch "$ROOT/.srt-debootstrap-done"
  fi
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    mkdir -p "$ROOT/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/"
    in_root update-ca-certificates >/dev/null
  fi
  if [ ! -f "$ROOT$VENV/.xrs-$XRS_VERSION" ]; then
    in_root python3 -m venv "$VENV"
    in_root "$VENV/bin/pip" install -q --cert /etc/ssl/certs/ca-certificates.crt "xarray-spatial==$XRS_VERSION"
    touch "$ROOT$VENV/.xrs-$XRS_VERSION"
  fi
}

build
if [ "${1:-}" = "run" ]; then
  shift
  in_root "$VENV/bin/python" "$@"
else
  echo "$ROOT$VENV/bin/python"
fi
