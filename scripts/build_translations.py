#!/usr/bin/env python3
"""Collect translatable strings from the sources and build the German translation.

Sources of strings: ``self.tr("...")`` (context: the class the call is written in),
module-level ``tr("...")`` (context: the module's file stem), ``QCoreApplication.translate(
"Context", "...")`` and ``QT_TRANSLATE_NOOP("Context", "...")``, ``DISPLAY_NAME = "..."`` class
attributes (context: the class), ``<string>`` texts of ``.ui`` files (context: the form class) and
legend labels of the ``.qml`` styles (context ``styles``: categories, ranges and rules with a letter).
Translations: ``i18n/de/*.tsv`` lines ``context<TAB>English<TAB>German``.

``--check`` lists strings without a German translation and exits 1 if there are any;
otherwise ``i18n/social_resilience_de.ts`` and ``.qm`` (via lrelease) are written. The .qm is
committed, so a git checkout shows the German interface without a build step; a test fails when
it is older than the .tsv files (run ``make translations``).
"""

from __future__ import annotations

import argparse
import ast
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SKIP_DIRS = {"tests", "benchmarks", "scripts", ".venv", ".venv-qt6", "build", "dist", ".git", "docs"}
LRELEASE = ("lrelease", "/usr/lib/qt5/bin/lrelease", "lrelease-qt5")

Message = tuple[str, str]  # (context, source text)


def source_files(suffix: str) -> list[Path]:
    """Plugin files with ``suffix``, without tests, benchmarks and tooling."""
    return sorted(
        path for path in REPO.rglob(f"*{suffix}") if not SKIP_DIRS.intersection(path.relative_to(REPO).parts)
    )


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


class _Collector(ast.NodeVisitor):
    def __init__(self, module: str) -> None:
        self.module = module
        self.classes: list[str] = []
        self.found: list[Message] = []

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.classes.append(node.name)
        for statement in node.body:
            if isinstance(statement, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "DISPLAY_NAME" for t in statement.targets
            ):
                text = _literal(statement.value)
                if text:
                    self.found.append((node.name, text))
        self.generic_visit(node)
        self.classes.pop()

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        args = node.args
        if name == "tr" and args and _literal(args[0]) is not None:
            method = isinstance(func, ast.Attribute)
            context = self.classes[-1] if method and self.classes else self.module
            self.found.append((context, _literal(args[0])))
        elif name in ("translate", "QT_TRANSLATE_NOOP") and len(args) >= 2:
            context, text = _literal(args[0]), _literal(args[1])
            if context is not None and text is not None:
                self.found.append((context, text))
        self.generic_visit(node)


def collect_messages() -> list[Message]:
    """Every translatable (context, text) in the plugin, in a stable order."""
    messages: list[Message] = []
    for path in source_files(".py"):
        collector = _Collector(path.stem)
        collector.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        messages.extend(collector.found)
    for path in source_files(".ui"):
        root = ET.parse(path).getroot()
        context = root.findtext("class") or path.stem
        messages.extend((context, s.text) for s in root.iter("string") if s.text and s.get("notr") != "true")
    messages.extend(style_labels())
    return list(dict.fromkeys(messages))


def style_labels() -> list[Message]:
    """Legend labels of the .qml styles (context ``styles``), translated when a style is applied."""
    labels: list[Message] = []
    for path in source_files(".qml"):
        for element in ET.parse(path).getroot().iter():
            label = element.get("label") if element.tag in ("category", "range", "rule") else None
            if label and any(char.isalpha() for char in label):
                labels.append(("styles", label))
    return labels


def load_translations() -> dict[Message, str]:
    """German translations from ``i18n/de/*.tsv``."""
    table: dict[Message, str] = {}
    for path in sorted((REPO / "i18n" / "de").glob("*.tsv")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) != 3:
                sys.exit(f"{path}:{number}: expected context<TAB>English<TAB>German")
            context, source, german = (p.replace("\\n", "\n") for p in parts)
            table[(context, source)] = german
    return table


def write_ts(messages: list[Message], table: dict[Message, str], path: Path) -> None:
    """Write a Qt Linguist .ts file."""
    root = ET.Element("TS", version="2.1", language="de_DE")
    contexts: dict[str, ET.Element] = {}
    for context, source in messages:
        if context not in contexts:
            contexts[context] = ET.SubElement(root, "context")
            ET.SubElement(contexts[context], "name").text = context
        message = ET.SubElement(contexts[context], "message")
        ET.SubElement(message, "source").text = source
        translation = ET.SubElement(message, "translation")
        if (context, source) in table:
            translation.text = table[(context, source)]
        else:
            translation.set("type", "unfinished")
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report missing translations")
    args = parser.parse_args()
    messages = collect_messages()
    table = load_translations()
    missing = [m for m in messages if not table.get(m, "").strip()]
    if args.check:
        for context, source in missing:
            print(f"missing German translation: {context}\t{source!r}")
        print(f"{len(messages) - len(missing)} of {len(messages)} strings translated")
        return 1 if missing else 0
    qm = REPO / "i18n" / "social_resilience_de.qm"
    if not build_qm(messages, table, qm):
        print("lrelease not found (Debian package qttools5-dev-tools): .qm not built", file=sys.stderr)
        return 1
    print(f"wrote {qm.relative_to(REPO)} ({len(messages) - len(missing)}/{len(messages)} translated)")
    return 0


def build_qm(messages: list[Message], table: dict[Message, str], qm: Path) -> bool:
    """Write ``qm`` (and the .ts beside it) with lrelease; False when lrelease is missing."""
    ts = qm.with_suffix(".ts")
    write_ts(messages, table, ts)
    lrelease = next((tool for tool in LRELEASE if shutil.which(tool)), None)
    if lrelease is None:
        return False
    subprocess.run([lrelease, "-silent", str(ts), "-qm", str(qm)], check=True)
    return True


if __name__ == "__main__":
    sys.exit(main())
