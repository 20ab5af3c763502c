"""What a report says, as plain data: key figures, the areas ranked, method facts, sources."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

#: Local Moran cluster labels as ``localhotspots`` writes them.
HIGH_HIGH, LOW_LOW = "High-High", "Low-Low"


@dataclass
class AccessSummary:
    """Who is served: totals of population (or homes) on foot and in a straight line."""

    total: float
    served: float
    served_eucl: float
    #: Not served on foot although served in a straight line (a barrier or detour in between).
    barrier_gap: float

    @property
    def share(self) -> float | None:  # noqa: D102
        return self.served / self.total if self.total > 0 else None

    @property
    def share_eucl(self) -> float | None:  # noqa: D102
        return self.served_eucl / self.total if self.total > 0 else None

    @property
    def not_served(self) -> float:  # noqa: D102
        return self.total - self.served


@dataclass
class HotspotSummary:
    """Counts of the local statistics over the area units."""

    n_units: int
    n_hot: int
    n_cold: int
    n_high_high: int
    n_low_low: int


@dataclass
class AreaRow:
    """One area of the ranked table; None where the input has no such field or value."""

    name: str
    pop: float | None = None
    served_share: float | None = None
    served_share_eucl: float | None = None
    barrier_gap: float | None = None
    dist_median_m: float | None = None
    score_pct: float | None = None
    gi_bin: int | None = None
    lisa_cluster: str | None = None
    priority: int | None = None


@dataclass
class MethodFacts:
    """Parameters of the run, as far as the layers' fields and the report's parameters tell."""

    distance_m: float | None = None
    min_area_ha: float | None = None
    n_green_spaces: int | None = None
    green_area_ha: float | None = None
    population_field: str | None = None
    #: Whether the access figures count residents (else homes).
    counts_residents: bool = False
    #: Whether the population field was found as the one the catchments counted (not given to the report).
    population_from_catchments: bool = False
    #: Whether the homes themselves (RESIDENTIAL) were given: the shares count them or their residents.
    homes: bool = False
    indicators: list[str] = field(default_factory=list)
    local_statistics: bool = False
    n_stations: int | None = None
    equity: bool = False


@dataclass
class Figure:
    """A map or chart: a title, an image source (data URI or resource name) or inline SVG."""

    title: str
    src: str = ""
    svg: str = ""
    caption: str = ""


@dataclass
class ReportContent:
    """Everything the report shows, computed from the layers."""

    title: str
    created: str = ""
    access: AccessSummary | None = None
    hotspots: HotspotSummary | None = None
    areas: list[AreaRow] = field(default_factory=list)
    n_priority: int | None = None
    gini: float | None = None
    method: MethodFacts = field(default_factory=MethodFacts)
    maps: list[Figure] = field(default_factory=list)
    charts: list[Figure] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    everyday: object = None  # everyday.EverydaySummary of facilityaccess / rule33030 homes, when given
    #: Served share of each social group (field of the homes, e.g. ``pop_65plus``), in the order found.
    group_shares: list[tuple[str, float | None]] = field(default_factory=list)
    #: Whether the layers are the synthetic sample town (or made from it).
    synthetic: bool = False


def access_summary(
    population: Sequence[float], served: Sequence[bool], served_eucl: Sequence[bool]
) -> AccessSummary:
    """Totals over homes: ``population`` per home, whether it is served on foot and in a straight line."""
    total = on_foot = straight = gap = 0.0
    for pop, foot, line in zip(population, served, served_eucl):
        total += pop
        on_foot += pop if foot else 0.0
        straight += pop if line else 0.0
        gap += pop if line and not foot else 0.0
    return AccessSummary(total, on_foot, straight, gap)


def group_share(group: Sequence[float], served: Sequence[bool]) -> float | None:
    """Return the served share of a group: its members in served homes / all its members (None without members)."""
    total = sum(group)
    return sum(g for g, s in zip(group, served) if s) / total if total > 0 else None


def counted_population(candidates: dict[str | None, Sequence[float]], served: Sequence[bool],
                       served_total: float) -> str | bool | None:
    """Which population the catchments counted: the candidate whose served sum is ``served_total``.

    ``candidates`` maps a field name (None = every home counts 1) to its value per home; the
    catchments' ``pop_served`` summed over the green spaces is ``served_total``. False when none fits.
    """
    for name, values in candidates.items():
        total = sum(v for v, s in zip(values, served) if s)
        if abs(total - served_total) <= 0.5 + 1e-9 * abs(served_total):
            return name
    return False


def hotspot_summary(gi_bins: Iterable[int | None], clusters: Iterable[str | None]) -> HotspotSummary:
    """Hot and cold spots (Gi* bin above/below 0) and High-High / Low-Low clusters."""
    bins = list(gi_bins)
    labels = list(clusters)
    return HotspotSummary(
        n_units=max(len(bins), len(labels)),
        n_hot=sum(1 for b in bins if b is not None and b > 0),
        n_cold=sum(1 for b in bins if b is not None and b < 0),
        n_high_high=labels.count(HIGH_HIGH),
        n_low_low=labels.count(LOW_LOW),
    )


def _descending(value: float | None) -> float:
    return -value if value is not None and math.isfinite(value) else math.inf


def _ascending(value: float | None) -> float:
    return value if value is not None and math.isfinite(value) else math.inf


def rank_areas(rows: Iterable[AreaRow]) -> list[AreaRow]:
    """Areas in the order to act: priority first, then the lowest served share, then the highest burden."""
    return sorted(
        rows,
        key=lambda r: (-(r.priority or 0), _ascending(r.served_share), _descending(r.score_pct), r.name),
    )
