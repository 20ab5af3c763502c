"""Every algorithm with PostGIS inputs and ``postgis:``/``postgres://`` outputs gives what it gives with GeoPackage.

The sample town is loaded into the test server (``qgis:importintopostgis``, QGIS's "Export to
PostgreSQL", as an officer loads data) and the demo's chain of algorithms runs twice: once on the
GeoPackage with GeoPackage outputs, once on the PostGIS tables with every output written to
PostGIS and read by the next step from there. Each algorithm's outputs are then compared field by
field and geometry by geometry. The shipped workflows run with PostGIS inputs and outputs too.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import processing
import pytest
from qgis.core import NULL, QgsDataSourceUri, QgsGeometry, QgsProcessingException, QgsVectorLayer
from qgis.PyQt.QtCore import QDate, QDateTime, Qt

from .conftest import shared_data
from .recording_feedback import RecordingFeedback

TOWN_LAYERS = ("network", "barriers", "crossings", "green_spaces", "entrances", "buildings", "districts",
               "stations", "observations")
#: The primary key column PostGIS adds to a table written by Processing (not an algorithm's field).
PG_KEYS = {"id", "fid"}


def load_into_postgis(pg, source: str, schema: str, table: str) -> None:
    """Load a layer with QGIS's own "Export to PostgreSQL" (connection ``city``)."""
    processing.run("qgis:importintopostgis", {
        "INPUT": source, "DATABASE": "city", "SCHEMA": schema, "TABLENAME": table, "PRIMARY_KEY": "fid",
        "GEOMETRY_COLUMN": "geom", "LOWERCASE_NAMES": False, "DROP_STRING_LENGTH": True, "FORCE_SINGLEPART": False,
        "OVERWRITE": True, "CREATEINDEX": True})


@dataclass
class Chain:
    """One run of the demo's chain: where each step read and wrote, and its results."""

    inputs: dict[str, str]
    outputs: dict[str, str] = field(default_factory=dict)  #: "<step>:<OUTPUT>" -> layer source
    results: dict[str, dict] = field(default_factory=dict)
    provider: str = "ogr"
    logs: dict[str, str] = field(default_factory=dict)

    def layer(self, key: str) -> QgsVectorLayer:
        layer = QgsVectorLayer(self.outputs[key], key, self.provider)
        assert layer.isValid(), self.outputs[key]
        return layer


class Destinations:
    """Output destinations of a chain: GeoPackage files, or PostGIS tables in one schema."""

    def __init__(self, folder: Path, pg=None, schema: str = "") -> None:
        self.folder, self.pg, self.schema = folder, pg, schema
        self.count = 0

    def __call__(self, chain: Chain, key: str, geometry: bool = True) -> str:
        table = key.replace(":", "_").lower()
        if self.pg is None:
            path = str(self.folder / f"{table}.gpkg")
            chain.outputs[key] = path
            return path
        self.count += 1
        chain.outputs[key] = self.pg.layer_uri(self.schema, table, "geom" if geometry else None)
        style = "postgis:" if self.count % 2 else "postgres://"  # both spellings Processing accepts
        return self.pg.destination(self.schema, table, style, "geom" if geometry else None)


def source_of(chain: Chain, key: str) -> str:
    """The output ``key`` as an input of the next step (``postgres://`` + URI for PostGIS)."""
    return ("postgres://" if chain.provider == "postgres" else "") + chain.outputs[key]


