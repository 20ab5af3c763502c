#!/usr/bin/env bash
# Screenshots of every dialog and map of the toolkit in the real QGIS desktop, in English and German:
# the algorithms run from their dialogs (worker threads) on the sample town, a live feed in the dock,
# the report with its print layout, the models in the model designer.
# Usage: scripts/screenshot_qgis_tour.sh [FOLDER]   (default: a new folder under /tmp; its path is printed)
# Needs xvfb-run and qgis.bin; a throwaway QGIS profile per language; a local SensorThings test server.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
folder="$(realpath -m "${1:-$(mktemp -d -t srt_tour_XXXXXX)}")"
work="$(mktemp -d -t srt_tour_work_XXXXXX)"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$folder"

# Stations of the live feed inside the sample town (seed 42, 2 km, EPSG:25832 530000/5680000).
SRT_FEED_EXTENT="9.4305,51.2708,9.4585,51.2882" QT_QPA_PLATFORM=offscreen \
    /usr/bin/python3 "$repo/scripts/screenshot_qgis_desktop.py" "$work" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 120); do
    [[ -f "$work/ready" ]] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; exit 1; }
    sleep 0.5
done
[[ -f "$work/ready" ]] || { echo "test server did not start" >&2; exit 1; }

shoot() {   # shoot LOCALE: one QGIS session in LOCALE writing into $folder/LOCALE
    local locale="$1" config="$work/config-$1"
    local profile="$config/profiles/default"
    mkdir -p "$profile/python/plugins" "$profile/QGIS" "$work/runtime" "$folder/$locale"
    chmod 700 "$work/runtime"
    ln -sfn "$repo" "$profile/python/plugins/social_resilience"
    cat >"$profile/QGIS/QGIS3.ini" <<INI
[PythonPlugins]
social_resilience=true
processing=true

[app]
askToSaveMemoryLayers=false

[locale]
overrideFlag=true
userLocale=$locale
INI
    SRT_SHOT_DIR="$folder/$locale" SRT_FEED_URL="$(cat "$work/ready")" QGIS_CUSTOM_CONFIG_PATH="$config" \
        XDG_RUNTIME_DIR="$work/runtime" \
        timeout 900 xvfb-run -a -s "-screen 0 1280x800x24" \
        /usr/bin/qgis.bin --nologo --noversioncheck --code "$repo/scripts/screenshot_qgis_tour.py" \
        >"$folder/$locale/qgis.log" 2>&1 || true
    grep -q "^done$" "$folder/$locale/tour.log" || { tail -30 "$folder/$locale/tour.log" >&2; return 1; }
}

shoot en_US
shoot de
echo "screenshots in $folder/en_US and $folder/de"
