"""``socialresilience:sensorqualitycontrol``: flags and corrections, the chain to the aggregation, qgis_process."""

from __future__ import annotations

import pytest
from qgis.core import NULL, QgsFeature, QgsProcessingException, QgsVectorLayer
from qgis.PyQt.QtCore import QDate, QDateTime, Qt, QTime

from .test_aggregate_observations import Messages, by_key, town_layers
from .test_daily_aggregation import one_station

ALG = "socialresilience:sensorqualitycontrol"

TEMPERATURE = [20.0, 20.3, 20.6, 20.9, 21.2, *[18.2] * 7, 21.0, 29.5, 21.4, -999.0, 21.8, 22.0]
EXPECTED_FLAGS = [NULL] * 5 + ["stuck"] * 7 + [NULL, "spike", NULL, "range", NULL, NULL]


def hour(h: int) -> QDateTime:
    return QDateTime(QDate(2026, 7, 1), QTime(h, 0), Qt.TimeSpec.UTC)


def table() -> QgsVectorLayer:
    """Station S: temperature with a stuck run, a spike, a -999 and a duplicate; PM2.5 and humidity."""
    layer = QgsVectorLayer(
        "None?field=station_id:string&field=property:string&field=time:datetime&field=value:double", "obs", "memory"
    )
    rows = [("S", "air_temperature", hour(h), value) for h, value in enumerate(TEMPERATURE)]
    rows.append(("S", "air_temperature", hour(17), 22.4))  # duplicate of hour 17
    rows += [("S", "PM2.5", hour(h), 40.0) for h in range(4)]
    rows += [("S", "humidity", hour(h), rh) for h, rh in enumerate([95.0, 95.0, 40.0])]  # none at hour 3
    rows.append(("S", "humidity", NULL, 50.0))  # no time
    features = []
    for row in rows:
        feature = QgsFeature(layer.fields())
        feature.setAttributes(list(row))
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def run_qc(params: dict, feedback=None) -> dict:
    import processing

    return processing.run(ALG, {"OUTPUT": "memory:", **params}, feedback=feedback)


def rows_of(layer: QgsVectorLayer, prop: str) -> list[QgsFeature]:
    return sorted((f for f in layer.getFeatures() if f["property"] == prop), key=lambda f: f.id())  # input order


def test_flags_and_humidity_correction(provider):
    messages = Messages()
    results = run_qc({"INPUT": table(), "HUMIDITY_CORRECTION": True}, messages)
    temperature = rows_of(results["OUTPUT"], "air_temperature")
    assert [f["qc_flag"] for f in temperature] == [*EXPECTED_FLAGS, "duplicate"]
    assert [f["value_corrected"] for f in temperature[:5]] == TEMPERATURE[:5]
    assert all(f["value_corrected"] == NULL for f in temperature if f["qc_flag"] != NULL)
    pm = rows_of(results["OUTPUT"], "PM2.5")
    humid = 0.524 * 40 - 0.0862 * 95 + 5.75  # US EPA: 18.52 in the humid hours
    dry = 0.524 * 40 - 0.0862 * 40 + 5.75
    assert [f["value_corrected"] for f in pm[:3]] == pytest.approx([humid, humid, dry])
    assert (pm[3]["qc_flag"], pm[3]["value_corrected"]) == ("no_humidity", NULL)
    humidity = rows_of(results["OUTPUT"], "humidity")
    assert [f["value_corrected"] for f in humidity] == [95.0, 95.0, 40.0, NULL]
    assert humidity[-1]["qc_flag"] == "time"
    assert results["N_FLAGGED"] == 12
    assert results["N_CORRECTED"] == 3
    text = "12 of 27 observations flagged: duplicate 1, no_humidity 1, range 1, spike 1, stuck 7, time 1"
    assert any(text in m for m in messages.infos)


