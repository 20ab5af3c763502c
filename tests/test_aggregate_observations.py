"""``socialresilience:aggregateobservations``: synthetic known answers, the sample town, qgis_process."""

from __future__ import annotations

import statistics
from datetime import datetime, timezone

import pytest
from qgis.core import (
    NULL,
    QgsFeature,
    QgsGeometry,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QDate, QDateTime, Qt, QTime

from .conftest import shared_data

ALG = "socialresilience:aggregateobservations"
X0, Y0 = 500000.0, 5500000.0  # EPSG:25832, near 9°E 49.6°N
STATIONS = {"A": (1000, 1000), "B": (1200, 1000), "C": (5000, 1000), "D": (9000, 9000)}
AREAS = {"P1": (900, 900, 1300, 1100), "P2": (3000, 900, 3100, 1100)}


def utc(day: int, hour: int, minute: int = 0) -> QDateTime:
    return QDateTime(QDate(2024, 6, day), QTime(hour, minute), Qt.TimeSpec.UTC)


#: (station, property, time, value): A = 10, 50 (hour 0), 20, 30, 40; B = 5 x 4; C = 100; distractors
OBSERVATIONS = [
    ("A", "NO2", utc(1, 0), 10.0),
    ("A", "NO2", utc(1, 0, 30), 50.0),
    ("A", "NO2", utc(1, 1), 20.0),
    ("A", "NO2", utc(1, 2), 30.0),
    ("A", "NO2", utc(1, 3), 40.0),
    ("A", "NO2", utc(2, 0), 1000.0),  # at END: outside the window
    ("A", "PM10", utc(1, 0), 999.0),  # another property
    ("B", "NO2", utc(1, 0), 5.0),
    ("B", "NO2", utc(1, 1), 5.0),
    ("B", "NO2", utc(1, 2), 5.0),
    ("B", "NO2", utc(1, 3), 5.0),
    ("B", "NO2", utc(1, 4), NULL),  # missing value
    ("C", "no2", utc(1, 1), 100.0),
    ("Z", "NO2", utc(1, 1), 7.0),  # unknown station
]
#: MIN_COVERAGE 0: the stations hold a few hours of a 24-hour window (the coverage rule: test_daily_*)
WINDOW = {
    "START": "2024-06-01T00:00:00Z",
    "END": "2024-06-02T00:00:00Z",
    "PROPERTY": "NO2",
    "THRESHOLD": 25,
    "MIN_COVERAGE": 0,
}


def station_layer(crs: str = "EPSG:25832") -> QgsVectorLayer:
    layer = QgsVectorLayer("Point?crs=EPSG:25832&field=station_id:string&field=name:string", "stations", "memory")
    features = []
    for key, (x, y) in STATIONS.items():
        feature = QgsFeature(layer.fields())
        feature.setAttributes([key, f"Station {key}"])
        feature.setGeometry(QgsGeometry.fromWkt(f"POINT({X0 + x} {Y0 + y})"))
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return reproject(layer, crs)


def area_layer(crs: str = "EPSG:25832") -> QgsVectorLayer:
    layer = QgsVectorLayer("Polygon?crs=EPSG:25832&field=area_id:string", "areas", "memory")
    features = []
    for key, (x0, y0, x1, y1) in AREAS.items():
        feature = QgsFeature(layer.fields())
        feature.setAttributes([key])
        feature.setGeometry(rectangle(x0, y0, x1, y1))
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return reproject(layer, crs)


def rectangle(x0: float, y0: float, x1: float, y1: float) -> QgsGeometry:
    x0, x1, y0, y1 = X0 + x0, X0 + x1, Y0 + y0, Y0 + y1
    return QgsGeometry.fromWkt(f"POLYGON(({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))")


def reproject(layer: QgsVectorLayer, crs: str) -> QgsVectorLayer:
    if crs == "EPSG:25832":
        return layer
    import processing

    return processing.run("native:reprojectlayer", {"INPUT": layer, "TARGET_CRS": crs, "OUTPUT": "memory:"})["OUTPUT"]


def observation_layer(time_as_text: bool = False) -> QgsVectorLayer:
    kind = "string" if time_as_text else "datetime"
    layer = QgsVectorLayer(
        f"None?field=station_id:string&field=property:string&field=time:{kind}&field=value:double", "obs", "memory"
    )
    features = []
    for station, prop, time, value in OBSERVATIONS:
        feature = QgsFeature(layer.fields())
        feature.setAttributes([station, prop, time.toString(Qt.DateFormat.ISODate) if time_as_text else time, value])
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


class Messages(QgsProcessingFeedback):
    """Feedback that keeps the log."""

    def __init__(self) -> None:
        super().__init__()
        self.warnings: list[str] = []
        self.infos: list[str] = []

    def pushWarning(self, warning: str) -> None:  # noqa: N802
        self.warnings.append(warning)
        super().pushWarning(warning)

    def pushInfo(self, info: str) -> None:  # noqa: N802
        self.infos.append(info)
        super().pushInfo(info)


def run(params: dict, feedback: QgsProcessingFeedback | None = None) -> dict:
    import processing

    defaults = {"OUTPUT_STATIONS": "memory:", "OUTPUT_AREAS": "memory:"}
    return processing.run(ALG, {**defaults, **params}, feedback=feedback)


def by_key(layer: QgsVectorLayer, key: str) -> dict:
    return {feature[key]: feature for feature in layer.getFeatures()}


@pytest.mark.parametrize("time_as_text", [False, True])
def test_station_statistics_known_answers(provider, time_as_text):
    results = run({"STATIONS": station_layer(), "OBSERVATIONS": observation_layer(time_as_text), **WINDOW})
    out = by_key(results["OUTPUT_STATIONS"], "station_id")
    a, b, c, d = out["A"], out["B"], out["C"], out["D"]
    assert (a["no2_mean"], a["no2_median"], a["no2_max"], a["no2_count"]) == (30.0, 30.0, 50.0, 5)
    assert a["no2_p95"] == pytest.approx(48.0)  # 40 + 0.8 * (50 - 40)
    assert a["no2_hours_above"] == 3  # hourly means 30, 20, 30, 40 against 25
    assert (b["no2_mean"], b["no2_p95"], b["no2_hours_above"], b["no2_count"]) == (5.0, 5.0, 0, 4)
    assert (c["no2_mean"], c["no2_hours_above"], c["no2_count"]) == (100.0, 1, 1)
    assert d["no2_count"] == 0
    assert d["no2_mean"] == NULL
    assert a["name"] == "Station A"  # input fields kept


def test_area_statistics_inside_and_idw(provider):
    results = run(
        {"STATIONS": station_layer(), "OBSERVATIONS": observation_layer(), "AREAS": area_layer(), "K": 2, **WINDOW}
    )
    out = by_key(results["OUTPUT_AREAS"], "area_id")
    p1, p2 = out["P1"], out["P2"]
    assert (p1["agg_method"], p1["n_stations"]) == ("inside", 2)
    assert (p1["no2_mean"], p1["no2_max"], p1["no2_p95"], p1["no2_hours_above"]) == (17.5, 27.5, 26.5, 1.5)
    assert (p2["agg_method"], p2["n_stations"]) == ("idw", 2)
    w_b, w_c = 1 / 1850**2, 1 / 1950**2  # B and C are the two nearest to the centre (3050, 1000)
    assert p2["no2_mean"] == pytest.approx((5 * w_b + 100 * w_c) / (w_b + w_c), rel=1e-12)


def test_geographic_crs_uses_metres(provider):
    stations = station_layer("EPSG:4326")
    assert 8.9 < stations.extent().xMinimum() < 9.1
    assert 49.5 < stations.extent().yMinimum() < 49.8
    results = run(
        {
            "STATIONS": stations,
            "OBSERVATIONS": observation_layer(),
            "AREAS": area_layer("EPSG:4326"),
            "K": 2,
            **WINDOW,
        }
    )
    p2 = by_key(results["OUTPUT_AREAS"], "area_id")["P2"]
    w_b, w_c = 1 / 1850**2, 1 / 1950**2
    assert p2["agg_method"] == "idw"
    assert p2["no2_mean"] == pytest.approx((5 * w_b + 100 * w_c) / (w_b + w_c), rel=1e-6)
    assert results["OUTPUT_AREAS"].crs().authid() == "EPSG:4326"


def test_prefix_threshold_and_valid_range(provider):
    results = run(
        {
            "STATIONS": station_layer(),
            "OBSERVATIONS": observation_layer(),
            "PROPERTY": "NO2",
            "PREFIX": "Air NO2",
            "MAX_VALID": 45,
        }
    )
    out = by_key(results["OUTPUT_STATIONS"], "station_id")
    assert out["A"]["air_no2_max"] == 40.0  # 50 and 1000 skipped; no window
    assert out["A"]["air_no2_count"] == 4
    assert out["A"]["air_no2_hours_above"] == NULL
    assert "OUTPUT_AREAS" not in results


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"PROPERTY": "O3"}, "Properties in OBSERVATIONS: NO2, PM10, no2"),
        ({"PROPERTY": ""}, "several properties"),
        ({"START": "2024-06-02T00:00:00Z", "END": "2024-06-01T00:00:00Z"}, "END must be later"),
        ({"START": "2025-01-01T00:00:00Z", "END": ""}, "No station has observations"),
        ({"TIME_FIELD": "value", "VALUE_FIELD": "time"}, "No observations|unreadable|no usable"),
    ],
)
def test_bad_input_is_rejected_without_output(provider, tmp_path, params, message):
    target = tmp_path / "stations.gpkg"
    with pytest.raises(QgsProcessingException, match=message):
        run(
            {
                "STATIONS": station_layer(),
                "OBSERVATIONS": observation_layer(),
                **WINDOW,
                **params,
                "OUTPUT_STATIONS": str(target),
            }
        )
    assert not target.exists()


