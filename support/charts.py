"""Inline SVG horizontal bar chart of percentages for the support report (values also in the table)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

BLUE, BLACK = "#1d70b8", "#0b0c0c"


def bar_chart(rows: Sequence[Mapping[str, Any]], chart_id: str, title: str) -> SafeString:
    label_w, plot_w, value_w, row_h, top = 360, 300, 150, 26, 10
    width = label_w + plot_w + value_w
    height = top + row_h * max(len(rows), 1) + 10
    desc = "; ".join(f"{r['name']}: {r['percent'] if r['percent'] is not None else 'no data'}%" for r in rows)
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" class="sp-chart" role="img" font-family="GDS Transport, '
        'arial, sans-serif" '
        f'viewBox="0 0 {width} {height}" width="{width}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" id="{chart_id}">',
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]
    for i, r in enumerate(rows):
        y = top + i * row_h
        p = r.get("percent") or 0.0
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end" font-size="13" '
            f'fill="{BLACK}">{escape(str(r["name"])[:52])}</text>'
        )
        parts.append(
            f'<rect x="{label_w}" y="{y + 4}" width="{plot_w * p / 100:.1f}" height="{row_h - 8}" fill="{BLUE}"/>'
        )
        txt = (
            f"{r['percent']:.1f}% ({r['count']} of {r['base']})"
            if r.get("percent") is not None
            else "no data"
        )
        parts.append(
            f'<text x="{label_w + plot_w * p / 100 + 6:.1f}" y="{y + 17}" font-size="13" fill="{BLACK}">{txt}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - texts escaped
