"""aggregateobservations with TIME_STEP: one row per station (and area) and local calendar step."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from qgis.core import NULL

ALG = "socialresilience:aggregateobservations"
BERLIN = ZoneInfo("Europe/Berlin")


def run(town, extra: dict) -> dict:
    import processing

    return processing.run(ALG, {
        "STATIONS": f"{town}|layername=stations", "OBSERVATIONS": f"{town}|layername=observations",
        "AREAS": f"{town}|layername=districts", "PROPERTY": "no2", "DAY_MEAN_THRESHOLD": 25,
        "OUTPUT_STATIONS": "memory:", "OUTPUT_AREAS": "memory:", **extra,
    })


def rows(layer) -> list[dict]:
    names = layer.fields().names()
    return [dict(zip(names, f.attributes())) for f in layer.getFeatures()]


def seconds(value) -> float:
    return value.toMSecsSinceEpoch() / 1000.0


def same(a, b) -> bool:
    if a == NULL or b == NULL:
        return a == b
    return bool(np.isclose(a, b, rtol=1e-12, atol=1e-12))


@pytest.fixture(scope="module")
def daily(sample_town):
    return run(sample_town, {"TIME_STEP": 0})


def test_days_are_local_and_cover_the_observations(daily):
    stations = rows(daily["OUTPUT_STATIONS"])
    starts = sorted({seconds(row["step_start"]) for row in stations})
    local = [datetime.fromtimestamp(s, BERLIN) for s in starts]
    assert local[0].date().isoformat() == "2024-06-01"
    assert local[-1].date().isoformat() == "2024-07-01"  # the last observation is 01:00 local on 1 July
    assert all((t.hour, t.minute) == (0, 0) for t in local)
    assert len(stations) == 8 * len(starts) == 8 * 31
    assert all(seconds(row["step_end"]) - seconds(row["step_start"]) == 86400 for row in stations)
    assert len(rows(daily["OUTPUT_AREAS"])) == 64 * 31


@pytest.mark.parametrize("day", [1, 15, 30])
def test_a_day_equals_a_window_run_over_that_local_day(sample_town, daily, day):
    start = datetime(2024, 6, day, tzinfo=BERLIN)
    end = datetime(2024, 6, day + 1, tzinfo=BERLIN) if day < 30 else datetime(2024, 7, 1, tzinfo=BERLIN)
    window = run(sample_town, {"START": start.astimezone(timezone.utc).isoformat(),
                               "END": end.astimezone(timezone.utc).isoformat()})
    step = start.timestamp()
    for output, key in (("OUTPUT_STATIONS", "station_id"), ("OUTPUT_AREAS", "district_id")):
        of_day = {row[key]: row for row in rows(daily[output]) if seconds(row["step_start"]) == step}
        alone = {row[key]: row for row in rows(window[output])}
        assert set(of_day) == set(alone)
        fields = [name for name in alone[next(iter(alone))] if name.startswith("no2_")] + ["agg_method", "n_stations"]
        fields = [name for name in fields if name in of_day[next(iter(of_day))]]
        assert "no2_mean" in fields
        assert "no2_days_mean_above" in fields
        for key_value, row in alone.items():
            assert all(same(row[name], of_day[key_value][name]) if not isinstance(row[name], str)
                       else row[name] == of_day[key_value][name] for name in fields), (output, key_value)


def test_without_time_step_the_output_is_one_window(sample_town):
    result = run(sample_town, {})
    stations = rows(result["OUTPUT_STATIONS"])
    assert len(stations) == 8
    assert "step_start" not in stations[0]


def test_months_through_qgis_process(qgis_process, sample_town, tmp_path):
    from qgis.core import QgsVectorLayer

    output = tmp_path / "areas.gpkg"
    report = qgis_process.run_algorithm(ALG, {
        "STATIONS": f"{sample_town}|layername=stations", "OBSERVATIONS": f"{sample_town}|layername=observations",
        "AREAS": f"{sample_town}|layername=districts", "PROPERTY": "no2", "TIME_STEP": 2,
        "OUTPUT_STATIONS": tmp_path / "stations.gpkg", "OUTPUT_AREAS": output,
    })
    assert "OUTPUT_AREAS" in report["results"]
    layer = QgsVectorLayer(str(output), "areas", "ogr")
    months = sorted({f["step_start"].toString("yyyy-MM-ddTHH:mm") for f in layer.getFeatures()})
    assert months == ["2024-05-31T22:00", "2024-06-30T22:00"]  # June and July, local midnight in UTC
    july = [f for f in layer.getFeatures() if f["step_start"].toString("MM-dd") == "06-30"]
    assert all(f["no2_mean"] == NULL for f in july)  # one hour of July: below MIN_COVERAGE
    assert layer.featureCount() == 2 * 64
