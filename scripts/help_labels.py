#!/usr/bin/env python3
"""Name parameters and outputs in the help files by the labels the dialog shows (ids in parentheses).

Rewrites ``resources/help/{en,de}/*.html`` in place from the algorithm definitions (German labels through
the committed translation): a list item that starts with ``<code>ID</code>`` becomes
``<b>Label</b> (<code>ID</code>)``, ``<dt><i>Label</i></dt>`` becomes ``<dt><b>Label</b> (<code>ID</code>)</dt>``,
and an id in running text becomes ``<i>Label</i>`` (a unit "(m)" of the label moves out of the sentence).
Idempotent; ``tests/test_help_and_translation.py`` checks the result. Run after adding parameters:
``QT_QPA_PLATFORM=offscreen /usr/bin/python3 scripts/help_labels.py``.
"""

from __future__ import annotations

import re
import sys
import tempfile
from html import escape
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HELP = REPO / "resources" / "help"
ITEM_QUALIFIERS = r"(?:optional|advanced|erweitert|optional, advanced|optional, erweitert)"


def labels(language: str) -> dict[str, dict[str, str]]:
    """Algorithm name -> {parameter or output id: label} as the dialog shows them in ``language``."""
    from qgis.core import QgsApplication
    from qgis.PyQt.QtCore import QCoreApplication, QTranslator

    translator = QTranslator()
    if language == "de":
        translator.load(str(REPO / "i18n" / "social_resilience_de.qm"))
        QCoreApplication.installTranslator(translator)
    try:
        found = {}
        provider = QgsApplication.processingRegistry().providerById("socialresilience")
        for registered in provider.algorithms():
            algorithm = registered.createInstance()
            if not algorithm.parameterDefinitions():
                algorithm.initAlgorithm({})
            names = {p.name(): p.description() for p in algorithm.parameterDefinitions()}
            names.update({o.name(): o.description() for o in algorithm.outputDefinitions() if o.name() not in names})
            found[registered.name()] = names
        return found
    finally:
        QCoreApplication.removeTranslator(translator)


def convert(text: str, names: dict[str, str]) -> str:
    """The help ``text`` with every id of ``names`` named by its label."""
    label = {ident: escape(value, quote=False) for ident, value in names.items()}
    ids = "|".join(re.escape(i) for i in sorted(names, key=len, reverse=True))

    def item(match: re.Match) -> str:
        codes = re.findall(r"<code>(" + ids + r")</code>", match.group(1))
        qualifier = match.group(2).strip()[1:-1] if match.group(2) else ""
        parts = [f"<b>{label[c]}</b> (<code>{c}</code>" + (f", {qualifier}" if qualifier and len(codes) == 1 else "")
                 + ")" for c in codes]
        return "<li>" + ", ".join(parts) + ":"

    text = re.sub(r"<li>((?:<code>(?:" + ids + r")</code>(?:,\s*|\s+and\s+|\s+und\s+)?)+)(\s*\(" + ITEM_QUALIFIERS
                  + r"\))?:", item, text)
    by_label = {value: ident for ident, value in label.items()}

    def term(match: re.Match) -> str:  # <dt><i>Label</i></dt> or <dt><code>ID</code></dt>: both named
        inner = re.sub(r"<i>(.*?)</i>", lambda i: f"<b>{i.group(1)}</b> (<code>{by_label[i.group(1)]}</code>)"
                       if i.group(1) in by_label else i.group(0), match.group(1))
        named = lambda c: f"<b>{label[c.group(1)]}</b> (<code>{c.group(1)}</code>)"  # noqa: E731
        inner = re.sub(r"(?<!\()<code>(" + ids + r")</code>", named, inner)
        return "<dt>" + inner + "</dt>"

    text = re.sub(r"<dt>(.*?)</dt>", term, text, flags=re.S)

    def mention(match: re.Match) -> str:
        return "<i>" + re.sub(r"\s*\((m|ha)\)$", "", label[match.group(1)]) + "</i>"

    parts = re.split(r"(<b>[^<]*</b> \(<code>[^<]*</code>|<dt>.*?</dt>)", text, flags=re.S)
    for index in range(0, len(parts), 2):  # running text between the named items
        done = re.sub(r"<code>(" + ids + r")</code>", mention, parts[index])
        parts[index] = re.sub(r"(</i>) (m|ha)(?=[\s.,;:)])", r"\1", done)
    return "".join(parts)


def main() -> int:
    from qgis.core import QgsApplication

    application = QgsApplication([], False)
    application.initQgis()
    plugins = Path(tempfile.mkdtemp(prefix="srt_plugins_"))
    (plugins / "social_resilience").symlink_to(REPO, target_is_directory=True)
    sys.path.insert(0, str(plugins))
    import social_resilience

    plugin = social_resilience.classFactory(None)
    plugin.initProcessing()
    for language in ("en", "de"):
        for name, names in labels(language).items():
            path = HELP / language / f"{name}.html"
            text = path.read_text(encoding="utf-8")
            converted = convert(text, names)
            if converted != text:
                path.write_text(converted, encoding="utf-8")
                print(f"rewrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