def run_chain(chain: Chain, out: Destinations, feed: Path) -> Chain:
    """The demo's steps (scripts/demo.sh), each reading the outputs of the steps before from ``chain``."""
    town = chain.inputs

    def step(name: str, algorithm: str, parameters: dict) -> None:
        feedback = RecordingFeedback()
        chain.results[name] = processing.run(f"socialresilience:{algorithm}", parameters, feedback=feedback)
        chain.logs[name] = feedback.text()

    step("import", "importsensorfeed", {
        "FORMAT": 5, "SOURCE": str(feed), "OUTPUT_STATIONS": out(chain, "import:OUTPUT_STATIONS"),
        "OUTPUT_OBSERVATIONS": out(chain, "import:OUTPUT_OBSERVATIONS", geometry=False)})
    step("qc", "sensorqualitycontrol", {
        "INPUT": source_of(chain, "import:OUTPUT_OBSERVATIONS"), "OUTPUT": out(chain, "qc:OUTPUT", geometry=False)})
    step("aggregate", "aggregateobservations", {
        "STATIONS": source_of(chain, "import:OUTPUT_STATIONS"), "OBSERVATIONS": source_of(chain, "qc:OUTPUT"),
        "PROPERTY": "no2", "THRESHOLD": 50, "MIN_VALID": 0, "PRESET": 3, "START": "2024-06-03T00:00:00Z",
        "END": "2024-06-24T00:00:00Z", "AREAS": town["districts"],
        "OUTPUT_STATIONS": out(chain, "aggregate:OUTPUT_STATIONS"),
        "OUTPUT_AREAS": out(chain, "aggregate:OUTPUT_AREAS")})
    step("score", "hotspotscore", {
        "INPUT": source_of(chain, "aggregate:OUTPUT_AREAS"), "ENV_FIELDS": "no2_mean;noise_lden;green_m2_per_inh",
        "SOCIAL_FIELDS": "share_65plus;unemployment;child_poverty;income", "INVERT_FIELDS": "green_m2_per_inh;income",
        "METHOD": 2, "NORMALIZATION": 0, "OUTPUT": out(chain, "score:OUTPUT")})
    step("hotspots", "localhotspots", {
        "INPUT": source_of(chain, "score:OUTPUT"), "FIELD": "score", "WEIGHTS": 0, "PERMUTATIONS": 999, "SEED": 1,
        "OUTPUT": out(chain, "hotspots:OUTPUT")})
    green = {"NETWORK": town["network"], "GREEN_SPACES": town["green_spaces"], "BARRIERS": town["barriers"],
             "CROSSINGS": town["crossings"], "ENTRANCES": town["entrances"], "RESIDENTIAL": town["buildings"],
             "POPULATION_FIELD": "population", "DISTANCE": 400, "MIN_AREA_HA": 2}
    step("catchments", "greenspacecatchments", {
        **green, "OUTPUT_CATCHMENTS": out(chain, "catchments:OUTPUT_CATCHMENTS"),
        "OUTPUT_GREEN_SPACES": out(chain, "catchments:OUTPUT_GREEN_SPACES"),
        "OUTPUT_RESIDENTIAL": out(chain, "catchments:OUTPUT_RESIDENTIAL")})
    step("equity", "greenequity", {
        "RESIDENTIAL": source_of(chain, "catchments:OUTPUT_RESIDENTIAL"), "POPULATION_FIELD": "population",
        "GROUP_FIELDS": "pop_65plus;pop_children", "AREAS": source_of(chain, "hotspots:OUTPUT"),
        "BURDEN_FIELD": "score_pct", "OUTPUT": out(chain, "equity:OUTPUT")})
    step("improvements", "accessimprovements", {
        **green, "KIND": 2, "COUNT": 5, "OUTPUT": out(chain, "improvements:OUTPUT"),
        "OUTPUT_HOMES": out(chain, "improvements:OUTPUT_HOMES")})
    step("report", "report", {
        "AREAS": source_of(chain, "equity:OUTPUT"), "RESIDENTIAL": source_of(chain, "catchments:OUTPUT_RESIDENTIAL"),
        "POPULATION_FIELD": "population", "CATCHMENTS": source_of(chain, "catchments:OUTPUT_CATCHMENTS"),
        "GREEN_SPACES": source_of(chain, "catchments:OUTPUT_GREEN_SPACES"),
        "HOTSPOTS": source_of(chain, "hotspots:OUTPUT"), "STATIONS": source_of(chain, "aggregate:OUTPUT_STATIONS"),
        "MIN_AREA_HA": 2, "TITLE": "Sample town", "OUTPUT_HTML": str(out.folder / f"report_{chain.provider}.html")})
    return chain


