"""The live dock archives into PostgreSQL/PostGIS as into a GeoPackage (a real server, tests/postgis_server.py)."""

from __future__ import annotations

from social_resilience.core.live.feed_config import FeedConfig

from .live_helpers import wait_until
from .test_live_dock import click, dock, sta_feed, sta_server, values  # noqa: F401 (fixtures of the dock tests)


def archive_counts(pg, schema: str) -> tuple[int, int]:
    return tuple(pg.query(f"SELECT count(*) FROM {schema}.{table}")[0][0] for table in ("stations", "observations"))


def test_live_feed_archives_into_postgis_without_duplicates(dock, sta_server, pg):  # noqa: F811
    schema = pg.new_schema("live")
    runner = dock.add_feed(sta_feed(sta_server, archive_connection="city", archive_schema=schema))
    assert wait_until(lambda: runner.state == "ok", 10)
    assert archive_counts(pg, schema) == (3, 3)
    assert runner.last_outcome.archived == 3
    sta_server.set_values({1: 14.0, 3: 56.0})
    click(dock.refreshButton)
    assert wait_until(lambda: values(runner.live_layer.layer)["1"] == 14.0, 10)
    assert archive_counts(pg, schema) == (3, 5)
    click(dock.refreshButton)  # nothing new: nothing duplicated
    assert wait_until(lambda: runner.task is None and runner.state == "ok", 10)
    assert archive_counts(pg, schema) == (3, 5)
    assert pg.query(f"SELECT max(value) FROM {schema}.observations WHERE station_id = '3'") == [(56.0,)]


def test_unreachable_postgis_archive_is_reported_and_the_layer_stays_live(dock, sta_server, pg):  # noqa: F811
    runner = dock.add_feed(sta_feed(sta_server, archive_connection="city_down"))
    assert wait_until(lambda: runner.state == "ok", 15)
    assert values(runner.live_layer.layer)["3"] == 55.0
    assert runner.last_outcome.archived is None
    problem = runner.last_outcome.archive_error
    assert "archive city_down (sensors) not written (cannot reach the database of connection 'city_down'" in problem
    assert "the layer keeps updating" in problem


def test_feed_dialog_offers_the_postgis_archive(pg, qgis_parent):
    from social_resilience.ui.feed_dialog import FeedDialog

    config = FeedConfig(name="NO2", format=0, url="http://127.0.0.1:1/v1.1", archive_connection="city",
                        archive_schema="air")
    dialog = FeedDialog(config, qgis_parent)
    assert dialog.archiveConnectionCombo.currentConnection() == "city"
    assert dialog.archiveSchemaEdit.text() == "air"
    dialog.archiveConnectionCombo.setConnection("city_clerk")
    dialog.archiveSchemaEdit.setText("")
    edited = dialog.config()
    assert (edited.archive_connection, edited.archive_schema, edited.archive_path) == ("city_clerk", "sensors", "")
    assert FeedConfig.from_dict(edited.to_dict()) == edited  # saved in the project and in exported JSON
    dialog.archiveWidget.setFilePath("/tmp/live.gpkg")
    assert "Choose one archive: a GeoPackage or a PostgreSQL connection." in dialog.config().problems()
    dialog.deleteLater()
