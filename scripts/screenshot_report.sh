#!/usr/bin/env bash
# docs/report.png: the demo's report (run scripts/demo.sh first) as headless Chromium shows it.
# Usage: bash scripts/screenshot_report.sh [REPORT_HTML]   (default: demo_output/report.html)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPORT="$(realpath "${1:-$REPO/demo_output/report.html}")"
PROFILE="$(mktemp -d)"
trap 'rm -rf "$PROFILE"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$PROFILE" --hide-scrollbars \
  --window-size=1100,1500 --screenshot="$REPO/docs/report.png" "file://$REPORT" 2>/dev/null
echo "wrote docs/report.png"