def test_custom_limits_for_one_property(provider):
    results = run_qc({"INPUT": table(), "PROPERTY": "air_temperature", "MAX_VALID": 22.1, "STUCK_HOURS": 0})
    flags = [f["qc_flag"] for f in rows_of(results["OUTPUT"], "air_temperature")]
    assert flags[5:12] == [NULL] * 7  # stuck test off
    assert flags[17] == NULL  # 22.0 <= 22.1 stays; the duplicate 22.4 is a duplicate first
    assert flags[-1] == "duplicate"
    assert flags[13] == "range"  # the spike 29.5 is now above MAX_VALID
    assert all(f["qc_flag"] == NULL for f in rows_of(results["OUTPUT"], "PM2.5"))  # its defaults: 0..1000


def test_aggregation_skips_flagged_values_and_says_how_many(provider):
    import processing

    checked = run_qc({"INPUT": table()})["OUTPUT"]
    messages = Messages()
    results = processing.run(
        "socialresilience:aggregateobservations",
        {
            "STATIONS": one_station(),
            "OBSERVATIONS": checked,
            "PROPERTY": "air_temperature",
            "MIN_COVERAGE": 0,
            "OUTPUT_STATIONS": "memory:",
        },
        feedback=messages,
    )
    (station,) = results["OUTPUT_STATIONS"].getFeatures()
    assert station["air_temperature_count"] == 9  # 19 rows, 10 flagged
    assert station["air_temperature_max"] == 22.0
    text = "10 observations flagged by quality control (qc_flag) were skipped: duplicate 1, range 1, spike 1, stuck 7."
    assert text in messages.infos


def test_bad_input(provider, tmp_path):
    target = tmp_path / "checked.gpkg"
    with pytest.raises(QgsProcessingException, match="HUMIDITY_CORRECTION needs humidity observations"):
        run_qc({"INPUT": table(), "HUMIDITY_CORRECTION": True, "HUMIDITY_PROPERTY": "rh", "OUTPUT": str(target)})
    with pytest.raises(QgsProcessingException, match="No observations of property 'o3'"):
        run_qc({"INPUT": table(), "PROPERTY": "O3", "OUTPUT": str(target)})
    with pytest.raises(QgsProcessingException, match="no field 'zeit'"):
        run_qc({"INPUT": table(), "TIME_FIELD": "zeit", "OUTPUT": str(target)})
    with pytest.raises(QgsProcessingException, match=r"MIN_VALID \(100.0\) is above MAX_VALID \(0.0\)"):
        run_qc({"INPUT": table(), "MIN_VALID": 100, "MAX_VALID": 0, "OUTPUT": str(target)})  # flagged everything
    with pytest.raises(QgsProcessingException, match=r"is above MAX_VALID .* for air_temperature"):
        run_qc({"INPUT": table(), "PROPERTY": "air_temperature", "MIN_VALID": 70, "OUTPUT": str(target)})
    assert not target.exists()


def test_sample_town_chain_import_qc_aggregate(provider, tmp_path):
    """CSV feed -> import -> quality control -> aggregation, one process: the faulty sensor is caught."""
    import processing

    town = tmp_path / "town.gpkg"
    csv_path = tmp_path / "observations.csv"
    facts_run = processing.run(
        "socialresilience:createsampletown",
        {"SEED": 42, "SIZE_KM": 2.0, "OUTPUT": str(town), "OUTPUT_CSV": str(csv_path)},
    )
    imported = processing.run(
        "socialresilience:importsensorfeed",
        {"FORMAT": 5, "SOURCE": str(csv_path), "OUTPUT_STATIONS": "memory:", "OUTPUT_OBSERVATIONS": "memory:"},
    )
    checked = run_qc({"INPUT": imported["OUTPUT_OBSERVATIONS"], "OUTPUT": str(tmp_path / "checked.gpkg")})["OUTPUT"]
    layer = QgsVectorLayer(checked, "checked", "ogr")
    flagged: dict[tuple[str, str], int] = {}
    for feature in layer.getFeatures():
        if feature["qc_flag"] != NULL:
            key = (feature["stream_id"], feature["qc_flag"])
            flagged[key] = flagged.get(key, 0) + 1
    stuck = {stream: n for (stream, flag), n in flagged.items() if flag == "stuck"}
    assert len(stuck) == 1
    ((stream, n_stuck),) = stuck.items()
    assert stream.endswith("/no2")
    assert 96 <= n_stuck <= 100  # the four frozen days (a neighbour may repeat the value)
    assert sum(n for (_s, flag), n in flagged.items() if flag == "spike") <= 5  # real series rarely spike
    messages = Messages()
    aggregated = processing.run(
        "socialresilience:aggregateobservations",
        {
            "STATIONS": imported["OUTPUT_STATIONS"],
            "OBSERVATIONS": checked,
            "PROPERTY": "no2",
            "AREAS": facts_run["DISTRICTS"],
            "OUTPUT_STATIONS": "memory:",
            "OUTPUT_AREAS": "memory:",
        },
        feedback=messages,
    )
    faulty = stream.split("/")[0]
    stations = by_key(aggregated["OUTPUT_STATIONS"], "station_id")
    values = [
        f["value"]
        for f in layer.getFeatures()
        if f["stream_id"] == stream and f["value"] != NULL and f["qc_flag"] == NULL
    ]
    assert stations[faulty]["no2_count"] == len(values)
    assert any("observations flagged by quality control (qc_flag) were skipped" in m for m in messages.infos)
    assert aggregated["OUTPUT_AREAS"].featureCount() > 0