@pytest.fixture(scope="module")
def chains(pg, plugin, tmp_path_factory) -> dict[str, Chain]:
    """The chain on GeoPackage and on PostGIS (inputs loaded from the same sample town)."""
    folder = tmp_path_factory.mktemp("chains")
    processing.run("socialresilience:createsampletown", {
        "SEED": 42, "SIZE_KM": 2.0, "OUTPUT": str(folder / "town.gpkg"), "OUTPUT_CSV": str(folder / "feed.csv")})
    schema, out_schema = pg.new_schema("town"), pg.new_schema("results")
    for name in TOWN_LAYERS:
        load_into_postgis(pg, f"{folder / 'town.gpkg'}|layername={name}", schema, name)
    gpkg = Chain({name: f"{folder / 'town.gpkg'}|layername={name}" for name in TOWN_LAYERS})
    postgis = Chain({name: "postgres://" + pg.layer_uri(schema, name) for name in TOWN_LAYERS}, provider="postgres")
    run_chain(gpkg, Destinations(folder), folder / "feed.csv")
    run_chain(postgis, Destinations(folder, pg, out_schema), folder / "feed.csv")
    return {"gpkg": gpkg, "postgis": postgis}


def plain(value):
    """An attribute value as plain Python, equal across providers (numbers to 9 digits, times in UTC)."""
    if value is None or value == NULL:
        return None
    if isinstance(value, QDateTime):
        return value.toUTC().toString(Qt.DateFormat.ISODateWithMs) if value.timeSpec() != Qt.TimeSpec.LocalTime \
            else value.toString("yyyy-MM-ddTHH:mm:ss.zzz")
    if isinstance(value, QDate):
        return value.toString(Qt.DateFormat.ISODate)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return None if math.isnan(value) else float(f"{float(value):.9g}")
    return value


def contents(layer: QgsVectorLayer) -> tuple[list[str], list[tuple]]:
    """Field names (without the key PostGIS adds) and the sorted rows: plain values, then the geometry as WKT."""
    names = [f.name() for f in layer.fields() if f.name() not in PG_KEYS]
    rows = []
    for feature in layer.getFeatures():
        geometry = QgsGeometry(feature.geometry())
        if not geometry.isNull():
            geometry.convertToMultiType()
        rows.append((*(plain(feature[name]) for name in names), None if geometry.isNull() else geometry.asWkt(6)))
    return names, sorted(rows, key=repr)


STEPS = {
    "importsensorfeed": ["import:OUTPUT_STATIONS", "import:OUTPUT_OBSERVATIONS"],
    "sensorqualitycontrol": ["qc:OUTPUT"],
    "aggregateobservations": ["aggregate:OUTPUT_STATIONS", "aggregate:OUTPUT_AREAS"],
    "hotspotscore": ["score:OUTPUT"],
    "localhotspots": ["hotspots:OUTPUT"],
    "greenspacecatchments": ["catchments:OUTPUT_CATCHMENTS", "catchments:OUTPUT_GREEN_SPACES",
                             "catchments:OUTPUT_RESIDENTIAL"],
    "greenequity": ["equity:OUTPUT"],
    "accessimprovements": ["improvements:OUTPUT", "improvements:OUTPUT_HOMES"],
}


@pytest.mark.parametrize("algorithm", list(STEPS))
def test_postgis_inputs_and_outputs_give_the_geopackage_results(chains, algorithm):
    gpkg, postgis = chains["gpkg"], chains["postgis"]
    for key in STEPS[algorithm]:
        expected_names, expected = contents(gpkg.layer(key))
        names, rows = contents(postgis.layer(key))
        assert names == expected_names, key
        assert len(rows) == len(expected) > 0, key
        assert rows == expected, key
    step = STEPS[algorithm][0].split(":")[0]
    numbers = {k: v for k, v in gpkg.results[step].items() if isinstance(v, (int, float))}
    assert {k: postgis.results[step][k] for k in numbers} == numbers


