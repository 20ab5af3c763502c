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

qp() {
  QGIS_CUSTOM_CONFIG_PATH="$QGIS_HOME" QGIS_PLUGINPATH="$PLUGIN_PARENT" "$QGIS_PROCESS" "$@"
}
SUMMARY="$(mktemp)"
trap 'rm -f "$SUMMARY" "$SUMMARY.err"' EXIT
run() {   # run an algorithm; print its summary lines and results, or everything it said when it fails
  echo "== $1"
  if ! qp --json run "$@" >"$SUMMARY" 2>"$SUMMARY.err"; then
    cat "$SUMMARY" "$SUMMARY.err"
    rm -f "$SUMMARY.err"
    echo "FAILED: $1" >&2
    exit 1
  fi
  rm -f "$SUMMARY.err"
  "$PYTHON" "$REPO/scripts/demo_summary.py" "$SUMMARY"
}
result() {   # the value of one result of the last run
  "$PYTHON" "$REPO/scripts/demo_summary.py" "$SUMMARY" "$1"
}
# `plugins enable` exits 1 with "already enabled" when the profile has the plugin on (every later run).
qp plugins enable social_resilience >/dev/null 2>&1 || true

TOWN="$OUT/sample_town.gpkg"
run socialresilience:createsampletown --SEED=42 --SIZE_KM=2 --OUTPUT="$TOWN" --OUTPUT_CSV="$OUT/sample_town_observations.csv"

# Sensors: import the town's observation feed (CSV) into layers and a lossless archive, twice:
# the second run finds every observation in the archive already (N_NEW 0, nothing duplicated),
# as a nightly job that runs again after an interruption would.
import_feed() {
  run socialresilience:importsensorfeed --FORMAT=5 --SOURCE="$OUT/sample_town_observations.csv" \
    --ARCHIVE="$OUT/sensor_archive.gpkg" \
    --OUTPUT_STATIONS="$OUT/sensor_stations.gpkg" --OUTPUT_OBSERVATIONS="$OUT/sensor_observations.gpkg"
}
rm -f "$OUT/sensor_archive.gpkg"   # a fresh archive, so the first import adds everything
import_feed
FIRST_NEW="$(result N_NEW)"
import_feed
SECOND_NEW="$(result N_NEW)"
echo "Archive: the first import added N_NEW $FIRST_NEW observations, the second N_NEW $SECOND_NEW."

# Quality control: the faulty NO2 sensor's four stuck days are flagged (qc_flag) and skipped below.
run socialresilience:sensorqualitycontrol --INPUT="$OUT/sensor_observations.gpkg" \
  --OUTPUT="$OUT/sensor_observations_checked.gpkg"

# Hotspots: sensor statistics per district (stations inside, else IDW), flagged values and the
# -999 no-data values skipped; the heat wave's hot days and tropical nights (DWD, local days);
# then the CalEnviroScreen-style score and Gi*/Local Moran on it. NO2 hours above 200 ug/m3 (the EU
# 1-hour limit value, see the help) and days above the WHO 2021 daily guideline (PRESET 3).
run socialresilience:aggregateobservations --STATIONS="$OUT/sensor_stations.gpkg" \
  --OBSERVATIONS="$OUT/sensor_observations_checked.gpkg" --PROPERTY=no2 --THRESHOLD=200 --MIN_VALID=0 \
  --PRESET=3 --AREAS="$TOWN|layername=districts" \
  --OUTPUT_STATIONS="$OUT/stations_no2.gpkg" --OUTPUT_AREAS="$OUT/districts_no2.gpkg"
run socialresilience:aggregateobservations --STATIONS="$OUT/sensor_stations.gpkg" \
  --OBSERVATIONS="$OUT/sensor_observations_checked.gpkg" --PROPERTY=noise_laeq --THRESHOLD=55 --MIN_VALID=0 \
  --AREAS="$OUT/districts_no2.gpkg" \
  --OUTPUT_STATIONS="$OUT/stations_noise.gpkg" --OUTPUT_AREAS="$OUT/districts_noise.gpkg"
run socialresilience:aggregateobservations --STATIONS="$OUT/sensor_stations.gpkg" \
  --OBSERVATIONS="$OUT/sensor_observations_checked.gpkg" --PROPERTY=air_temperature --PREFIX=temperature \
  --PRESET=1 --TIMEZONE=Europe/Berlin --AREAS="$OUT/districts_noise.gpkg" \
  --OUTPUT_STATIONS="$OUT/stations_heat.gpkg" --OUTPUT_AREAS="$OUT/districts_sensors.gpkg"
