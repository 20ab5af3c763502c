"""Key figures, labels and method in words (English; German through the translate callback)."""

from __future__ import annotations

from collections.abc import Callable

from .content import AccessSummary, HotspotSummary, MethodFacts, ReportContent
from .numbers import format_count, format_hectares, format_metres, format_percent

#: ``translate(context, text)``, e.g. ``QCoreApplication.translate``; the context is the class name.
Translate = Callable[[str, str], str]


def _identity(context: str, text: str) -> str:
    return text


class Translatable:
    """Base of the classes that write words: ``self.tr`` translates in the context of the class."""

    def __init__(self, language: str = "en", translate: Translate | None = None) -> None:
        self.language = language
        self._translate = translate or _identity

    def tr(self, text: str) -> str:
        """``text`` in the report's language."""
        return self._translate(type(self).__name__, text)

    def percent(self, share: float | None) -> str:  # noqa: D102
        return format_percent(share, self.language)

    def count(self, value: float) -> str:  # noqa: D102
        return format_count(value, self.language)

    def metres(self, value: float | None) -> str:  # noqa: D102
        return format_metres(value, self.language)


class ReportWords(Translatable):
    """The sentences of the report."""

    def key_figures(self, content: ReportContent) -> list[str]:
        """One sentence per key figure, in reading order."""
        sentences: list[str] = []
        if content.access is not None and content.access.total > 0:
            sentences += self._access(content.access, content.method)
        group_sentence = self.groups(content)
        if group_sentence:
            sentences.append(group_sentence)
        if content.n_priority is not None:
            sentences.append(
                self.tr("{n} of {total} areas are priority areas: among the most burdened quarter, "
                        "with a low served share.").format(
                    n=self.count(content.n_priority), total=self.count(len(content.areas)))
            )
        if content.gini is not None:
            sentences.append(
                self.tr("Inequality of green access between the areas (Gini coefficient): {gini} "
                        "(0 = every area equally served, 1 = all access in one area).").format(
                    gini=f"{content.gini:.2f}".replace(".", "," if self.language == "de" else "."))
            )
        if content.hotspots is not None:
            sentences.append(self._hotspots(content.hotspots))
        return sentences

    def groups(self, content: ReportContent) -> str | None:
        """Say the served share of each social group in one sentence (None without groups)."""
        shares = [(name, share) for name, share in content.group_shares if share is not None]
        if not shares:
            return None
        parts = ", ".join(f"{self.group_name(name)} {self.percent(share)}" for name, share in shares)
        return self.tr("Served share by group: {groups}.").format(groups=parts)

    def group_name(self, field: str) -> str:
        """Name a social group in words (``pop_65plus``: residents 65+); an unknown field with spaces."""
        names = {"pop_65plus": self.tr("residents 65+"), "pop_children": self.tr("children under 18")}
        return names.get(field.lower(), field.replace("_", " "))

    def synthetic_notice(self) -> str:
        """Return the warning under the title of a report on the sample town."""
        return self.tr("Synthetic data: these figures describe the sample town of the Social Resilience Toolkit, "
                       "not a real place.")

    def _access(self, access: AccessSummary, method: MethodFacts) -> list[str]:
        distance = (
            self.tr("within {distance} on foot").format(distance=self.metres(method.distance_m))
            if method.distance_m else self.tr("within the walking distance of the analysis")
        )
        green = (
            self.tr("a green space of at least {area}").format(area=format_hectares(method.min_area_ha, self.language))
            if method.min_area_ha else self.tr("a qualifying green space")
        )
        if method.counts_residents:
            first = self.tr("{share} of residents live {distance} of {green}; {share_eucl} would in a straight line.")
            second = self.tr("{n} residents are not served; for {gap} of them the green space is close in a "
                             "straight line, but a barrier or a detour lies in between.")
        else:
            first = self.tr("{share} of homes lie {distance} of {green}; {share_eucl} would in a straight line.")
            second = self.tr("{n} homes are not served; for {gap} of them the green space is close in a "
                             "straight line, but a barrier or a detour lies in between.")
        return [
            first.format(share=self.percent(access.share), distance=distance, green=green,
                         share_eucl=self.percent(access.share_eucl)),
            second.format(n=self.count(access.not_served), gap=self.count(access.barrier_gap)),
        ]

    def _hotspots(self, hot: HotspotSummary) -> str:
        return self.tr(
            "{hot} of {total} areas are hot spots and {cold} cold spots (Getis-Ord Gi*, at least 90 % "
            "confidence); Local Moran's I finds {hh} High-High and {ll} Low-Low clusters."
        ).format(hot=self.count(hot.n_hot), total=self.count(hot.n_units), cold=self.count(hot.n_cold),
                 hh=self.count(hot.n_high_high), ll=self.count(hot.n_low_low))

    def method(self, facts: MethodFacts) -> list[str]:
        """Describe the method and parameters: one item per step that the report's layers show."""
        items: list[str] = []
        if facts.distance_m or facts.min_area_ha or facts.n_green_spaces is not None:
            items.append(self.tr(
                "Green access: walking distance along the network to the nearest entrance or edge of a green "
                "space, major roads and railways crossed only at crossings, bridges or underpasses; "
                "distance {distance}, minimum size {area}.").format(
                distance=self.metres(facts.distance_m),
                area=format_hectares(facts.min_area_ha, self.language) if facts.min_area_ha else "–"))
        if facts.n_green_spaces is not None:
            items.append(self.tr("{n} green spaces qualify, {area} in total.").format(
                n=self.count(facts.n_green_spaces), area=format_hectares(round(facts.green_area_ha or 0.0, 1),
                                                                         self.language)))
        counted = self._counted(facts)
        if counted:
            items.append(counted)
        if facts.equity:
            items.append(self.tr(
                "Equity by area: a home belongs to the area that contains it; served share = residents served "
                "/ residents; priority = burden percentile above 75 and served share below the threshold of the "
                "equity analysis (default 50 %)."))
        if facts.indicators:
            items.append(self.tr("Hotspot score from the indicators: {fields}.").format(
                fields=", ".join(self.indicator_name(name) for name in facts.indicators)))
        if facts.local_statistics:
            items.append(self.tr(
                "Spatial clusters: Getis-Ord Gi* (hot and cold spots at 90, 95 and 99 % confidence) and Local "
                "Moran's I (High-High, Low-Low clusters and outliers) with permutation tests."))
        if facts.n_stations is not None:
            items.append(self.tr("{n} sensor stations.").format(n=self.count(facts.n_stations)))
        return items

    def _counted(self, facts: MethodFacts) -> str | None:
        """Say whom the shares count: residents (from which field, and why that one) or homes."""
        if facts.population_field and facts.population_from_catchments:
            return self.tr("The shares count residents: the field {field} of the homes, as the catchments counted "
                           "them.").format(field=facts.population_field)
        if facts.population_field:
            return self.tr("The shares count residents: the field {field} of the homes.").format(
                field=facts.population_field)
        if facts.homes:
            return self.tr("The shares count homes, each as one (choose the population field of the report to "
                           "count residents).")
        return None

    def indicator_name(self, field: str) -> str:
        """Name an indicator in words: known fields of the sample town and of the sensor aggregation, else the field."""
        name = field.lower()
        if name in self._known_indicators():
            return self._known_indicators()[name]
        for suffix, words in self._statistics().items():
            if name.endswith(suffix) and name[: -len(suffix)]:
                quantity = name[: -len(suffix)]
                return f"{self._quantities().get(quantity, quantity.replace('_', ' '))}: {words}"
        return field.replace("_", " ")

    def _known_indicators(self) -> dict[str, str]:
        return {
            "share_65plus": self.tr("share of residents 65+"), "unemployment": self.tr("unemployment"),
            "child_poverty": self.tr("child poverty"), "income": self.tr("income"),
            "green_m2_per_inh": self.tr("green space per inhabitant"), "no2": self.tr("NO₂"),
            "pm25": self.tr("PM2.5"), "pm10": self.tr("PM10"), "noise_lden": self.tr("noise (Lden)"),
            "heat_days": self.tr("hot days"), "temperature_nights_above": self.tr("tropical nights"),
            "temperature_days_max_above": self.tr("hot days"), "sensor_mean": self.tr("the sensor feed's mean"),
        }

    def _quantities(self) -> dict[str, str]:
        return {"no2": self.tr("NO₂"), "pm25": self.tr("PM2.5"), "pm10": self.tr("PM10"), "o3": self.tr("ozone"),
                "noise_laeq": self.tr("noise"), "noise": self.tr("noise"),
                "temperature": self.tr("air temperature"), "air_temperature": self.tr("air temperature"),
                "sensor": self.tr("the sensor feed")}

    def _statistics(self) -> dict[str, str]:
        return {"_mean": self.tr("mean"), "_median": self.tr("median"), "_max": self.tr("maximum"),
                "_p95": self.tr("95th percentile"), "_hours_above": self.tr("hours above the limit"),
                "_days_max_above": self.tr("days with a maximum above the threshold"),
                "_days_mean_above": self.tr("days with a mean above the limit"),
                "_nights_above": self.tr("nights above the threshold")}
