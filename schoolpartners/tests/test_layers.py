"""The import-linter contracts of pyproject.toml (`make lint` runs `lint-imports`) hold and bite.

The project's packages are copied to a temporary directory with the project's contract configuration; the
clean copy passes, then violating imports are added to the copy and `lint-imports` must fail naming each
broken contract and the offending import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _local_apps() -> set[str]:
    apps = {entry.split(".")[0] for entry in settings.INSTALLED_APPS}
    return {app for app in apps if (ROOT / app / "__init__.py").exists()}


def test_every_local_app_is_in_the_layers() -> None:
    """A new app (e.g. notifications) must be added to root_packages and placed in a layer."""
    layers = next(c for c in CONFIG["contracts"] if c["id"] == "layers")["layers"]
    named = {name.strip().strip("()") for layer in layers for name in layer.replace("|", ":").split(":")}
    assert _local_apps() <= set(CONFIG["root_packages"])
    assert set(CONFIG["root_packages"]) <= named


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("layers")
    ignore = shutil.ignore_patterns("__pycache__", "static", "templates", "*.pyc", "*.html", "*.json")
    for package in CONFIG["root_packages"]:
        shutil.copytree(ROOT / package, target / package, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_contracts_hold_then_bite(project_copy: Path) -> None:
    clean = _lint(project_copy)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "0 broken" in clean.stdout

    # 1. A lower layer imports a higher one (even lazily, inside a function).
    (project_copy / "schools" / "upward.py").write_text(
        "def summary(urn):\n    from similarity.services import school_summary_context\n\n"
        "    return school_summary_context(urn)\n"
    )
    # 2. A pure core imports Django.
    core = project_copy / "similarity" / "core.py"
    core.write_text(core.read_text() + "\nfrom django.db import models  # noqa: E402\n")
    # 3. Production code imports a tests package.
    (project_copy / "partnerships" / "uses_factories.py").write_text(
        "from schools.tests.factories import SchoolFactory\n"
    )
    broken = _lint(project_copy)
    out = broken.stdout
    assert broken.returncode != 0, out
    assert "3 broken" in out, out
    assert "schools is not allowed to import similarity" in out
    assert "schools.upward -> similarity.services" in out
    assert "similarity.core is not allowed to import django" in out
    assert "partnerships.uses_factories is not allowed to import schools.tests" in out