def test_cancel_ends_with_cancelled_and_no_output(provider):
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback
    from social_resilience.algorithms.sensors.aggregate_observations import AggregateObservationsAlgorithm

    alg = AggregateObservationsAlgorithm()
    alg.initAlgorithm()
    feedback = QgsProcessingFeedback()
    feedback.cancel()
    params = {"STATIONS": station_layer(), "OBSERVATIONS": observation_layer(), "OUTPUT_STATIONS": "memory:", **WINDOW}
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        alg.processAlgorithm(params, QgsProcessingContext(), feedback)


def test_duplicate_station_ids_are_rejected(provider):
    stations = station_layer()
    feature = QgsFeature(stations.fields())
    feature.setAttributes(["A", "again"])
    feature.setGeometry(QgsGeometry.fromWkt(f"POINT({X0} {Y0})"))
    stations.dataProvider().addFeatures([feature])
    with pytest.raises(QgsProcessingException, match="more than once"):
        run({"STATIONS": stations, "OBSERVATIONS": observation_layer(), **WINDOW})


def town_layers(sample_town) -> dict[str, str]:
    return {name: f"{sample_town}|layername={name}" for name in ("stations", "observations", "districts")}


def independent_station_means(observations: QgsVectorLayer, prop: str, low: float) -> dict[str, list[float]]:
    values: dict[str, list[float]] = {}
    for feature in observations.getFeatures():
        if feature["property"] == prop and feature["value"] != NULL and feature["value"] >= low:
            values.setdefault(str(feature["station_id"]), []).append(float(feature["value"]))
    return values


