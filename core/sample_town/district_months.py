"""Two years of monthly NO2 per district (2024, 2025): the sample town's input for emerging hot spots.

Pure numpy, its own random stream, so every other layer of a seed stays as it was. 2024 follows the
districts' annual ``no2`` with a winter maximum and a little noise. In 2025 the town acts:

* ``calmed``: the districts along the east arm of the primary get traffic calming; their NO2 falls
  month by month by 6 % until December (still a hot spot, but a fading one: diminishing);
* ``low_emission``: the districts along the north arm of the secondary get a low-emission zone in
  December that halves their NO2 (a hot spot gone in the last month: historical);
* ``greener``: the two quietest districts in the north-west get more trees and a car-free street;
  their NO2 falls by a quarter over the year (a cold spot that grows colder: intensifying);
* ``worsening``: the district half-way up the west edge of the south-west quarter gets a logistics
  hub in October; its NO2 more than doubles by November, its neighbours' rises by half as much (a
  cold spot turned hot, and around it hot spots of the last months: oscillating, new, consecutive).
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

from .layout import TownBuilder
from .model import LAYER_DESCRIPTIONS, Layer

MONTHS = 24
FIRST_YEAR = 2024
#: 2025: share of NO2 the calmed districts lose by December, the greener ones lose, the low-emission ones
#: keep in December; growth of the hub's NO2 (its neighbours get half of it).
CALMED_LOSS, GREENER_LOSS, LOW_EMISSION_KEEPS, HUB_GROWTH = 0.06, 0.25, 0.5, 1.3
#: Winter maximum: January is this share above the annual mean, July as much below.
SEASON = 0.2
#: Month (0 = January of the first year) in which the logistics hub opens.
HUB_OPENS = 21
FIELDS = [("district_id", "int"), ("name", "str"), ("month", "datetime"), ("no2", "real")]


def month_start(index: int) -> datetime:
    """First day of month ``index`` (0 = January of the first year), 00:00 UTC."""
    return datetime(FIRST_YEAR + index // 12, index % 12 + 1, 1, tzinfo=timezone.utc)


def _centres(districts: Layer) -> np.ndarray:
    return np.array([[(r[0][0] + r[2][0]) / 2, (r[0][1] + r[2][1]) / 2] for r in districts.geometries])


def change_groups(builder: TownBuilder, districts: Layer) -> dict[str, list[int]]:
    """District ids (1-based, as ``district_id``) of each kind of change in 2025."""
    g = builder.grid
    xa, ya = g.X[g.ia], g.Y[g.ja]
    centres = _centres(districts)
    half = 1.2 * max(np.ptp(centres[:, 0]) / max(len(set(centres[:, 0])) - 1, 1), 1.0)  # about one district
    ids = np.arange(1, len(centres) + 1)
    calmed = ids[(np.abs(centres[:, 1] - ya) < half) & (centres[:, 0] > xa + half)]
    low_emission = ids[(np.abs(centres[:, 0] - xa) < half) & (centres[:, 1] > ya + half)]
    road = np.minimum(np.abs(centres[:, 0] - xa), np.abs(centres[:, 1] - ya))
    north_west = (centres[:, 0] < xa - half) & (centres[:, 1] > ya + half)
    greener = ids[np.argsort(np.where(north_west, -road, np.inf))[:2]]
    south_west = ids[(centres[:, 0] < xa - half) & (centres[:, 1] < ya - half)]
    if not len(south_west):
        south_west = ids
    west = south_west[np.isclose(centres[south_west - 1, 0], centres[south_west - 1, 0].min())]
    worsening = int(west[np.argsort(centres[west - 1, 1])][len(west) // 2])
    return {
        "calmed": [int(i) for i in calmed],
        "low_emission": [int(i) for i in low_emission],
        "greener": [int(i) for i in greener],
        "worsening": [worsening],
    }


def _factors(builder: TownBuilder, districts: Layer, groups: dict[str, list[int]]) -> np.ndarray:
    """(months × districts) factors of the 2025 changes (1 in 2024)."""
    n = len(districts.rows)
    factors = np.ones((MONTHS, n))
    year = np.arange(MONTHS) - 11  # 1 = January 2025
    ramp = np.clip(year / 12.0, 0.0, 1.0)
    for i in groups["calmed"]:
        factors[:, i - 1] *= 1.0 - CALMED_LOSS * ramp
    for i in groups["greener"]:
        factors[:, i - 1] *= 1.0 - GREENER_LOSS * ramp
    for i in groups["low_emission"]:
        factors[23:, i - 1] *= LOW_EMISSION_KEEPS
    centres = _centres(districts)
    hub = groups["worsening"][0] - 1
    distance = np.hypot(*(centres - centres[hub]).T)
    spacing = np.sort(distance)[1]
    reach = np.where(distance < 0.5 * spacing, 1.0, np.where(distance < 1.5 * spacing, 0.5, 0.0))
    growth = HUB_GROWTH * np.clip((np.arange(MONTHS) - HUB_OPENS + 1) / 2.0, 0.0, 1.0)  # full in its second month
    factors *= 1.0 + growth[:, None] * reach[None, :]
    return factors


def district_months_layer(builder: TownBuilder, districts: Layer) -> tuple[Layer, dict[str, list[int]]]:
    """Return the layer (one polygon per district and month) and the districts of each change."""
    rng = np.random.default_rng([builder.seed, 31])
    groups = change_groups(builder, districts)
    annual = np.array(districts.column("no2"), dtype=float)
    month_of_year = np.arange(MONTHS) % 12
    season = 1.0 + SEASON * np.cos(2 * np.pi * month_of_year / 12.0)  # January highest
    noise = np.exp(rng.normal(0.0, 0.04, (MONTHS, len(annual))))
    values = annual[None, :] * season[:, None] * noise * _factors(builder, districts, groups)
    layer = Layer("district_months", "Polygon", FIELDS, LAYER_DESCRIPTIONS["district_months"])
    names, ids = districts.column("name"), districts.column("district_id")
    for month in range(MONTHS):
        start = month_start(month)
        for k, ring in enumerate(districts.geometries):
            layer.add(ring, ids[k], names[k], start, round(float(values[month, k]), 1))
    return layer, groups
