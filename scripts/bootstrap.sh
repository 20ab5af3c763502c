#!/usr/bin/env bash
# Shared set-up, sourced by demo.sh and test.sh: Debian packages, the test venv, headless env.
# Idempotent: installs only what is missing.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON=/usr/bin/python3   # the system Python that QGIS's bindings are built for
QGIS_PROCESS=/usr/bin/qgis_process.bin   # /usr/bin/qgis_process passes --noversioncheck and fails

# What the plugin and the demo need (the same names on Debian 12 and Debian 13).
RUNTIME_PACKAGES=(
  qgis python3-qgis qgis-providers
  python3-numpy python3-scipy python3-networkx
  python3-psycopg2   # the PostgreSQL/PostGIS archive (python3-qgis depends on it already)
)
# What only the tests need: reference libraries, the MQTT broker, a virtual screen, Qt's lrelease.
TEST_PACKAGES=(
  python3-libpysal python3-geopandas python3-paho-mqtt
  python3-venv python3-pip qttools5-dev-tools
  mosquitto xvfb xauth
  chromium   # opens the HTML report in tests (tests/test_report.py)
  poppler-utils   # pdfinfo, pdfimages: the report's PDF pages and image resolution (test_report_desktop, test_pyqt6_check)
  postgresql-postgis   # PostgreSQL + PostGIS (Debian 12: postgresql-15-postgis-3) for a throwaway test server
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Install RUNTIME_PACKAGES plus the packages named as arguments, only those missing.
# Waits up to 10 minutes for another apt or dpkg that holds the lock instead of failing at once.
ensure_apt_packages() {
  local missing=()
  for pkg in "${RUNTIME_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "Installing Debian packages: ${missing[*]}"
    as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
      --no-install-recommends "${missing[@]}"
  fi
}

ensure_test_venv() {
  local venv="$REPO/.venv" stamp="$REPO/.venv/.requirements.sha256"
  local want
  want="$(sha256sum "$REPO/requirements-test.txt" | cut -d' ' -f1)"
  if [ ! -x "$venv/bin/python" ]; then
    "$PYTHON" -m venv --system-site-packages "$venv"
  fi
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$REPO/requirements-test.txt"
    echo "$want" > "$stamp"
  fi
}

# .venv-qt6: PyQt6 from PyPI for the PyQt6 check, never mixed with Debian's PyQt5 (no system site-packages).
ensure_qt6_venv() {
  local venv="$REPO/.venv-qt6" stamp="$REPO/.venv-qt6/.requirements.sha256"
  local want
  want="$(sha256sum "$REPO/requirements-qt6.txt" | cut -d' ' -f1)"
  if [ ! -x "$venv/bin/python" ]; then
    "$PYTHON" -m venv "$venv"
  fi
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --only-binary :all: \
      -r "$REPO/requirements-qt6.txt"
    echo "$want" > "$stamp"
  fi
}

headless_env() {
  export QT_QPA_PLATFORM=offscreen
  export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d /tmp/srt-runtime.XXXXXX)}"
  chmod 700 "$XDG_RUNTIME_DIR"
}
