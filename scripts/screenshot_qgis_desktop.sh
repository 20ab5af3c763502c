#!/usr/bin/env bash
# Screenshot of the real QGIS desktop with the plugin's "Live sensor layers" dock and a live feed.
# Usage: scripts/screenshot_qgis_desktop.sh [docs/qgis_live_dock.png]
# Needs xvfb-run and qgis.bin; uses a throwaway QGIS profile and a local SensorThings test server.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
output="$(realpath -m "${1:-$repo/docs/qgis_live_dock.png}")"
work="$(mktemp -d -t srt_qgis_shot_XXXXXX)"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

QT_QPA_PLATFORM=offscreen /usr/bin/python3 "$repo/scripts/screenshot_qgis_desktop.py" "$work" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 120); do
    [[ -f "$work/ready" ]] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; exit 1; }
    sleep 0.5
done
[[ -f "$work/ready" ]] || { echo "test server did not start" >&2; exit 1; }

profile="$work/config/profiles/default"
mkdir -p "$profile/python/plugins" "$profile/QGIS" "$work/runtime"
chmod 700 "$work/runtime"
ln -s "$repo" "$profile/python/plugins/social_resilience"
# Plugin on; no "scratch layers will be lost" question on exit; English UI. (3.22 shows no tips
# or welcome dialog over a project given with --project, so nothing else needs switching off.)
cat >"$profile/QGIS/QGIS3.ini" <<'INI'
[PythonPlugins]
social_resilience=true

[app]
askToSaveMemoryLayers=false

[locale]
overrideFlag=true
userLocale=en_US
INI

SRT_SHOT_OUTPUT="$work/shot.png" QGIS_CUSTOM_CONFIG_PATH="$work/config" XDG_RUNTIME_DIR="$work/runtime" \
    timeout 120 xvfb-run -a -s "-screen 0 1280x800x24" \
    /usr/bin/qgis.bin --nologo --noversioncheck --project "$work/live.qgz" \
    --code "$repo/scripts/screenshot_qgis_desktop_grab.py" >"$work/qgis.log" 2>&1 || true
if [[ ! -s "$work/shot.png" ]]; then
    grep -v "Non closed ring" "$work/qgis.log" | tail -40 >&2
    echo "no screenshot written" >&2
    exit 1
fi
cp "$work/shot.png" "$output"
echo "wrote $output"
