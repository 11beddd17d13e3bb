"""README's performance table and the docs' benchmark figures are generated from bench/results/*.json
(`scripts/bench_figures.py`); a stale block fails here, so figures cannot drift from the results."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def figures() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_figures", ROOT / "scripts" / "bench_figures.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_table_equals_what_the_results_generate() -> None:
    bf = figures()
    readme = (ROOT / "README.md").read_text()
    assert "<!-- bench:begin performance -->" in readme
    assert bf.render(readme, bf.load_results()) == readme, "run: python scripts/bench_figures.py"


@pytest.mark.parametrize("doc", [p.relative_to(ROOT) for p in figures().documents(ROOT)], ids=str)
def test_every_marked_block_is_current(doc: Path) -> None:
    bf = figures()
    text = (ROOT / doc).read_text()
    assert bf.render(text, bf.load_results()) == text, "run: python scripts/bench_figures.py"


def test_a_changed_result_changes_the_table(tmp_path: Path) -> None:
    bf = figures()
    results = bf.load_results()
    readme = (ROOT / "README.md").read_text()
    results["brokerage"]["networkx_speed_ratio"] = 12345.0
    assert "12,345×" in bf.render(readme, results)
    with pytest.raises(KeyError):
        bf.render("<!-- bench:begin nope -->\n<!-- bench:end nope -->", results)
