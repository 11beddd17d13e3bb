"""The shape rules of docs/CONVENTIONS.md that import-linter does not check: no god-files, same file names."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"]
MAX_LINES = 600


def _modules() -> list[Path]:
    paths = [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")]
    paths += list((ROOT / "bench").glob("*.py")) + list((ROOT / "scripts").glob("*.py"))
    return [p for p in paths if "migrations" not in p.parts]


def over_limit(paths: list[Path], root: Path = ROOT, limit: int = MAX_LINES) -> dict[str, int]:
    counts = {str(p.relative_to(root)): len(p.read_text().splitlines()) for p in paths}
    return {name: n for name, n in counts.items() if n > limit}


def test_no_module_over_600_lines() -> None:
    assert over_limit(_modules()) == {}


def test_the_size_check_bites(tmp_path: Path) -> None:
    big = tmp_path / "big.py"
    big.write_text("x = 1\n" * (MAX_LINES + 1))
    small = tmp_path / "small.py"
    small.write_text("x = 1\n" * MAX_LINES)
    assert over_limit([big, small], root=tmp_path) == {"big.py": MAX_LINES + 1}


def test_domains_have_the_same_file_names() -> None:
    """Every domain has models, services (module or package), queries, views, api, urls and tests (schools has
    no services: its only writes are the importers, `schools/importers/`)."""
    missing = {}
    for domain in ("schools", "partnerships", "similarity", "brokerage", "support", "evaluation"):
        base = ROOT / domain
        lacks = [
            name
            for name in ("models", "queries", "views", "api", "urls", "tests")
            if not ((base / f"{name}.py").exists() or (base / name / "__init__.py").exists())
        ]
        if domain != "schools" and not ((base / "services.py").exists() or (base / "services").is_dir()):
            lacks.append("services")
        if lacks:
            missing[domain] = lacks
    assert missing == {}
