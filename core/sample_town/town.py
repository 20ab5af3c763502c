"""A seeded synthetic town: walking network with arterial barriers, green spaces, buildings, districts.

Pure numpy, no QGIS. Coordinates are metres in ETRS89 / UTM 32N (EPSG:25832). The town is a
street grid of roughly 125 m blocks split into four quarters by two arterial roads (a
``primary`` running west-east and a ``secondary`` running south-north). Lines share exact
vertices where they connect, like OpenStreetMap ways; the arterials are in the network and
in the barrier layer with identical vertices. Built in so that barrier semantics are testable:

* residential streets meet the arterials at shared vertices, only some of them are crossings;
* a footbridge over the secondary and an underpass below the primary cross without a shared vertex;
* the big park in the north-east touches the primary; the arterial's east arm has no crossing,
  so homes just south of it are close to the park in a straight line but far on foot;
* two green parcels in the north-west, each below 2 ha, are separated only by a 5-8 m footway
  and form one space of more than 2 ha when merged with a 10 m merge distance.

Layout and network: :mod:`.layout`; buildings: :mod:`.buildings`; everyday places, trees and
canopy: :mod:`.everyday`; districts: :mod:`.districts`; hourly sensor observations: :mod:`.sensors`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np

from .buildings import buildings_layer
from .district_months import district_months_layer
from .districts import districts_layer
from .everyday import canopy_layer, places_layer, trees_layer
from .layout import TownBuilder
from .model import (
    CRS_AUTHID,
    LAYER_DESCRIPTIONS,
    MAX_SIZE_KM,
    MIN_SIZE_KM,
    SYNTHETIC_NOTE,
    Layer,
    SampleTown,
    validate_size,
)
from .sensors import OBSERVATION_FIELDS, StationSite, generate_observations

__all__ = [
    "CRS_AUTHID",
    "MAX_SIZE_KM",
    "MIN_SIZE_KM",
    "SYNTHETIC_NOTE",
    "Layer",
    "SampleTown",
    "generate_town",
    "validate_size",
]


def _stations(builder: TownBuilder, districts: Layer) -> list[StationSite]:
    """Roadside stations beside the arterials, background stations in blocks, one in the big park."""
    g = builder.grid
    rng = np.random.default_rng([builder.seed, 4])
    count = int(min(24, max(6, round(4 * builder.size_m / 1000.0))))
    n_road = count // 3 + 1
    sites: list[StationSite] = []
    xa, ya = g.X[g.ia], g.Y[g.ja]
    for k in range(n_road):
        block = int(rng.integers(0, g.n))
        t = float(rng.uniform(0.3, 0.7))
        if k % 2 == 0:
            x, y = g.X[block] + t * (g.X[block + 1] - g.X[block]), ya + (8.0 if k % 4 == 0 else -8.0)
            street = "Hauptstraße"
        else:
            x, y = xa + (8.0 if k % 4 == 1 else -8.0), g.Y[block] + t * (g.Y[block + 1] - g.Y[block])
            street = "Bahnhofstraße"
        sites.append(StationSite("", f"{street} {k + 1}", round(x, 2), round(y, 2), "roadside", 8.0))
    park = next(p for p in builder.parks if p.name == builder.facts["park_across_primary"])
    px, py = (park.rect[0] + park.rect[2]) / 2, (park.rect[1] + park.rect[3]) / 2
    sites.append(StationSite("", park.name, round(px + 20.0, 2), round(py + 20.0, 2), "park", 0.0))
    blocks = [b for b, kind in sorted(builder.block_kind.items()) if kind.startswith("houses") or kind == "apartments"]
    for index in rng.choice(len(blocks), size=count - len(sites), replace=False):
        bi, bj = blocks[int(index)]
        x0, y0, x1, y1 = g.interior(bi, bj)
        sites.append(StationSite("", "", round((x0 + x1) / 2, 2), round((y0 + y1) / 2, 2), "background", 0.0))
    district_rects = [(r[0][0], r[0][1], r[2][0], r[2][1]) for r in districts.geometries]
    district_names = districts.column("name")
    result = []
    for k, site in enumerate(sites, start=1):
        road = min(abs(site.x - xa), abs(site.y - ya))
        district = next((i for i, r in enumerate(district_rects) if r[0] <= site.x < r[2] and r[1] <= site.y < r[3]), 0)
        name = site.name or f"{district_names[district]} (Hintergrund)"
        result.append(StationSite(f"ST{k:02d}", name, site.x, site.y, site.site, round(road, 1), district + 1))
    return result


def generate_town(seed: int = 42, size_km: float = 2.0, progress: Callable[[float], None] | None = None) -> SampleTown:
    """Generate the whole town; ``progress`` gets fractions 0..1 (it may raise to cancel)."""
    validate_size(size_km)
    report = progress or (lambda _fraction: None)
    builder = TownBuilder(int(seed), float(size_km))
    builder.plan()
    builder.build_network()
    report(0.2)
    network, barriers, crossings = builder.network_layers()
    green, entrances = builder.green_layers()
    report(0.3)
    buildings = buildings_layer(builder)
    report(0.5)
    districts = districts_layer(builder, buildings, green)
    sites = _stations(builder, districts)
    stations = Layer(
        "stations",
        "Point",
        [
            ("station_id", "str"),
            ("name", "str"),
            ("site", "str"),
            ("district_id", "int"),
            ("road_dist_m", "real"),
            ("properties", "str"),
            ("last_time", "datetime"),
        ],
        LAYER_DESCRIPTIONS["stations"],
    )
    report(0.6)
    rows, sensor_facts = generate_observations(np.random.default_rng([builder.seed, 5]), sites)
    last_time: dict[str, Any] = {}
    for row in rows:
        last_time[row[0]] = max(last_time.get(row[0], row[4]), row[4])
    for site in sites:
        # station metadata as JSON text, like the stations of the sensor importer
        properties = json.dumps(
            {"site": site.site, "observed_properties": sensor_facts["properties"], "synthetic": True}
        )
        stations.add(
            ((site.x, site.y),),
            site.station_id,
            site.name,
            site.site,
            site.district_id,
            site.road_m,
            properties,
            last_time.get(site.station_id),
        )
    observations = Layer("observations", "NoGeometry", OBSERVATION_FIELDS, LAYER_DESCRIPTIONS["observations"])
    observations.geometries = [None] * len(rows)
    observations.rows = rows
    report(0.9)
    district_months, changes = district_months_layer(builder, districts)
    facts = {**builder.facts, **sensor_facts, "district_changes": changes}
    places = places_layer(builder, buildings)  # own random streams: the layers above stay as they were
    trees = trees_layer(builder)
    everyday = [places, trees, canopy_layer(builder, trees)]
    layers = [network, barriers, crossings, green, entrances, buildings, *everyday, districts, stations, observations]
    layers.append(district_months)
    return SampleTown({layer.name: layer for layer in layers}, facts)
