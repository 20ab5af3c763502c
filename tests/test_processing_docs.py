"""docs/processing.md is generated from the algorithm definitions and up to date."""

from __future__ import annotations

import importlib.util

from .conftest import REPO


def test_generated_reference_is_current(provider):
    script = REPO / "scripts" / "generate_processing_docs.py"
    spec = importlib.util.spec_from_file_location("generate_processing_docs", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = module.render(provider)
    for alg in provider.algorithms():
        assert f"`{alg.id()}`" in text
    assert (REPO / "docs" / "processing.md").read_text(encoding="utf-8") == text, (
        "docs/processing.md is stale: run scripts/generate_processing_docs.py"
    )
