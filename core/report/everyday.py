"""The report's section on everyday places and the 3-30-300 rule: shares of the residents, in words.

Read from the homes of ``facilityaccess`` (``<category>_n``, ``all_served``) and of ``rule33030``
(``rule_3``, ``rule_30``, ``rule_300``, ``rule_all``); self-contained, so the rest of the report
does not depend on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .words import Translatable

#: The flags of rule33030, in the order of the rule.
RULE_FIELDS = ("rule_3", "rule_30", "rule_300", "rule_all")


@dataclass
class EverydaySummary:
    """Population-weighted shares: per rule of 3-30-300, per category of everyday places, all categories."""

    rules: dict[str, float] | None = None  # rule field -> share
    places: dict[str, float] = field(default_factory=dict)  # category -> share
    all_places: float | None = None

    def __bool__(self) -> bool:
        return self.rules is not None or self.all_places is not None


def _share(population: Sequence[float], flags: Sequence[bool]) -> float | None:
    total = sum(population)
    return sum(p for p, f in zip(population, flags) if f) / total if total > 0 else None


def everyday_summary(
    population: Sequence[float],
    rules: dict[str, Sequence[bool]] | None,
    places: dict[str, Sequence[bool]],
    all_served: Sequence[bool] | None,
) -> EverydaySummary:
    """Shares of the residents per rule (``rules``: field -> flag per home) and per category of places."""
    return EverydaySummary(
        rules=None if rules is None else {name: _share(population, flags) for name, flags in rules.items()},
        places={name: _share(population, flags) for name, flags in places.items()},
        all_places=None if all_served is None else _share(population, all_served),
    )


class EverydayWords(Translatable):
    """The sentences of the section."""

    def category(self, name: str) -> str:
        """Name a category of ``osmwalknetwork`` in words; any other as it is written."""
        known = {
            "grocery": self.tr("a grocery"), "bakery": self.tr("a bakery"), "school": self.tr("a school"),
            "kindergarten": self.tr("a kindergarten"), "doctor": self.tr("a doctor"),
            "pharmacy": self.tr("a pharmacy"), "bus_stop": self.tr("a bus or tram stop"),
            "station": self.tr("a railway station"),
        }  # fmt: skip
        return known.get(name, name.replace("_", " "))

    def sentences(self, summary: EverydaySummary) -> list[str]:
        """One sentence per rule result and per category, in reading order."""
        items = []
        if summary.rules is not None:
            shares = {name: self.percent(summary.rules.get(name)) for name in RULE_FIELDS}
            items.append(self.tr(
                "{all} of residents meet the 3-30-300 rule: {three} see at least 3 trees near their home, {thirty} "
                "have 30 % tree canopy around it and {park} live within walking distance of a park.").format(
                all=shares["rule_all"], three=shares["rule_3"], thirty=shares["rule_30"], park=shares["rule_300"]))
        for name, share in summary.places.items():
            items.append(self.tr("{share} of residents have {place} within walking distance.").format(
                share=self.percent(share), place=self.category(name)))
        if summary.all_places is not None:
            items.append(self.tr("{share} of residents have every one of these places within walking distance.")
                         .format(share=self.percent(summary.all_places)))
        return items