def test_sample_town_stations_and_districts(provider, sample_town):
    layers = town_layers(sample_town)
    results = run(
        {
            "STATIONS": layers["stations"],
            "OBSERVATIONS": layers["observations"],
            "AREAS": layers["districts"],
            "PROPERTY": "NO2",
            "THRESHOLD": 40,
            "MIN_VALID": 0,
        }
    )
    observations = QgsVectorLayer(layers["observations"], "obs", "ogr")
    expected = independent_station_means(observations, "no2", 0.0)
    stations = by_key(results["OUTPUT_STATIONS"], "station_id")
    assert set(expected) <= set(stations)
    assert len(expected) >= 3
    for key, values in expected.items():
        assert stations[key]["no2_count"] == len(values)
        assert stations[key]["no2_mean"] == pytest.approx(statistics.fmean(values), rel=1e-9)
        assert stations[key]["no2_median"] == pytest.approx(statistics.median(values), rel=1e-9)
        assert stations[key]["no2_max"] == max(values)
        assert 0 <= stations[key]["no2_hours_above"] <= 720

    districts = QgsVectorLayer(layers["districts"], "districts", "ogr")
    points = {key: f.geometry() for key, f in stations.items()}
    areas = list(results["OUTPUT_AREAS"].getFeatures())
    assert len(areas) == districts.featureCount()
    methods = set()
    for area in areas:
        inside = [key for key, point in points.items() if key in expected and area.geometry().intersects(point)]
        methods.add(area["agg_method"])
        assert area["agg_method"] == ("inside" if inside else "idw")
        if inside:
            assert area["n_stations"] == len(inside)
            assert area["no2_mean"] == pytest.approx(statistics.fmean(stations[k]["no2_mean"] for k in inside))
        else:
            assert area["n_stations"] == min(3, len(expected))
            low = min(s["no2_mean"] for s in stations.values() if s["no2_mean"] != NULL)
            high = max(s["no2_mean"] for s in stations.values() if s["no2_mean"] != NULL)
            assert low <= area["no2_mean"] <= high
    assert methods == {"inside", "idw"}