def test_through_qgis_process(qgis_process, sample_town, tmp_path):
    layers = town_layers(sample_town)
    target = tmp_path / "checked.gpkg"
    report = qgis_process.run_algorithm(ALG, {"INPUT": layers["observations"], "OUTPUT": str(target)})
    assert report["results"]["N_FLAGGED"] >= 96
    layer = QgsVectorLayer(report["results"]["OUTPUT"], "checked", "ogr")
    observations = QgsVectorLayer(layers["observations"], "obs", "ogr")
    assert layer.featureCount() == observations.featureCount()
    flags = [f["qc_flag"] for f in layer.getFeatures() if f["qc_flag"] != NULL]
    assert flags.count("range") == 6  # the faulty sensor's -999 values
    assert flags.count("stuck") >= 96
    assert len(flags) == report["results"]["N_FLAGGED"]


def test_real_sensor_community_archive(provider):
    """SDS011 archive (one evening, Aberdeen): the PM10 spikes counted independently from the CSV."""
    import csv as csv_module
    from datetime import datetime, timezone

    import processing

    from .conftest import shared_data

    path = shared_data("sensors", "sensor_community", "sc_archive_2018-07-07_sds011_sensor_15092_abdn.csv")
    imported = processing.run(
        "socialresilience:importsensorfeed",
        {"FORMAT": 2, "SOURCE": str(path), "OUTPUT_STATIONS": "memory:", "OUTPUT_OBSERVATIONS": "memory:"},
    )
    params = {"PROPERTY": "PM10", "SPIKE_THRESHOLD": 3.0}
    checked = run_qc({"INPUT": imported["OUTPUT_OBSERVATIONS"], **params})["OUTPUT"]
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv_module.DictReader(handle, delimiter=";"))
    times = [datetime.fromisoformat(r["timestamp"]).replace(tzinfo=timezone.utc).timestamp() for r in rows]
    values = [float(r["P1"]) for r in rows]
    spikes = {
        times[i]
        for i in range(1, len(values) - 1)
        if abs(values[i] - (values[i - 1] + values[i + 1]) / 2) - abs(values[i + 1] - values[i - 1]) / 2 > 3.0
    }
    flagged = {
        flag: {f["time"].toMSecsSinceEpoch() / 1000 for f in checked.getFeatures() if f["qc_flag"] == flag}
        for flag in ("spike", "stuck")
    }
    assert len(values) > 90
    assert len(spikes) == 9  # readings every 145 s jump by more than 3 µg/m³ and back 9 times
    assert flagged["spike"] == spikes
    assert flagged["stuck"] == set()  # a working sensor
    assert all(f["qc_flag"] == NULL for f in checked.getFeatures() if f["property"] == "PM2.5")  # defaults
