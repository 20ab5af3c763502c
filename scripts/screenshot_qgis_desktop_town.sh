#!/usr/bin/env bash
# Screenshots of the real QGIS desktop: the styled sample town in English and in German (German
# legend and layer names), and the catchment tool's dialog with its help panel.
# Usage: scripts/screenshot_qgis_desktop_town.sh [FOLDER]   (default: docs/)
# Needs xvfb-run and qgis.bin; uses a throwaway QGIS profile per language.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
folder="$(realpath -m "${1:-$repo/docs}")"
work="$(mktemp -d -t srt_qgis_town_XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$folder"

shoot() {   # shoot LOCALE NAMES: one QGIS session in LOCALE writing the shots named in NAMES
    local locale="$1" names="$2" config="$work/config-$1"
    local profile="$config/profiles/default"
    mkdir -p "$profile/python/plugins" "$profile/QGIS" "$work/runtime"
    chmod 700 "$work/runtime"
    ln -sfn "$repo" "$profile/python/plugins/social_resilience"
    # Plugin on; no "scratch layers will be lost" question on exit; the UI language forced.
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
    SRT_SHOT_DIR="$work" SRT_SHOT_NAMES="$names" QGIS_CUSTOM_CONFIG_PATH="$config" \
        XDG_RUNTIME_DIR="$work/runtime" \
        timeout 180 xvfb-run -a -s "-screen 0 1280x800x24" \
        /usr/bin/qgis.bin --nologo --noversioncheck --code "$repo/scripts/screenshot_qgis_desktop_town.py" \
        >"$work/qgis-$locale.log" 2>&1 || true
}

shoot en_US "town=qgis_sample_town.png;dialog=qgis_dialog_help.png"
shoot de "town=qgis_sample_town_de.png"
for shot in qgis_sample_town.png qgis_dialog_help.png qgis_sample_town_de.png; do
    if [[ ! -s "$work/$shot" ]]; then
        grep -v "Non closed ring" "$work"/qgis-*.log | tail -40 >&2
        echo "no screenshot $shot written" >&2
        exit 1
    fi
    cp "$work/$shot" "$folder/$shot"
    echo "wrote $folder/$shot"
done