run socialresilience:hotspotscore --INPUT="$OUT/districts_sensors.gpkg" \
  --ENV_FIELDS="no2_mean;noise_laeq_mean;temperature_nights_above;green_m2_per_inh" \
  --SOCIAL_FIELDS="share_65plus;unemployment;child_poverty;income" \
  --INVERT_FIELDS="green_m2_per_inh;income" --METHOD=2 --NORMALIZATION=0 --HIGH_SHARE=0.25 \
  --OUTPUT="$OUT/hotspot_score.gpkg"
run socialresilience:localhotspots --INPUT="$OUT/hotspot_score.gpkg" --FIELD=score --WEIGHTS=0 \
  --PERMUTATIONS=9999 --SEED=1 --ALPHA=0.05 --FDR=true --OUTPUT="$OUT/hotspot_clusters.gpkg"

# Is it getting better or worse? Two years of monthly NO2 per district (the town acted in 2025):
# space-time Gi* per month against the other districts of that month, the Mann-Kendall trend and
# the emerging hot-spot category of every district (new, intensifying, diminishing, historical ...).
run socialresilience:emerginghotspots --INPUT="$TOWN|layername=district_months" --ID_FIELD=district_id \
  --TIME_FIELD=month --VALUE_FIELD=no2 --TIME_LAG=1 --GLOBAL_WINDOW=1 \
  --OUTPUT="$OUT/districts_trends.gpkg" --OUTPUT_CUBE="$OUT/districts_trends_months.gpkg"

# Green access: 400 m on foot to >= 2 ha of green, arterials crossed only at crossings.
run socialresilience:greenspacecatchments --NETWORK="$TOWN|layername=network" \
  --GREEN_SPACES="$TOWN|layername=green_spaces" --BARRIERS="$TOWN|layername=barriers" \
  --CROSSINGS="$TOWN|layername=crossings" --ENTRANCES="$TOWN|layername=entrances" \
  --RESIDENTIAL="$TOWN|layername=buildings" --POPULATION_FIELD=population \
  --DISTANCE=400 --MIN_AREA_HA=2 --MERGE_DISTANCE=10 \
  --OUTPUT_CATCHMENTS="$OUT/green_catchments.gpkg" --OUTPUT_GREEN_SPACES="$OUT/green_spaces_2ha.gpkg" \
  --OUTPUT_RESIDENTIAL="$OUT/buildings_green_access.gpkg"

# Who is left out: served share per district and for residents 65+ and children; priority districts
# are the most burdened quarter (hotspot score percentile) with a low served share.
run socialresilience:greenequity --RESIDENTIAL="$OUT/buildings_green_access.gpkg" --POPULATION_FIELD=population \
  --GROUP_FIELDS="pop_65plus;pop_children" --AREAS="$OUT/hotspot_clusters.gpkg" --BURDEN_FIELD=score_pct \
  --OUTPUT="$OUT/districts_green_equity.gpkg"

# The report for the council: maps, key figures in words, districts ranked, method, sources.
run socialresilience:report --AREAS="$OUT/districts_green_equity.gpkg" \
  --RESIDENTIAL="$OUT/buildings_green_access.gpkg" --POPULATION_FIELD=population \
  --CATCHMENTS="$OUT/green_catchments.gpkg" --GREEN_SPACES="$OUT/green_spaces_2ha.gpkg" \
  --HOTSPOTS="$OUT/hotspot_clusters.gpkg" --STATIONS="$OUT/stations_no2.gpkg" --MIN_AREA_HA=2 \
  --EMERGING="$OUT/districts_trends.gpkg" \
  --TITLE="Sample town: green access and environmental hotspots" \
  --DATA_SOURCES="Sample town: synthetic data made by the Social Resilience Toolkit (seed 42), no licence restrictions" \
  --OUTPUT_HTML="$OUT/report.html" --OUTPUT_PDF="$OUT/report.pdf"
echo "Report: $(result OUTPUT_HTML) (PDF: $(result OUTPUT_PDF))"

echo
echo "Done. Results in $OUT:"
echo "  sample_town.gpkg                 the synthetic town (all input layers)"
echo "  sensor_archive.gpkg              sensor archive (stations, observations)"
echo "  sensor_observations_checked.gpkg observations with qc_flag and value_corrected"
echo "  districts_sensors.gpkg           NO2, noise, hot days and tropical nights per district"
echo "  hotspot_score.gpkg               socio-ecological hotspot score per district"
echo "  hotspot_clusters.gpkg            Getis-Ord Gi* and Local Moran clusters of the score"
echo "  districts_trends.gpkg            emerging hot spots of NO2 2024-2025 (and _months: Gi* per month)"
echo "  green_catchments.gpkg            400 m walking catchments of green spaces >= 2 ha"
echo "  buildings_green_access.gpkg      buildings served / not served (net_dist_m, served)"
echo "  districts_green_equity.gpkg      served share per district, Gini, priority districts"
echo "  report.html, report.pdf          the report for decision makers (open in any browser)"
echo "Open them in QGIS (drag and drop), or see README.md for the GUI and models."