def test_sample_town_sentinels_are_skipped_with_a_warning(provider, sample_town):
    layers = town_layers(sample_town)
    params = {"STATIONS": layers["stations"], "OBSERVATIONS": layers["observations"], "PROPERTY": "no2"}
    messages = Messages()
    default = by_key(run(params, messages)["OUTPUT_STATIONS"], "station_id")
    clean = by_key(run({**params, "MIN_VALID": 0})["OUTPUT_STATIONS"], "station_id")
    kept = by_key(run({**params, "MIN_VALID": -10000})["OUTPUT_STATIONS"], "station_id")
    faulty = [key for key in kept if kept[key]["no2_count"] != default[key]["no2_count"]]
    assert len(faulty) == 1  # the one faulty NO2 sensor reports -999
    assert kept[faulty[0]]["no2_count"] - default[faulty[0]]["no2_count"] == 6
    assert kept[faulty[0]]["no2_mean"] < default[faulty[0]]["no2_mean"]
    assert all(default[k]["no2_mean"] == clean[k]["no2_mean"] for k in default)
    assert any("6 observations with a no-data code (-999, -9999) were skipped" in w for w in messages.warnings)


def test_sample_town_areas_feed_the_hotspot_score(provider, sample_town):
    import processing

    layers = town_layers(sample_town)
    areas = run(
        {
            "STATIONS": layers["stations"],
            "OBSERVATIONS": layers["observations"],
            "AREAS": layers["districts"],
            "PROPERTY": "noise_laeq",
        }
    )["OUTPUT_AREAS"]
    scored = processing.run(
        "socialresilience:hotspotscore",
        {
            "INPUT": areas,
            "ENV_FIELDS": ["noise_laeq_mean", "noise_laeq_p95"],
            "SOCIAL_FIELDS": ["unemployment", "income"],
            "INVERT_FIELDS": ["income"],
            "METHOD": 2,
            "OUTPUT": "memory:",
        },
    )["OUTPUT"]
    rows = list(scored.getFeatures())
    assert len(rows) == areas.featureCount()
    noise = [f["noise_laeq_mean"] for f in rows]
    assert all(value != NULL for value in noise)
    for feature in rows:  # percentile rank of the aggregated noise, computed here independently
        expected = 100.0 * sum(other <= feature["noise_laeq_mean"] for other in noise) / len(noise)
        assert feature["noise_laeq_mean_n"] == pytest.approx(expected)
    suppressed = [f for f in rows if f["unemployment"] == NULL and f["income"] == NULL]  # small districts
    assert suppressed
    assert all(f["score"] == NULL and f["rank"] == NULL and f["n_missing"] == 2 for f in suppressed)
    ranked = [f for f in rows if f["rank"] != NULL]
    assert len(ranked) == len(rows) - len(suppressed)
    assert min(f["rank"] for f in ranked) == 1
    assert max(f["env_score"] for f in rows) == pytest.approx(10.0)


