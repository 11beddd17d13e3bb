"""Server-side inline SVG charts for the similarity pages (no JavaScript). The methodology page's Markdown is
rendered by `schoolpartners.markdown`.

Charts are accessible: `role="img"`, a `<title>` and `<desc>` referenced by `aria-labelledby`, and every value is
also written as text in the chart and in the table printed beside it. Series are told apart by line style and
direct labels, not by colour alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

GREEN, RED, GREY, BLUE, BLACK = "#00703c", "#d4351c", "#505a5f", "#1d70b8", "#0b0c0c"
FLAG_COLOUR = {"strength": GREEN, "weakness": RED, "none": GREY}


def _n(x: float) -> str:
    return f"{x:.1f}"


@dataclass(frozen=True)
class Bar:
    label: str
    z: float | None
    flag: str  # strength | weakness | none


def zscore_chart(bars: Sequence[Bar], chart_id: str, title: str, limit: float = 3.0) -> SafeString:
    """Horizontal bars of z-scores around a zero axis (values beyond ±limit are clipped and marked)."""
    label_w, plot_w, value_w, row_h, top = 300, 320, 150, 30, 30
    width = label_w + plot_w + value_w
    height = top + row_h * max(len(bars), 1) + 30
    zero = label_w + plot_w / 2
    scale = (plot_w / 2) / limit
    desc_parts = []
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" class="sp-chart" role="img" font-family="GDS Transport, '
        f'arial, sans-serif" viewBox="0 0 {width} {height}" '
        f'width="{width}" aria-labelledby="{chart_id}-title {chart_id}-desc" id="{chart_id}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]
    body = []
    for t in range(-int(limit), int(limit) + 1):
        x = zero + t * scale
        stroke, sw = (BLACK, 2) if t == 0 else ("#b1b4b6", 1)
        body.append(
            f'<line x1="{_n(x)}" y1="{top - 6}" x2="{_n(x)}" y2="{height - 24}" stroke="{stroke}" stroke-width="{sw}"/>'
            f'<text x="{_n(x)}" y="{height - 8}" text-anchor="middle" font-size="13" fill="{BLACK}">'
            f"{'0' if t == 0 else f'{t:+d}'}</text>"
        )
    body.append(
        f'<text x="{_n(zero)}" y="16" text-anchor="middle" font-size="13" fill="{BLACK}">'
        "z-score within the family (below the family mean ← 0 → above)</text>"
    )
    for i, b in enumerate(bars):
        y = top + i * row_h
        body.append(
            f'<text x="{label_w - 8}" y="{y + row_h / 2 + 5:.1f}" text-anchor="end" font-size="14" '
            f'fill="{BLACK}">{escape(b.label[:44])}</text>'
        )
        if b.z is None:
            body.append(
                f'<text x="{_n(zero + 6)}" y="{y + row_h / 2 + 5:.1f}" font-size="13" fill="{GREY}">no z-score</text>'
            )
            desc_parts.append(f"{b.label}: no z-score")
            continue
        z = max(-limit, min(limit, b.z))
        x0, x1 = (zero, zero + z * scale) if z >= 0 else (zero + z * scale, zero)
        colour = FLAG_COLOUR.get(b.flag, GREY)
        body.append(
            f'<rect x="{_n(x0)}" y="{y + 6}" width="{_n(max(x1 - x0, 1))}" height="{row_h - 12}" fill="{colour}"/>'
        )
        clipped = " (beyond the scale)" if abs(b.z) > limit else ""
        flag = "" if b.flag == "none" else f", {b.flag}"
        body.append(
            f'<text x="{label_w + plot_w + 8}" y="{y + row_h / 2 + 5:.1f}" font-size="14" fill="{BLACK}">'
            f"z = {b.z:+.2f}{escape(flag)}</text>"
        )
        desc_parts.append(f"{b.label}: z = {b.z:+.2f}{flag}{clipped}")
    parts.append(f'<desc id="{chart_id}-desc">{escape("; ".join(desc_parts) or "No measures")}.</desc>')
    parts.extend(body)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every label is escaped above


@dataclass(frozen=True)
class Series:
    label: str
    points: Mapping[int, float | None]  # radius -> percent
    colour: str = BLUE
    dash: str = ""  # SVG stroke-dasharray ("" solid)


def coverage_chart(series: Sequence[Series], chart_id: str, title: str, max_x: int = 100) -> SafeString:
    """Coverage (%) against radius (miles): one line per series with markers and a direct label."""
    left, right, top, bottom = 60, 230, 20, 50
    pw, ph = 480, 280
    width, height = left + pw + right, top + ph + bottom

    def px(r: float) -> float:
        return left + pw * r / max_x

    def py(p: float) -> float:
        return top + ph * (1 - p / 100)

    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" class="sp-chart" role="img" font-family="GDS Transport, '
        f'arial, sans-serif" viewBox="0 0 {width} {height}" '
        f'width="{width}" aria-labelledby="{chart_id}-title {chart_id}-desc" id="{chart_id}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]
    desc = []
    for s in series:
        text = ", ".join(f"{r} miles {p:.1f}%" for r, p in sorted(s.points.items()) if p is not None)
        desc.append(f"{s.label}: {text}")
    parts.append(f'<desc id="{chart_id}-desc">{escape("; ".join(desc))}.</desc>')
    for p in range(0, 101, 20):
        y = py(p)
        parts.append(
            f'<line x1="{left}" y1="{_n(y)}" x2="{left + pw}" y2="{_n(y)}" stroke="#b1b4b6" stroke-width="1"/>'
            f'<text x="{left - 8}" y="{_n(y + 5)}" text-anchor="end" font-size="13" fill="{BLACK}">{p}%</text>'
        )
    radii = sorted({r for s in series for r in s.points})
    for r in radii:
        parts.append(
            f'<text x="{_n(px(r))}" y="{top + ph + 20}" text-anchor="middle" font-size="13" fill="{BLACK}">{r}</text>'
        )
    parts.append(
        f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="{BLACK}" stroke-width="1.5"/>'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="{BLACK}" stroke-width="1.5"/>'
        f'<text x="{left + pw / 2}" y="{height - 8}" text-anchor="middle" font-size="14" fill="{BLACK}">'
        "Radius (miles)</text>"
    )
    label_ys: list[float] = []
    for s in series:
        pts: list[tuple[int, float]] = [(r, p) for r, p in sorted(s.points.items()) if p is not None]
        if not pts:
            continue
        path = " ".join(f"{'M' if i == 0 else 'L'}{_n(px(r))},{_n(py(p))}" for i, (r, p) in enumerate(pts))
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        parts.append(f'<path d="{path}" fill="none" stroke="{s.colour}" stroke-width="3"{dash}/>')
        for rx, pc in pts:
            parts.append(f'<circle cx="{_n(px(rx))}" cy="{_n(py(pc))}" r="4" fill="{s.colour}"/>')
        # direct label at the end of the line, nudged apart from the previous labels
        ly = py(pts[-1][1]) + 5
        for other in label_ys:
            if abs(ly - other) < 16:
                ly = other + 16
        label_ys.append(ly)
        parts.append(
            f'<text x="{left + pw + 10}" y="{_n(ly)}" font-size="13" fill="{BLACK}">'
            f"{escape(s.label)} {pts[-1][1]:.1f}%</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every label is escaped above
