"""Shared pytest fixtures: the real data pack, and headless Chromium for functional tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

PACK = Path(__file__).resolve().parent.parent / "shared" / "data"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    """Every test starts with empty caches (whole-page cache, option lists), whatever ran before it."""
    from django.core.cache import caches

    for cache in caches.all():
        cache.clear()
    yield


@pytest.fixture(scope="session")
def pack_dir() -> Path:
    """The real DfE/Ofsted data pack (../shared/data). Skipped when absent, unless REQUIRE_PACK=1 (CI)."""
    if not (PACK / "README.md").exists():
        if os.environ.get("REQUIRE_PACK"):
            pytest.fail(f"data pack not found at {PACK}")
        pytest.skip("data pack ../shared/data not present")
    return PACK


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Debian Chromium driven by Playwright. Skipped when absent, unless REQUIRE_BROWSER=1 (CI)."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"Chromium not found at {CHROMIUM}")
        pytest.skip("Chromium not installed")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    """A fresh browser page. Every functional test also asserts that the page broke no Content-Security-Policy
    rule (the browser reports each refused script, style or image on the console)."""
    context = browser.new_context()  # type: ignore[attr-defined]
    pg = context.new_page()
    violations: list[str] = []
    pg.on(
        "console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None
    )
    pg.csp_violations = violations  # type: ignore[attr-defined]
    yield pg
    context.close()
    assert violations == [], f"Content-Security-Policy violations: {violations}"


AXE_JS = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"


def run_axe(page: object) -> list[dict[str, object]]:
    """Inject axe-core into the page and return violations of impact serious or critical."""
    # evaluated through the DevTools protocol: an injected <script> would (rightly) be refused by the page's CSP
    page.evaluate(AXE_JS.read_text(encoding="utf-8"))  # type: ignore[attr-defined]
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")  # type: ignore[attr-defined]
    return [v for v in result["violations"] if v.get("impact") in {"serious", "critical"}]