def test_through_qgis_process(qgis_process, sample_town, tmp_path):
    layers = town_layers(sample_town)
    target = tmp_path / "stations.gpkg"
    report = qgis_process.run_algorithm(
        ALG,
        {
            "STATIONS": layers["stations"],
            "OBSERVATIONS": layers["observations"],
            "PROPERTY": "air_temperature",
            "START": "2024-06-15T00:00:00Z",
            "END": "2024-06-22T00:00:00Z",
            "THRESHOLD": 25,
            "OUTPUT_STATIONS": str(target),
        },
    )
    layer = QgsVectorLayer(report["results"]["OUTPUT_STATIONS"], "stations", "ogr")
    assert layer.isValid()
    observations = QgsVectorLayer(layers["observations"], "obs", "ogr")
    start = datetime(2024, 6, 15, tzinfo=timezone.utc)
    end = datetime(2024, 6, 22, tzinfo=timezone.utc)
    counts: dict[str, int] = {}
    for feature in observations.getFeatures():
        time = feature["time"].toPyDateTime().replace(tzinfo=timezone.utc)
        if feature["property"] == "air_temperature" and feature["value"] != NULL and start <= time < end:
            counts[feature["station_id"]] = counts.get(feature["station_id"], 0) + 1
    out = by_key(layer, "station_id")
    assert counts
    assert {k: out[k]["air_temperature_count"] for k in counts} == counts
    assert all(0 <= f["air_temperature_hours_above"] <= 168 for f in out.values() if f["air_temperature_count"])


def test_real_sensor_community_archive_through_the_import(provider):
    """Sensor.Community SDS011 archive (one evening, Aberdeen): import, aggregate, compare with the CSV."""
    import csv as csv_module

    import processing

    path = shared_data("sensors", "sensor_community", "sc_archive_2018-07-07_sds011_sensor_15092_abdn.csv")
    imported = processing.run(
        "socialresilience:importsensorfeed",
        {"FORMAT": 2, "SOURCE": str(path), "OUTPUT_STATIONS": "memory:", "OUTPUT_OBSERVATIONS": "memory:"},
    )
    results = run(
        {
            "STATIONS": imported["OUTPUT_STATIONS"],
            "OBSERVATIONS": imported["OUTPUT_OBSERVATIONS"],
            "PROPERTY": "pm10",
            "START": "2018-07-07T21:00:00Z",
            "THRESHOLD": 14,
        }
    )
    with open(path, newline="", encoding="utf-8") as handle:
        rows = [r for r in csv_module.DictReader(handle, delimiter=";") if r["timestamp"] >= "2018-07-07T21"]
    values = [float(r["P1"]) for r in rows]
    hourly: dict[str, list[float]] = {}
    for r in rows:
        hourly.setdefault(r["timestamp"][:13], []).append(float(r["P1"]))
    (station,) = results["OUTPUT_STATIONS"].getFeatures()
    assert station["pm10_count"] == len(values) > 50
    assert station["pm10_mean"] == pytest.approx(statistics.fmean(values), rel=1e-12)
    assert station["pm10_median"] == pytest.approx(statistics.median(values), rel=1e-12)
    assert station["pm10_max"] == max(values)
    assert station["pm10_hours_above"] == sum(statistics.fmean(v) > 14 for v in hourly.values()) == 2
