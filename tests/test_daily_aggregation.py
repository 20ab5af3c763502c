"""``aggregateobservations`` daily indicators as users run them: typed and text times, presets, areas."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from osgeo import ogr
from qgis.core import NULL, QgsFeature, QgsGeometry, QgsProcessingException, QgsVectorLayer
from qgis.PyQt.QtCore import QDateTime, Qt

from .test_aggregate_observations import Messages, by_key, run, town_layers
from .test_daily_indicators import dst_series

BERLIN = ZoneInfo("Europe/Berlin")
DAILY = {
    "PROPERTY_FIELD": "",
    "START": "2026-10-22T22:00:00Z",
    "END": "2026-10-26T23:00:00Z",
    "DAY_MAX_THRESHOLD": 30,
    "DAY_MEAN_THRESHOLD": 21,
    "NIGHT_MIN_THRESHOLD": 20,
    "THRESHOLD": 21,
}


def one_station() -> QgsVectorLayer:
    layer = QgsVectorLayer("Point?crs=EPSG:25832&field=station_id:string", "stations", "memory")
    feature = QgsFeature(layer.fields())
    feature.setAttributes(["S"])
    feature.setGeometry(QgsGeometry.fromWkt("POINT(500000 5500000)"))
    layer.dataProvider().addFeatures([feature])
    return layer


def local_text(seconds: float) -> str:
    """ISO 8601 local Berlin time with its offset, e.g. 2026-10-25T02:00:00+01:00."""
    return datetime.fromtimestamp(seconds, BERLIN).isoformat()


def geopackage(path, kind: int) -> str:
    """The DST series in a GeoPackage whose time column is ``kind`` (OFTDateTime or OFTString), local with offsets."""
    source = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    table = source.CreateLayer("observations", geom_type=ogr.wkbNone)
    for name, field_type in (("station_id", ogr.OFTString), ("time", kind), ("value", ogr.OFTReal)):
        table.CreateField(ogr.FieldDefn(name, field_type))
    for station, seconds, value in dst_series():
        feature = ogr.Feature(table.GetLayerDefn())
        feature.SetField("station_id", station)
        feature.SetField("time", local_text(seconds))
        feature.SetField("value", value)
        table.CreateFeature(feature)
    source = None
    return f"{path}|layername=observations"


def memory_table() -> QgsVectorLayer:
    layer = QgsVectorLayer("None?field=station_id:string&field=time:datetime&field=value:double", "obs", "memory")
    features = []
    for station, seconds, value in dst_series():
        feature = QgsFeature(layer.fields())
        feature.setAttributes([station, QDateTime.fromSecsSinceEpoch(int(seconds), Qt.TimeSpec.UTC), value])
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def test_typed_geopackage_datetime_with_offset_is_read_right(provider, tmp_path):
    uri = geopackage(tmp_path / "typed.gpkg", ogr.OFTDateTime)
    with sqlite3.connect(tmp_path / "typed.gpkg") as connection:
        raw = connection.execute("SELECT time FROM observations ORDER BY fid LIMIT 1").fetchone()[0]
    assert raw.startswith("2026-10-23T00:00:00")
    assert raw.endswith("+02:00")
    provider_time = next(QgsVectorLayer(uri, "obs", "ogr").getFeatures())["time"]
    assert provider_time.toString("HH:mm") == "00:00"  # QGIS 3.22 drops the +02:00: 2 h off as UTC
    (station,) = run({"STATIONS": one_station(), "OBSERVATIONS": uri, **DAILY})["OUTPUT_STATIONS"].getFeatures()
    assert_hand_counts(station)  # a plain GeoPackage table: read with sqlite3, the text as stored
    subset = QgsVectorLayer(uri, "obs", "ogr")
    subset.setSubsetString('"value" > -100')  # a subset goes through QGIS features, offsets from the text
    messages = Messages()
    results = run({"STATIONS": one_station(), "OBSERVATIONS": subset, **DAILY}, messages)
    (station,) = results["OUTPUT_STATIONS"].getFeatures()
    assert_hand_counts(station)
    assert any("80 times with a UTC offset were read from the GeoPackage text" in m for m in messages.infos)


@pytest.mark.parametrize("source", ["text", "memory"])
def test_text_and_utc_datetime_fields_give_the_same_counts(provider, tmp_path, source):
    table = geopackage(tmp_path / "text.gpkg", ogr.OFTString) if source == "text" else memory_table()
    (station,) = run({"STATIONS": one_station(), "OBSERVATIONS": table, **DAILY})["OUTPUT_STATIONS"].getFeatures()
    assert_hand_counts(station)


def assert_hand_counts(station: QgsFeature) -> None:
    """The counts of test_daily_indicators.test_hand_counted_days_and_nights_across_the_end_of_dst."""
    assert station["obs_coverage"] == pytest.approx(100 * 80 / 97)
    assert station["obs_days"] == 3
    assert station["obs_days_max_above"] == 1
    assert station["obs_days_mean_above"] == 2
    assert station["obs_nights_above"] == 1
    assert station["obs_hours_above"] == 4
    assert station["obs_count"] == 80


def test_preset_fills_only_the_empty_thresholds(provider):
    params = {"STATIONS": one_station(), "OBSERVATIONS": memory_table(), "PROPERTY_FIELD": ""}
    params.update({"START": DAILY["START"], "END": DAILY["END"]})
    (dwd,) = run({**params, "PRESET": 1})["OUTPUT_STATIONS"].getFeatures()
    assert (dwd["obs_days_max_above"], dwd["obs_nights_above"], dwd["obs_days_mean_above"]) == (1, 1, NULL)
    (who,) = run({**params, "PRESET": 3, "NIGHT_MIN_THRESHOLD": 19})["OUTPUT_STATIONS"].getFeatures()
    assert (who["obs_days_mean_above"], who["obs_days_max_above"]) == (0, NULL)  # daily means 21.4 < 25
    assert who["obs_nights_above"] == 2  # own threshold kept: nights of the 23rd (20.0) and 25th (19.5)
    (eu,) = run({**params, "PRESET": 4, "DAY_MEAN_THRESHOLD": 21.3})["OUTPUT_STATIONS"].getFeatures()
    assert eu["obs_days_mean_above"] == 2


def test_timezone_changes_the_days(provider):
    params = {"STATIONS": one_station(), "OBSERVATIONS": memory_table(), **DAILY}
    (utc,) = run({**params, "TIMEZONE": "UTC"})["OUTPUT_STATIONS"].getFeatures()
    # UTC days: 23rd 24 h, 24th 20 h, 25th and 26th 17 of 24 h -> 2 days. UTC nights 18-06 Z: the 23rd's
    # (min 20.0) and the 24th's (9 of 12 hours: local 20-22 missing, min 21) count, the 25th's holds 19.5
    assert (utc["obs_days"], utc["obs_days_max_above"], utc["obs_nights_above"]) == (2, 1, 2)
    with pytest.raises(QgsProcessingException, match="TIMEZONE 'Berlin' is not a known time zone"):
        run({**params, "TIMEZONE": "Berlin"})


def test_window_coverage_rule_and_percentile_method(provider):
    params = {"STATIONS": one_station(), "OBSERVATIONS": memory_table(), **DAILY}
    messages = Messages()
    (strict,) = run({**params, "MIN_COVERAGE": 90}, messages)["OUTPUT_STATIONS"].getFeatures()
    assert strict["obs_mean"] == NULL
    assert strict["obs_count"] == 80
    assert strict["obs_days"] == 1
    assert any("1 station(s) hold values in less than 90 %" in w for w in messages.warnings)
    values = sorted(v for _s, _t, v in dst_series())
    (linear,) = run(params)["OUTPUT_STATIONS"].getFeatures()
    (rank,) = run({**params, "PERCENTILE_METHOD": 1})["OUTPUT_STATIONS"].getFeatures()
    assert rank["obs_p95"] == values[75]  # rank ceil(0.95 * 80) = 76
    position = 0.95 * 79
    expected = values[int(position)] + (position - int(position)) * (values[int(position) + 1] - values[int(position)])
    assert linear["obs_p95"] == pytest.approx(expected)


def test_sample_town_heat_wave_per_district(provider, sample_town):
    layers = town_layers(sample_town)
    results = run(
        {
            "STATIONS": layers["stations"],
            "OBSERVATIONS": layers["observations"],
            "AREAS": layers["districts"],
            "PROPERTY": "air_temperature",
            "PRESET": 1,
        }
    )
    stations = {f["station_id"]: f for f in QgsVectorLayer(layers["stations"], "s", "ogr").getFeatures()}
    out = by_key(results["OUTPUT_STATIONS"], "station_id")
    site = {key: str(f["properties"]) for key, f in stations.items()}
    park = [k for k in out if '"park"' in site[k]]
    built = [k for k in out if '"park"' not in site[k]]
    assert park
    assert built
    assert all(out[k]["air_temperature_days"] >= 29 for k in out)  # June: 30 local days, one has 2 h only
    assert all(out[k]["air_temperature_days_max_above"] >= 3 for k in out)  # the heat wave's hot days
    assert max(out[k]["air_temperature_nights_above"] for k in park) < min(
        out[k]["air_temperature_nights_above"] for k in built
    )  # parks cool down at night
    districts = list(results["OUTPUT_AREAS"].getFeatures())
    nights = [d["air_temperature_nights_above"] for d in districts]
    assert all(n != NULL for n in nights)
    assert len({round(n, 6) for n in nights}) > 2  # districts differ
    scored = score_with_nights(results["OUTPUT_AREAS"])
    assert scored.featureCount() == len(districts)


def score_with_nights(areas: QgsVectorLayer) -> QgsVectorLayer:
    import processing

    return processing.run(
        "socialresilience:hotspotscore",
        {
            "INPUT": areas,
            "ENV_FIELDS": ["air_temperature_nights_above", "air_temperature_days_max_above"],
            "SOCIAL_FIELDS": ["share_65plus"],
            "METHOD": 0,
            "OUTPUT": "memory:",
        },
    )["OUTPUT"]


def test_geopackage_reader_equals_the_qgis_features(provider, sample_town):
    """The sqlite3 reader of plain GeoPackage tables and QGIS's features give the same statistics."""
    layers = town_layers(sample_town)
    params = {"STATIONS": layers["stations"], "PROPERTY": "no2", "THRESHOLD": 40, "PRESET": 3}
    direct = by_key(run({**params, "OBSERVATIONS": layers["observations"]})["OUTPUT_STATIONS"], "station_id")
    subset = QgsVectorLayer(layers["observations"], "obs", "ogr")
    subset.setSubsetString('"fid" > 0')
    through_qgis = by_key(run({**params, "OBSERVATIONS": subset})["OUTPUT_STATIONS"], "station_id")
    assert direct.keys() == through_qgis.keys()
    assert all(direct[k].attributes() == through_qgis[k].attributes() for k in direct)
    assert sum(f["no2_days_mean_above"] for f in direct.values()) > 0


def test_hand_counts_through_qgis_process(qgis_process, tmp_path):
    """The typed GeoPackage with offsets, STATIONS as a file too, run the way scheduled jobs run it."""
    uri = geopackage(tmp_path / "typed.gpkg", ogr.OFTDateTime)
    stations = tmp_path / "stations.gpkg"
    source = ogr.GetDriverByName("GPKG").CreateDataSource(str(stations))
    table = source.CreateLayer("stations", geom_type=ogr.wkbPoint)
    table.CreateField(ogr.FieldDefn("station_id", ogr.OFTString))
    feature = ogr.Feature(table.GetLayerDefn())
    feature.SetField("station_id", "S")
    feature.SetGeometry(ogr.CreateGeometryFromWkt("POINT(9 49)"))
    table.CreateFeature(feature)
    source = None
    target = tmp_path / "out.gpkg"
    params = {**DAILY, "STATIONS": str(stations), "OBSERVATIONS": uri, "OUTPUT_STATIONS": str(target)}
    report = qgis_process.run_algorithm("socialresilience:aggregateobservations", params)
    (station,) = QgsVectorLayer(report["results"]["OUTPUT_STATIONS"], "out", "ogr").getFeatures()
    assert_hand_counts(station)