def test_report_from_postgis_layers_says_what_the_geopackage_report_says(chains):
    gpkg, postgis = chains["gpkg"].results["report"], chains["postgis"].results["report"]
    assert postgis["KEY_FIGURES"] == gpkg["KEY_FIGURES"]
    assert postgis["N_HOT"] == gpkg["N_HOT"]
    assert postgis["SERVED_SHARE"] == gpkg["SERVED_SHARE"]
    pages = [Path(result["OUTPUT_HTML"]).read_text(encoding="utf-8") for result in (gpkg, postgis)]
    tables = [page[page.index('<table class="areas">'):page.index("</table>", page.index('<table class="areas">'))]
              for page in pages]
    assert tables[0] == tables[1]
    assert tables[0].count("<tr") == 65
    assert [len(re.findall(r'<img src="data:image/png;base64,', page)) for page in pages] == [5, 5]


def test_aggregation_reads_only_the_property_and_window_from_postgis(chains, pg):
    """The observations are not read whole: the server sends the rows of NO2 in the window, nothing else."""
    uri = QgsDataSourceUri(chains["postgis"].outputs["qc:OUTPUT"])
    table = f'"{uri.schema()}"."{uri.table()}"'
    total, wanted = pg.query(
        f"SELECT count(*), count(*) FILTER (WHERE property = 'no2' AND time >= '2024-06-03' AND time < '2024-06-24') "
        f"FROM {table}")[0]
    assert 0 < wanted < total / 4
    assert f"{wanted} observations read from the PostgreSQL table {uri.schema()}.{uri.table()} (properties and " \
           "window selected by the server)." in chains["postgis"].logs["aggregate"]


def test_osm_walk_network_writes_to_postgis_what_it_writes_to_geopackage(pg, plugin, tmp_path):
    osm = shared_data("osm", "berlin-siegessaeule.osm.gz")
    schema = pg.new_schema("osm")
    outputs = ("OUTPUT_NETWORK", "OUTPUT_BARRIERS", "OUTPUT_CROSSINGS", "OUTPUT_GREEN_SPACES", "OUTPUT_BUILDINGS")
    gpkg = processing.run("socialresilience:osmwalknetwork", {
        "INPUT": str(osm), **{name: str(tmp_path / f"{name.lower()}.gpkg") for name in outputs}})
    postgis = processing.run("socialresilience:osmwalknetwork", {
        "INPUT": str(osm), **{name: pg.destination(schema, name.lower()) for name in outputs}})
    for name in outputs:
        expected = contents(QgsVectorLayer(gpkg[name], name, "ogr"))
        got = contents(QgsVectorLayer(pg.layer_uri(schema, name.lower()), name, "postgres"))
        assert got[0] == expected[0], name
        assert len(got[1]) == len(expected[1]) > 0, name
        assert got[1] == expected[1], name
    assert postgis["N_NETWORK"] == gpkg["N_NETWORK"]
    assert postgis["CRS"] == gpkg["CRS"]


def test_sensor_workflow_with_postgis_areas_and_outputs_through_qgis_process(chains, pg, pg_qgis_process, tmp_path):
    """A scheduled job: connection ``city`` is a pg service; inputs and outputs name the service, no password."""
    schema = pg.new_schema("workflow")
    districts = QgsDataSourceUri(chains["postgis"].inputs["districts"].removeprefix("postgres://"))
    service = "service='city' sslmode=disable"
    areas = f'postgres://{service} table="{districts.schema()}"."districts" (geom)'
    common = {"FORMAT": 5, "SOURCE": Path(chains["gpkg"].inputs["districts"].split("|")[0]).with_name("feed.csv"),
              "PROPERTY": "no2", "MIN_VALID": 0, "ENV_FIELDS": "sensor_mean;heat_days",
              "SOCIAL_FIELDS": "share_65plus;unemployment;child_poverty;income", "INVERT_FIELDS": "income",
              "METHOD": 2, "TITLE": "Sensor hotspots"}
    reference = pg_qgis_process.run_algorithm("socialresilience:sensorhotspotworkflow", {
        **common, "AREAS": chains["gpkg"].inputs["districts"], "hotspots:Hotspots": tmp_path / "hotspots.gpkg",
        "report:Report": tmp_path / "gpkg.html"})
    report = pg_qgis_process.run_algorithm("socialresilience:sensorhotspotworkflow", {
        **common, "AREAS": areas, "hotspots:Hotspots": f'postgis:{service} table="{schema}"."hotspots" (geom)',
        "report:Report": tmp_path / "postgis.html"})
    assert reference["results"]["report:Report"]
    assert report["results"]["report:Report"]
    expected = contents(QgsVectorLayer(str(tmp_path / "hotspots.gpkg"), "hotspots", "ogr"))
    got = contents(QgsVectorLayer(pg.layer_uri(schema, "hotspots"), "hotspots", "postgres"))
    assert got == expected
    assert len(got[1]) == 64
    pages = [(tmp_path / f"{name}.html").read_text(encoding="utf-8") for name in ("gpkg", "postgis")]
    assert [re.findall(r"\d+ of 64 areas are hot spots", page) for page in pages] == \
        [re.findall(r"\d+ of 64 areas are hot spots", pages[0])] * 2 != [[], []]


