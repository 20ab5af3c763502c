"""Processing algorithm ``socialresilience:report``: a report for decision makers from the layers of a run."""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeatureRequest,
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)
from qgis.PyQt.QtCore import QCoreApplication

from ...core.charts import bar_chart_svg, lorenz_curve_svg
from ...core.green.equity import gini
from ...core.report.content import Figure, MethodFacts, ReportContent, rank_areas
from ...core.report.everyday import EverydayWords
from ...core.report.html import ReportHtml
from ...core.report.words import ReportWords
from ..base import AlgorithmBase, user_language
from ..common import check_writable, write_file
from ..safe_io import new_files_guard
from . import report_content as read
from . import report_layout
from .report_maps import MapLayer, Theme, ThemeLayer, map_crs, png_data_uri, prepare_crs, render_map

POLYGONS = [QgsProcessing.TypeVectorPolygon]
ANY_GEOMETRY = [QgsProcessing.TypeVectorPoint, QgsProcessing.TypeVectorPolygon]


class ReportAlgorithm(AlgorithmBase):
    """Self-contained HTML (and optional PDF) report: maps, key figures, ranked areas, method, sources."""

    ALGORITHM_ID = "report"
    DISPLAY_NAME = "Report for decision makers"
    GROUP_ID = "decisions"

    LAYERS = ("AREAS", "RESIDENTIAL", "CATCHMENTS", "GREEN_SPACES", "HOTSPOTS", "STATIONS", "EMERGING")

    def initAlgorithm(self, configuration: dict | None = None) -> None:  # noqa: N802, D102
        descriptions = {
            "AREAS": (self.tr("Areas (districts with hotspot and/or equity fields)"), POLYGONS),
            "RESIDENTIAL": (self.tr("Homes with green access (OUTPUT_RESIDENTIAL of the catchments)"), ANY_GEOMETRY),
            "CATCHMENTS": (self.tr("Green-space catchments"), POLYGONS),
            "GREEN_SPACES": (self.tr("Qualifying green spaces"), POLYGONS),
            "HOTSPOTS": (self.tr("Local hotspots (output of localhotspots)"), ANY_GEOMETRY),
            "STATIONS": (self.tr("Sensor stations"), [QgsProcessing.TypeVectorPoint]),
            "EMERGING": (self.tr("Emerging hot spots (OUTPUT of emerginghotspots)"), ANY_GEOMETRY),
        }
        for name in self.LAYERS:
            text, types = descriptions[name]
            self.addParameter(QgsProcessingParameterFeatureSource(name, text, types, optional=True))
        self.addParameter(QgsProcessingParameterField(
            "POPULATION_FIELD",
            self.tr("Residents per home (field of RESIDENTIAL; empty = what the catchments counted)"),
            parentLayerParameterName="RESIDENTIAL", type=QgsProcessingParameterField.Numeric, optional=True))
        self.addParameter(QgsProcessingParameterString(
            "TITLE", self.tr("Title"), defaultValue=self.tr("Green access and environmental hotspots")))
        self.addParameter(QgsProcessingParameterNumber(
            "DISTANCE", self.tr("Walking distance in metres (0 = read from the catchments' distance_m)"),
            QgsProcessingParameterNumber.Double, defaultValue=0.0, minValue=0.0, optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            "MIN_AREA_HA", self.tr("Minimum green-space size in ha used for the catchments (0 = not stated)"),
            QgsProcessingParameterNumber.Double, defaultValue=0.0, minValue=0.0, optional=True))
        self.addParameter(QgsProcessingParameterString(
            "DATA_SOURCES", self.tr("Data sources and licences (one per line or separated by ;)"),
            multiLine=True, optional=True))
        self.addParameter(QgsProcessingParameterBoolean(
            "ADD_LAYOUT", self.tr("Add the maps to the project as a print layout (in the QGIS desktop)"),
            defaultValue=True))
        self.addParameter(QgsProcessingParameterFileDestination(
            "OUTPUT_HTML", self.tr("Report (HTML)"), self.tr("HTML files (*.html)")))
        self.addParameter(QgsProcessingParameterFileDestination(
            "OUTPUT_PDF", self.tr("Report (PDF)"), self.tr("PDF files (*.pdf)"), optional=True,
            createByDefault=False))
        for name, text in (
            ("SERVED_SHARE", self.tr("Share served on foot")),
            ("SERVED_SHARE_EUCLIDEAN", self.tr("Share served in a straight line")),
            ("NOT_SERVED", self.tr("Residents (or homes) not served")),
            ("N_HOT", self.tr("Number of hot spots")),
            ("N_PRIORITY", self.tr("Number of priority areas")),
        ):
            self.addOutput(QgsProcessingOutputNumber(name, text))
        self.addOutput(QgsProcessingOutputString("KEY_FIGURES", self.tr("Key figures in words")))

    def prepareAlgorithm(  # noqa: N802
        self, parameters: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> bool:
        """Open the layers and choose the map CRS here, on the main thread (see ``report_maps.prepare_crs``)."""
        super().prepareAlgorithm(parameters, context, feedback)
        opened = [self.parameterAsVectorLayer(parameters, name, context) for name in self.LAYERS]
        self._synthetic = read.synthetic(opened)  # the sample town's metadata: only the layers themselves have it
        self._inputs = {name: layer for name, layer in zip(self.LAYERS, opened) if layer is not None}
        self._add_layout = self.parameterAsBoolean(parameters, "ADD_LAYOUT", context)
        try:
            self._map_crs = prepare_crs([layer for layer in opened if layer is not None],
                                        context.transformContext(), feedback)
        except QgsProcessingException:
            self._map_crs = None  # processAlgorithm meets the error again and reports it with its message
        return True

    def processAlgorithm(  # noqa: N802, D102
        self, parameters: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict[str, Any]:
        html_path = self.parameterAsFileOutput(parameters, "OUTPUT_HTML", context)
        pdf_path = self.parameterAsFileOutput(parameters, "OUTPUT_PDF", context)
        for path in filter(None, (html_path, pdf_path)):
            check_writable(path)
        layers = self._layers(parameters, context, feedback)
        if not layers:
            raise QgsProcessingException(self.tr(
                "No layer given. Give at least one of AREAS, RESIDENTIAL, CATCHMENTS, GREEN_SPACES, "
                "HOTSPOTS, STATIONS or EMERGING."))
        for message in read.check_fields(layers):
            feedback.pushWarning(message)
        content = self._content(layers, parameters, context)
        feedback.setProgress(20)
        feedback.setProgressText(self.tr("Rendering the maps…"))
        self._report_themes = self._themes(layers)
        content.maps = self._maps(self._report_themes, layers, context, feedback)
        content.charts = self._charts(content) if content.method.equity else []
        language = user_language()
        text = ReportHtml(language, QCoreApplication.translate).render(content)
        results = self._results(content, language, html_path)
        with new_files_guard(html_path, pdf_path):  # a failed run removes what it created
            write_file(html_path, text.encode("utf-8"))
            if pdf_path:
                feedback.setProgressText(self.tr("Writing the PDF…"))
                write_file(pdf_path, self._pdf(content, language))
                results["OUTPUT_PDF"] = pdf_path
        for sentence in results["KEY_FIGURES"].splitlines():
            feedback.pushInfo(sentence)
        self._layout_text = (content.title, content.sources)
        feedback.setProgress(100)
        return results

    def _pdf(self, content: ReportContent, language: str) -> bytes:
        """Return the PDF's bytes (Qt's printer says nothing when it cannot write: it prints to a file of ours)."""
        from .report_pdf import write_pdf

        folder = Path(tempfile.mkdtemp(prefix="srt_report_"))
        try:
            write_pdf(content, language, QCoreApplication.translate, str(folder / "report.pdf"))
            data = (folder / "report.pdf").read_bytes() if (folder / "report.pdf").is_file() else b""
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if not data.startswith(b"%PDF"):
            raise QgsProcessingException(self.tr("Qt could not write the PDF; no report was written."))
        return data

    def postProcessAlgorithm(self, context: QgsProcessingContext, feedback: QgsProcessingFeedback) -> dict:  # noqa: N802
        """In the desktop, add the maps to the project as a print layout (on the main thread, after the run)."""
        results = super().postProcessAlgorithm(context, feedback)
        project = context.project()
        if not (getattr(self, "_add_layout", False) and hasattr(self, "_layout_text") and project is not None
                and report_layout.in_desktop()):
            return results
        title, sources = self._layout_text
        layout = report_layout.add_report_layout(project, title, self._report_themes, self._inputs,
                                                 self._map_crs or QgsCoordinateReferenceSystem(), sources)
        feedback.pushInfo(self.tr("The maps are in the print layout “{}” (Project ▸ Layout Manager), ready to edit "
                                  "and export; their layers are in the group of the same name.").format(layout.name()))
        return results

    def _layers(self, parameters, context, feedback) -> dict:
        """Return the given layers as memory copies (name -> QgsVectorLayer)."""
        layers = {}
        for name in self.LAYERS:
            source = self.parameterAsSource(parameters, name, context)
            if source is None:
                if parameters.get(name):
                    raise QgsProcessingException(self.invalidSourceError(parameters, name))
                continue
            features, reading = self.read_features(source, name, feedback)
            layers[name] = read.memory_layer(source, name, features, reading.output_type(source.wkbType()))
        return layers

    def _content(self, layers: dict, parameters, context) -> ReportContent:
        """Key figures, ranked areas, method facts and sources of the given layers."""
        areas, residential, hot = layers.get("AREAS"), layers.get("RESIDENTIAL"), layers.get("HOTSPOTS")
        population, inferred = self._population(layers, parameters, context)
        facts = MethodFacts(
            distance_m=self.parameterAsDouble(parameters, "DISTANCE", context)
            or read.first_value(layers.get("CATCHMENTS"), "distance_m"),
            min_area_ha=self.parameterAsDouble(parameters, "MIN_AREA_HA", context) or None,
            population_field=population if residential is not None else None,
            population_from_catchments=inferred,
            homes=residential is not None,
            indicators=read.indicators(areas) or read.indicators(hot),
            local_statistics=read.has_fields(hot, read.LOCAL_FIELDS) or read.has_fields(areas, read.LOCAL_FIELDS),
            n_stations=layers["STATIONS"].featureCount() if "STATIONS" in layers else None,
            equity=read.has_fields(areas, read.EQUITY_FIELDS),
        )
        read.green_facts(facts, layers.get("GREEN_SPACES"))
        content = ReportContent(title=self.parameterAsString(parameters, "TITLE", context),
                                created=date.today().isoformat(), method=facts)
        if residential is not None:
            content.everyday = read.everyday(residential, population)
            if not content.everyday or read.has_fields(residential, ("served",)):
                content.access = read.residential_access(residential, population)
            content.group_shares = read.group_shares(residential, read.group_fields(areas, residential))
        elif facts.equity:
            content.access = read.areas_access(areas)
        facts.counts_residents = bool(population) or (residential is None and facts.equity)
        statistics = hot if read.has_fields(hot, read.LOCAL_FIELDS) else areas
        if read.has_fields(statistics, read.LOCAL_FIELDS):
            content.hotspots = read.hotspots(statistics)
        table = areas if areas is not None else hot
        if table is not None:
            content.areas = rank_areas(read.area_rows(table))
        if read.has_fields(table, ("priority",)):
            content.n_priority = sum(1 for row in content.areas if row.priority)
        if facts.equity:
            content.gini = gini([row.pop for row in content.areas], [row.served_share for row in content.areas])
        content.synthetic = getattr(self, "_synthetic", False) or read.synthetic(list(layers.values()))
        content.sources = read.data_sources(
            list(layers.values()), self.parameterAsString(parameters, "DATA_SOURCES", context), content.synthetic)
        return content

    def _population(self, layers: dict, parameters, context) -> tuple[str | None, bool]:
        """Return the field of the homes to count residents by, and whether it was found as the catchments' one.

        Without POPULATION_FIELD, the report counts what the catchments counted (their ``pop_served``
        tells), so that its served share is theirs; when that cannot be told, it counts homes.
        """
        given = self.parameterAsString(parameters, "POPULATION_FIELD", context) or None
        residential = layers.get("RESIDENTIAL")
        if given or residential is None:
            return given, False
        found = read.catchments_population(residential, [layers.get("GREEN_SPACES"), layers.get("CATCHMENTS")])
        return (found, True) if found else (None, False)

    def _themes(self, layers: dict) -> list[Theme]:
        """One map per theme whose layers are given (the layers named by their parameter)."""
        has = lambda key, fields: read.has_fields(layers.get(key), fields)  # noqa: E731
        names = {key: read.name_field(layers[key]) for key in ("AREAS", "HOTSPOTS") if key in layers}
        served_homes = has("RESIDENTIAL", ("served",))
        homes = [ThemeLayer("RESIDENTIAL", "residential_served.qml", self.tr("Homes"))] if served_homes else []
        themes = [Theme(self.tr("Green access"), [
            *homes,
            ThemeLayer("GREEN_SPACES", "sample_town_green_spaces.qml", self.tr("Green spaces")),
            ThemeLayer("CATCHMENTS", "catchments.qml", self.tr("Catchments")),
        ], self.tr("homes served (green) and not served (red) within the walking distance"))]
        for field, style, title in (("rules_met", "rule_33030.qml", self.tr("The 3-30-300 rule")),
                                    ("all_served", "facility_access.qml", self.tr("Everyday places"))):
            if has("RESIDENTIAL", (field,)):
                themes.append(Theme(title, [ThemeLayer("RESIDENTIAL", style, self.tr("Homes"))]))
        if has("AREAS", read.EQUITY_FIELDS):
            themes.append(Theme(self.tr("Green access per area"), [
                ThemeLayer("AREAS", "green_equity.qml", self.tr("Served share"), names["AREAS"])],
                self.tr("share of residents served on foot; priority areas outlined")))
        hot = "HOTSPOTS" if has("HOTSPOTS", read.LOCAL_FIELDS) else "AREAS" if has("AREAS", read.LOCAL_FIELDS) else ""
        if hot:
            themes.append(Theme(self.tr("Hot and cold spots (Getis-Ord Gi*)"), [
                ThemeLayer("STATIONS", "sample_town_stations.qml", self.tr("Sensor stations")),
                ThemeLayer(hot, "gi_bins.qml", self.tr("Gi* hot and cold spots"), names[hot])]))
            themes.append(Theme(self.tr("Clusters and outliers (Local Moran's I)"), [
                ThemeLayer(hot, "lisa_clusters.qml", self.tr("Local Moran clusters"), names[hot])]))
        elif "STATIONS" in layers:
            themes.append(Theme(self.tr("Sensor stations"), [
                ThemeLayer("STATIONS", "sample_town_stations.qml", self.tr("Sensor stations"))]))
        if has("AREAS", ("score_pct",)):
            themes.append(Theme(self.tr("Hotspot score per area"), [
                ThemeLayer("AREAS", "hotspot_score.qml", self.tr("Score percentile"), names["AREAS"])]))
        themes += self._emerging_theme(layers.get("EMERGING"))
        return [theme for theme in themes if any(item.key in layers for item in theme.layers)]

    def _maps(self, themes: list[Theme], layers: dict, context, feedback) -> list[Figure]:
        """Render each theme (a layer drawn in two themes is copied: a layer has one style at a time)."""
        crs = getattr(self, "_map_crs", None) or map_crs(list(layers.values()), feedback)
        figures, used = [], set()
        for theme in themes:
            self.check_cancelled(feedback)
            items = []
            for item in (item for item in theme.layers if item.key in layers):
                layer = self._copy(layers[item.key]) if item.key in used else layers[item.key]
                used.add(item.key)
                items.append(MapLayer(layer, item.style, item.name, item.label_field))
            image = render_map(items, crs, context.transformContext())
            figures.append(Figure(theme.title, src=png_data_uri(image), caption=theme.caption))
        return figures

    def _emerging_theme(self, layer) -> list[Theme]:
        """Return the map of emerging hot spots, its caption counting the areas per category (none without it)."""
        if not read.has_fields(layer, ("category", "category_code")):
            return []
        codes = Counter(feature["category_code"] for feature in layer.getFeatures())
        labels = {feature["category_code"]: feature["category"] for feature in layer.getFeatures()}
        known = [code for code in codes if isinstance(code, int)]
        order = sorted(known, key=lambda code: (code == 0, code < 0, abs(code)))  # hot 1..8, cold, no pattern
        caption = self.tr("areas per category: {}").format(", ".join(f"{labels[c]} {codes[c]}" for c in order))
        title = self.tr("Emerging hot spots: is it getting better or worse?")
        return [Theme(title, [ThemeLayer("EMERGING", "emerging_hotspots.qml", self.tr("Emerging hot spots"))], caption)]

    def _charts(self, content: ReportContent) -> list[Figure]:
        """Chart the served share per area (bars) and the Lorenz curve of green access."""
        translate = partial(QCoreApplication.translate, "charts")
        names = [row.name for row in content.areas]
        shares = [row.served_share for row in content.areas]
        population = [row.pop or 0.0 for row in content.areas]
        bars, lorenz = self.tr("Served share per area"), self.tr("Lorenz curve of green access")
        return [
            Figure(bars, svg=bar_chart_svg(names, shares, bars, percent=True, translate=translate),
                   caption=self.tr("areas from the best to the least served")),
            Figure(lorenz, svg=lorenz_curve_svg(population, shares, lorenz, translate=translate,
                                                decimal="," if user_language() == "de" else "."),
                   caption=self.tr("the farther the curve lies below the diagonal, the more unequal the access")),
        ]

    @staticmethod
    def _copy(layer):
        """Copy a layer to style the same features twice (a layer has one style at a time)."""
        return layer.materialize(QgsFeatureRequest())

    def _results(self, content: ReportContent, language: str, html_path: str) -> dict[str, Any]:
        words = ReportWords(language, QCoreApplication.translate).key_figures(content)
        if content.everyday:
            words += EverydayWords(language, QCoreApplication.translate).sentences(content.everyday)
        access = content.access
        return {
            "OUTPUT_HTML": html_path,
            "SERVED_SHARE": access.share if access else None,
            "SERVED_SHARE_EUCLIDEAN": access.share_eucl if access else None,
            "NOT_SERVED": access.not_served if access else None,
            "N_HOT": content.hotspots.n_hot if content.hotspots else None,
            "N_PRIORITY": content.n_priority,
            "KEY_FIGURES": "\n".join(words),
        }
