"""Every algorithm has help in English and German naming each parameter; German is complete."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from html import escape
from pathlib import Path

import pytest
from qgis.PyQt.QtCore import QCoreApplication, Qt, QTranslator

from .conftest import REPO


def _build_translations_module():
    spec = importlib.util.spec_from_file_location("build_translations", REPO / "scripts" / "build_translations.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("language", ["en", "de"])
def test_help_names_every_parameter_and_output_by_its_dialog_label(provider, language):
    """Each parameter and output as the dialog shows it (its label in that language), its id beside it."""
    from social_resilience.algorithms.base import load_help

    translator = QTranslator()
    if language == "de":
        assert translator.load(str(REPO / "i18n" / "social_resilience_de.qm"))
        QCoreApplication.installTranslator(translator)
    try:
        for registered in provider.algorithms():
            alg = registered.createInstance()
            if not alg.parameterDefinitions():
                alg.initAlgorithm({})
            text = load_help(alg.name(), language)
            assert (REPO / "resources" / "help" / language / f"{alg.name()}.html").is_file(), alg.name()
            shown = {p.name(): p.description() for p in alg.parameterDefinitions()}
            shown.update({o.name(): o.description() for o in alg.outputDefinitions() if o.name() not in shown})
            missing = [name for name, label in shown.items()
                       if f"<b>{escape(label, quote=False)}</b> (<code>{name}</code>" not in text]
            assert not missing, f"{language} help of {alg.name()} does not name {missing} by their labels"
    finally:
        QCoreApplication.removeTranslator(translator)


def test_help_holds_no_developer_material():
    """What a GIS officer reads: no test results, floating-point limits or library internals."""
    words = ("10⁻¹⁴", "10⁻⁶", "10<sup>", "reproduced to", "reproduziert", "esda", "numpy", "tested against",
             "getestet", "pytest", "Test-Tracts", "test tracts")
    for path in sorted((REPO / "resources" / "help").glob("*/*.html")):
        text = path.read_text(encoding="utf-8")
        found = [word for word in words if word in text]
        assert not found, f"{path.relative_to(REPO)}: {found}"


def test_where_to_act_help_is_self_contained(provider):
    """Where to act explains every parameter it shares with the catchments itself (no "as in ..." elsewhere)."""
    from social_resilience.algorithms.base import load_help

    for language in ("en", "de"):
        text = load_help("accessimprovements", language)
        assert "as in <i>Barrier-aware" not in text
        assert "wie bei <i>Barrieresensible" not in text
        items = re.findall(r"<li><b>[^<]+</b> \(<code>(\w+)</code>", text)
        assert len(items) == len(set(items))  # one explanation per parameter


def test_every_string_has_a_german_translation():
    module = _build_translations_module()
    messages = module.collect_messages()
    table = module.load_translations()
    assert len(messages) > 10
    missing = [m for m in messages if not table.get(m, "").strip()]
    assert missing == []


def test_german_translation_loads(provider, tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_translations.py")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    translator = QTranslator()
    assert translator.load(str(REPO / "i18n" / "social_resilience_de.qm"))
    QCoreApplication.installTranslator(translator)
    try:
        alg = provider.algorithms()[0]
        assert alg.group() != ""
        assert QCoreApplication.translate("AlgorithmBase", "Sample data") == "Beispieldaten"
        translated = [a.displayName() for a in provider.algorithms()]
    finally:
        QCoreApplication.removeTranslator(translator)
    english = [a.displayName() for a in provider.algorithms()]
    assert all(t != e for t, e in zip(translated, english)), list(zip(translated, english))


def test_help_reaches_qgis_as_whole_paragraphs(provider):
    """QGIS 3.22's help panel makes a paragraph of every line: no help string may break a line."""
    for alg in provider.algorithms():
        text = alg.shortHelpString()
        assert "<li>" in text or "<p>" in text, alg.name()
        assert "\n" not in text, f"help of {alg.name()} breaks a line: {text[:120]!r}"
        assert "  " not in text, alg.name()


def test_help_button_opens_the_help_file(provider):
    from qgis.PyQt.QtCore import QUrl

    for alg in provider.algorithms():
        url = QUrl(alg.helpUrl())
        assert url.isLocalFile(), alg.name()
        path = url.toLocalFile()
        assert path.endswith(f"/{alg.name()}.html")
        assert "<code>" in Path(path).read_text(encoding="utf-8")


def test_legend_labels_follow_the_language(provider):
    """A style applied by the plugin shows German legend labels when QGIS runs in German."""
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback, QgsVectorLayer
    from social_resilience.algorithms.style_on_load import StyleOnLoad

    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_translations.py")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    translator = QTranslator()
    assert translator.load(str(REPO / "i18n" / "social_resilience_de.qm"))
    layers = {}
    for language, install in (("en", False), ("de", True)):
        layer = QgsVectorLayer("Point?crs=EPSG:25832&field=served:integer", "homes", "memory")
        if install:
            QCoreApplication.installTranslator(translator)
        try:
            style = StyleOnLoad("residential_served.qml")
            style.postProcessLayer(layer, QgsProcessingContext(), QgsProcessingFeedback())
        finally:
            QCoreApplication.removeTranslator(translator)
        layers[language] = sorted(c.label() for c in layer.renderer().categories())
    assert layers["en"] == ["not served", "served"]
    assert layers["de"] == ["nicht versorgt", "versorgt"]


def test_committed_qm_is_current(tmp_path):
    """The committed .qm (German for a git checkout, no build step) equals one built from the .tsv files."""
    module = _build_translations_module()
    fresh = tmp_path / "social_resilience_de.qm"
    assert module.build_qm(module.collect_messages(), module.load_translations(), fresh)
    committed = REPO / "i18n" / "social_resilience_de.qm"
    assert committed.read_bytes() == fresh.read_bytes(), "i18n/social_resilience_de.qm is stale: run make translations"


def test_legend_in_the_layers_panel_shows_the_translated_labels(provider):
    """As in the desktop: the layer is in the project (and its legend in the layers panel) before
    Processing post-processes it; the panel must show the German labels, not the ones it built first."""
    from qgis.core import (
        QgsLayerTreeModel,
        QgsProcessingContext,
        QgsProcessingFeedback,
        QgsProject,
        QgsVectorLayer,
    )
    from social_resilience.algorithms.style_on_load import StyleOnLoad

    translator = QTranslator()
    assert translator.load(str(REPO / "i18n" / "social_resilience_de.qm"))
    project = QgsProject()
    layer = QgsVectorLayer("Polygon?crs=EPSG:25832&field=served:integer", "homes", "memory")
    project.addMapLayer(layer)
    model = QgsLayerTreeModel(project.layerTreeRoot())
    node = project.layerTreeRoot().findLayer(layer.id())
    assert len(model.layerLegendNodes(node)) == 1  # the legend is built: one single symbol
    QCoreApplication.installTranslator(translator)
    try:
        StyleOnLoad("residential_served.qml").postProcessLayer(layer, QgsProcessingContext(), QgsProcessingFeedback())
    finally:
        QCoreApplication.removeTranslator(translator)
    labels = sorted(legend.data(Qt.ItemDataRole.DisplayRole) for legend in model.layerLegendNodes(node))
    assert labels == ["nicht versorgt", "versorgt"]
    project.removeAllMapLayers()