def test_green_workflow_with_postgis_areas_and_outputs(pg, plugin, tmp_path):
    from .test_workflows import _grid_over

    osm = shared_data("osm", "hoyerswerda.osm.pbf")
    schema = pg.new_schema("green")
    load_into_postgis(pg, _grid_over(osm, tmp_path / "areas.gpkg"), schema, "areas")
    common = {"OSM_FILE": str(osm), "DISTANCE": 400, "MIN_AREA_HA": 2, "TITLE": "Hoyerswerda"}
    reference = processing.run("socialresilience:greenaccessworkflow", {
        **common, "AREAS": str(tmp_path / "areas.gpkg"), "report:Report": str(tmp_path / "gpkg.html"),
        "catchments:Homes with green access": str(tmp_path / "homes.gpkg"),
        "equity:Green access by area": str(tmp_path / "equity.gpkg")})
    result = processing.run("socialresilience:greenaccessworkflow", {
        **common, "AREAS": "postgres://" + pg.layer_uri(schema, "areas"),
        "report:Report": str(tmp_path / "postgis.html"),
        "catchments:Homes with green access": pg.destination(schema, "homes"),
        "equity:Green access by area": pg.destination(schema, "equity", "postgres://")})
    for table, path in (("homes", "homes.gpkg"), ("equity", "equity.gpkg")):
        expected = contents(QgsVectorLayer(str(tmp_path / path), table, "ogr"))
        got = contents(QgsVectorLayer(pg.layer_uri(schema, table), table, "postgres"))
        assert got == expected, table
        assert len(got[1]) > 0, table
    pages = [Path(r["report:Report"]).read_text(encoding="utf-8") for r in (reference, result)]
    share = re.findall(r"[\d.]+ % of homes lie within 400 m on foot", pages[0])
    assert share
    assert re.findall(r"[\d.]+ % of homes lie within 400 m on foot", pages[1]) == share


def test_cancelled_run_drops_the_postgis_tables_it_created_and_nothing_else(pg, plugin, tmp_path):
    osm = shared_data("osm", "berlin-siegessaeule.osm.gz")
    schema = pg.new_schema("cancel")
    pg.query(f"CREATE TABLE {schema}.kept (x int); INSERT INTO {schema}.kept VALUES (1)")
    outputs = ("OUTPUT_NETWORK", "OUTPUT_BARRIERS", "OUTPUT_CROSSINGS", "OUTPUT_GREEN_SPACES", "OUTPUT_BUILDINGS")
    feedback = RecordingFeedback()
    feedback.progressChanged.connect(lambda progress: feedback.cancel() if progress >= 92 else None)
    with pytest.raises(QgsProcessingException, match=r"Cancelled\."):
        processing.run("socialresilience:osmwalknetwork", {
            "INPUT": str(osm), **{name: pg.destination(schema, name.lower()) for name in outputs}}, feedback=feedback)
    tables = pg.query("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))
    assert tables == [("kept",)]  # the network table written before the cancel is gone, the table before stays
    assert pg.query(f"SELECT x FROM {schema}.kept") == [(1,)]
