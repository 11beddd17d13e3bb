"""Panels of the school page contributed by higher domains (similarity, evaluation, ...).

`schools` is a low layer: it must not import the domains above it. A higher domain registers a panel in its
`AppConfig.ready()`; the school page renders the panels registered for each of its slots (`SLOTS`), in
`order` (then name). A panel is a template (included with the page's context, so it sees `school` and
`data`) and an optional context provider whose dict is added to the page's context.

    # similarity/apps.py
    def ready(self) -> None:
        from schools.panels import register_panel
        register_panel("similarity", "similarity/_school_summary.html", order=10, context=summary_context)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from schools.models import School

PanelContext = Callable[[School], dict[str, Any]]

#: Where panels go on the school page: "summary" after the school details (before the pupils section),
#: "partnerships" after the trust table (before predecessor and successor schools).
SLOTS = ("summary", "partnerships")


@dataclass(frozen=True)
class Panel:
    name: str
    template: str
    slot: str = "summary"
    order: int = 100
    context: PanelContext | None = None


_PANELS: dict[str, Panel] = {}


def register_panel(
    name: str, template: str, *, slot: str = "summary", order: int = 100, context: PanelContext | None = None
) -> None:
    """Add (or replace, by `name`) a panel of the school page."""
    if slot not in SLOTS:
        raise ValueError(f"Unknown school page slot {slot!r}; one of {SLOTS}")
    _PANELS[name] = Panel(name=name, template=template, slot=slot, order=order, context=context)


def unregister_panel(name: str) -> None:
    _PANELS.pop(name, None)


def panels(slot: str | None = None) -> list[Panel]:
    """The registered panels (of one slot, or all) in page order."""
    chosen = [p for p in _PANELS.values() if slot is None or p.slot == slot]
    return sorted(chosen, key=lambda p: (SLOTS.index(p.slot), p.order, p.name))


def panel_context(school: School) -> dict[str, Any]:
    """The school page's context for its panels: `panels` ({slot: templates in order}) and every provider's
    dict (providers run in page order)."""
    ordered = panels()
    context: dict[str, Any] = {
        "panels": {slot: [p.template for p in ordered if p.slot == slot] for slot in SLOTS}
    }
    for panel in ordered:
        if panel.context is not None:
            context.update(panel.context(school))
    return context
