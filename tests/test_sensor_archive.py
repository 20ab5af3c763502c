"""The GeoPackage archive: valid in QGIS, idempotent, atomic (also when the writer is killed)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone

import pytest
from qgis.core import QgsVectorLayer, QgsWkbTypes
from social_resilience.core.sensors.archive import ArchiveWriter, archive_counts, gpkg_time
from social_resilience.core.sensors.errors import FeedError
from social_resilience.core.sensors.model import Observation, Station

from .conftest import PLUGIN_PARENT

T0 = datetime(2024, 3, 1, tzinfo=timezone.utc)


def _observations(n: int, source: str = "feed", offset: int = 0) -> list[Observation]:
    return [
        Observation("s1", f"d{i % 3}", "pm10", "µg/m³", T0 + timedelta(minutes=i + offset),
                    None if i % 7 == 0 else float(i), f'{{"value":{i}}}', source)
        for i in range(n)
    ]


def _stations(source: str = "feed", last: datetime = T0) -> list[Station]:
    return [Station("s1", "Station 1", 9.5, 51.3, {"k": "v"}, last, source),
            Station("s2", "No position", None, None, {}, None, source)]


def _write(path, observations, stations) -> tuple[int, int]:
    with ArchiveWriter(path) as writer:
        writer.add_observations(observations)
        writer.upsert_stations(stations, {"s1": T0})
    return writer.counts.new_observations, writer.counts.new_stations


def _fail_while_writing(path, observations) -> None:
    with ArchiveWriter(path) as writer:
        writer.add_observations(observations)
        raise RuntimeError("network gone")


def test_archive_opens_in_qgis_with_both_layers(tmp_path):
    path = tmp_path / "archive.gpkg"
    assert _write(path, _observations(100), _stations()) == (100, 2)
    stations = QgsVectorLayer(f"{path}|layername=stations", "stations", "ogr")
    observations = QgsVectorLayer(f"{path}|layername=observations", "observations", "ogr")
    assert stations.isValid()
    assert observations.isValid()
    assert stations.crs().authid() == "EPSG:4326"
    assert QgsWkbTypes.geometryType(stations.wkbType()) == QgsWkbTypes.PointGeometry
    assert observations.wkbType() == QgsWkbTypes.NoGeometry
    assert stations.featureCount() == 2
    assert observations.featureCount() == 100
    located = next(f for f in stations.getFeatures() if f["station_id"] == "s1")
    assert located.geometry().asPoint().x() == pytest.approx(9.5)
    assert located.geometry().asPoint().y() == pytest.approx(51.3)
    assert stations.extent().xMinimum() == pytest.approx(9.5)
    first = min(observations.getFeatures(), key=lambda f: f["time"])
    assert first["time"].toUTC().toString("yyyy-MM-ddTHH:mm:ss") == "2024-03-01T00:00:00"
    nulls = [f for f in observations.getFeatures() if f["value"] is None or str(f["value"]) == "NULL"]
    assert len(nulls) == len([i for i in range(100) if i % 7 == 0])
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
    assert connection.execute("SELECT data_type FROM gpkg_contents WHERE table_name='observations'").fetchone() == (
        "attributes",)
    assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    connection.close()


def test_repeated_run_neither_loses_nor_duplicates(tmp_path):
    path = tmp_path / "archive.gpkg"
    _write(path, _observations(500), _stations())
    assert _write(path, _observations(500), _stations()) == (0, 0)
    assert archive_counts(path) == (2, 500)
    # an overlapping later run adds only the new keys and moves last_time forward
    new, _ = _write(path, _observations(500, offset=300), _stations(last=T0 + timedelta(days=1)))
    assert new == 300
    assert archive_counts(path) == (2, 800)
    connection = sqlite3.connect(path)
    assert connection.execute("SELECT last_time FROM stations WHERE station_id='s1'").fetchone() == (
        gpkg_time(T0 + timedelta(days=1)),)
    assert connection.execute("SELECT count(*) FROM stations WHERE station_id='s1'").fetchone() == (1,)
    connection.close()
    # the same keys from another source are other rows
    assert _write(path, _observations(10, source="other"), []) == (10, 0)


def test_failed_run_leaves_the_archive_as_it_was(tmp_path):
    path = tmp_path / "archive.gpkg"
    _write(path, _observations(50), _stations())
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        _fail_while_writing(path, _observations(100, offset=1000))
    assert archive_counts(path) == (2, 50)
    assert path.read_bytes() == before
    fresh = tmp_path / "new.gpkg"
    with pytest.raises(RuntimeError):
        _fail_while_writing(fresh, _observations(10))
    assert not fresh.exists()


def test_not_a_geopackage_is_refused(tmp_path):
    text = tmp_path / "notes.gpkg"
    text.write_text("hello")
    with pytest.raises(FeedError, match="GeoPackage"):
        ArchiveWriter(text).open()
    other = tmp_path / "other.sqlite"
    connection = sqlite3.connect(other)
    connection.execute("CREATE TABLE x (a)")
    connection.commit()
    connection.close()
    with pytest.raises(FeedError, match="not a GeoPackage"):
        ArchiveWriter(other).open()
    assert text.read_text() == "hello"


KILLED_WRITER = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timedelta, timezone
    sys.path.insert(0, sys.argv[2])
    from social_resilience.core.sensors.archive import ArchiveWriter
    from social_resilience.core.sensors.model import Observation
    t0 = datetime(2030, 1, 1, tzinfo=timezone.utc)
    writer = ArchiveWriter(sys.argv[1])
    writer.open()
    for chunk in range(10_000):  # far more than it can write before it is killed
        writer.add_observations(
            Observation("s9", "big", "noise", "dB", t0 + timedelta(seconds=chunk * 10_000 + i), float(i), "", "feed")
            for i in range(10_000)
        )
        print(chunk, flush=True)
    writer.commit()
    """
)


@pytest.mark.slow
def test_killed_run_leaves_the_archive_readable_up_to_the_last_commit(tmp_path):
    path = tmp_path / "archive.gpkg"
    _write(path, _observations(1000), _stations())
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(path), str(PLUGIN_PARENT)], stdout=subprocess.PIPE, text=True
    )
    try:
        for _ in range(5):  # wait until it has written 50,000 rows into its open transaction
            assert child.stdout.readline().strip(), "the writer stopped early"
        time.sleep(0.2)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert archive_counts(path) == (2, 1000)
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    connection.close()
    layer = QgsVectorLayer(f"{path}|layername=observations", "observations", "ogr")
    assert layer.isValid()
    assert layer.featureCount() == 1000
    assert _write(path, _observations(1000, offset=600), _stations()) == (600, 0)  # and it takes new runs
