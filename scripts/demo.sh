#!/usr/bin/env bash
# The main job, headless, on the embedded default (the synthetic sample town):
# creates the town and runs every algorithm of the toolkit on it with qgis_process.
# Usage: bash scripts/demo.sh [OUTPUT_FOLDER]   (default: demo_output/ in the repository)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
ensure_apt_packages
headless_env

OUT="$(mkdir -p "${1:-$REPO/demo_output}" && cd "${1:-$REPO/demo_output}" && pwd)"
# A private QGIS profile and plugin folder, so the demo leaves the user's own profile alone.
QGIS_HOME="$OUT/.qgis-home"
PLUGIN_PARENT="$OUT/.plugins"
mkdir -p "$QGIS_HOME" "$PLUGIN_PARENT"
ln -sfn "$REPO" "$PLUGIN_PARENT/social_resilience"
"$PYTHON" "$REPO/scripts/build_translations.py" >/dev/null

qp() {
  HOME="$QGIS_HOME" QGIS_PLUGINPATH="$PLUGIN_PARENT" "$QGIS_PROCESS" "$@"
}
run() {
  echo "== $1"
  qp run "$@" 2>&1 | grep -vE "^(Warning|QStandardPaths)" | sed -n '/^Results/,$p'
}
qp plugins enable social_resilience >/dev/null 2>&1 || true   # "already enabled" on later runs

TOWN="$OUT/sample_town.gpkg"
run socialresilience:createsampletown --SEED=42 --SIZE_KM=2 --OUTPUT="$TOWN" --OUTPUT_CSV="$OUT/sample_town_observations.csv"
