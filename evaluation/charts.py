"""Inline SVG charts for the evaluation pages (no JavaScript): effects with intervals, event-study leads and lags,
and one school's before-and-after against its family. Accessible: role="img", <title>/<desc>, every value is
also in the table beside the chart; series differ by line style and labels, not colour alone."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

BLUE, BLACK, GREY, RED = "#1d70b8", "#0b0c0c", "#505a5f", "#d4351c"
FONT = 'font-family="GDS Transport, arial, sans-serif"'


def _n(x: float) -> str:
    return f"{x:.1f}"


def _fmt(x: float | None, nd: int = 2) -> str:
    return "–" if x is None else f"{x:+.{nd}f}"


def _open(chart_id: str, title: str, desc: str, width: int, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sp-chart" role="img" {FONT} viewBox="0 0 {width} {height}" '
        f'width="{width}" aria-labelledby="{chart_id}-title {chart_id}-desc" id="{chart_id}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]


def _range(values: Sequence[float | None], pad: float = 0.1) -> tuple[float, float]:
    v = [x for x in values if x is not None and math.isfinite(x)] + [0.0]
    lo, hi = min(v), max(v)
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    span = hi - lo
    return lo - pad * span, hi + pad * span


def _wrap(text: str, width: int = 44, lines: int = 3) -> list[str]:
    """Break a label into at most `lines` lines of about `width` characters (words kept whole)."""
    out: list[str] = []
    cur = ""
    for w in text.split():
        if cur and len(cur) + 1 + len(w) > width:
            out.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    if cur:
        out.append(cur)
    if len(out) > lines:
        out = out[: lines - 1] + [" ".join(out[lines - 1 :])]
    return out


def effects_chart(
    rows: Sequence[Mapping[str, Any]], chart_id: str, title: str, unit: str = "", label_key: str = ""
) -> SafeString:
    """Horizontal interval plot: one row per estimate (point = effect, whisker = interval), zero line.

    Every row must share one unit (`unit`, said on the axis): KS2 points and Progress 8 are never on one axis.
    Labels are wrapped, never cut; the zero label sits above the plot, the range labels below it.
    """
    labels = [_wrap(str(r[label_key]) if label_key else f"{r['group']} · {r['measure_label']}") for r in rows]
    label_w, plot_w, value_w, top = 340, 320, 210, 46
    heights = [max(28, 16 * len(lb) + 10) for lb in labels]
    width = label_w + plot_w + value_w
    height = top + sum(heights) + 40
    lo, hi = _range([r.get("ci_low") for r in rows] + [r.get("ci_high") for r in rows])

    def x(v: float) -> float:
        return label_w + (v - lo) / (hi - lo) * plot_w

    desc = "; ".join(
        f"{' '.join(lb)}: {_fmt(r['effect'])} ({_fmt(r['ci_low'])} to {_fmt(r['ci_high'])}), "
        f"{r['n_treated']} schools"
        for lb, r in zip(labels, rows, strict=True)
    )
    parts = _open(chart_id, title, desc or "No estimates", width, height)
    axis = f"Effect{f' in {unit}' if unit else ''} with 95% interval (worse ← 0 → better)"
    parts.append(f'<text x="{label_w}" y="16" font-size="13" fill="{BLACK}">{escape(axis)}</text>')
    parts.append(
        f'<text x="{_n(x(0))}" y="{top - 8}" text-anchor="middle" font-size="13" fill="{BLACK}">0 (no effect)</text>'
    )
    parts.append(
        f'<line x1="{_n(x(0))}" y1="{top - 4}" x2="{_n(x(0))}" y2="{height - 30}" stroke="{BLACK}" stroke-width="2"/>'
    )
    parts.append(f'<text x="{label_w}" y="{height - 10}" font-size="13" fill="{GREY}">{lo:+.2f}</text>')
    parts.append(
        f'<text x="{label_w + plot_w}" y="{height - 10}" text-anchor="end" font-size="13" fill="{GREY}">'
        f"{hi:+.2f}</text>"
    )
    y0 = float(top)
    for lb, h, r in zip(labels, heights, rows, strict=True):
        y = y0 + h / 2
        first = y - 8 * (len(lb) - 1)
        tspans = "".join(
            f'<tspan x="{label_w - 10}" y="{_n(first + 16 * i + 4)}">{escape(t)}</tspan>'
            for i, t in enumerate(lb)
        )
        parts.append(f'<text text-anchor="end" font-size="13" fill="{BLACK}">{tspans}</text>')
        y0 += h
        if r.get("effect") is None:
            parts.append(
                f'<text x="{label_w + plot_w + 8}" y="{_n(y + 4)}" font-size="13" fill="{GREY}">no estimate</text>'
            )
            continue
        if r.get("ci_low") is not None and r.get("ci_high") is not None:
            parts.append(
                f'<line x1="{_n(x(r["ci_low"]))}" y1="{_n(y)}" x2="{_n(x(r["ci_high"]))}" y2="{_n(y)}" '
                f'stroke="{BLUE}" stroke-width="3"/>'
            )
        parts.append(f'<circle cx="{_n(x(r["effect"]))}" cy="{_n(y)}" r="5" fill="{BLUE}" stroke="{BLACK}"/>')
        parts.append(
            f'<text x="{label_w + plot_w + 8}" y="{_n(y + 4)}" font-size="13" fill="{BLACK}">{_fmt(r["effect"])} '
            f"[{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}] n={r['n_treated']:,}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text is escaped above


def event_study_chart(
    leads: Mapping[str, Mapping[str, Any]], chart_id: str, title: str, unit: str = ""
) -> SafeString:
    """Leads and lags relative to the last year before the event (rel -1 = 0 by construction)."""
    rels = sorted({int(k) for k in leads} | {-1})
    width, height, left, right, top, bottom = 640, 300, 70, 20, 30, 50
    pts = {r: (leads.get(str(r)) or {}) for r in rels}
    vals = [p.get(k) for p in pts.values() for k in ("ci_low", "ci_high", "effect")]
    lo, hi = _range(vals)
    plot_w = width - left - right
    plot_h = height - top - bottom

    def x(r: int) -> float:
        return left + (rels.index(r) + 0.5) / len(rels) * plot_w

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * plot_h

    desc = "; ".join(
        f"year {r:+d}: {_fmt(pts[r].get('effect'), 3) if r != -1 else 'reference 0'}"
        + (f" ({_fmt(pts[r].get('ci_low'), 3)} to {_fmt(pts[r].get('ci_high'), 3)})" if r != -1 else "")
        for r in rels
    )
    parts = _open(chart_id, title, desc, width, height)
    parts.append(
        f'<line x1="{left}" y1="{_n(y(0))}" x2="{width - right}" y2="{_n(y(0))}" stroke="{BLACK}" stroke-width="1.5"/>'
    )
    parts.append(f'<text x="{left - 6}" y="{_n(y(0) + 4)}" text-anchor="end" font-size="12">0</text>')
    parts.append(
        f'<text x="{left - 6}" y="{_n(y(hi) + 12)}" text-anchor="end" font-size="12" fill="{GREY}">{hi:+.2f}</text>'
    )
    parts.append(
        f'<text x="{left - 6}" y="{_n(y(lo))}" text-anchor="end" font-size="12" fill="{GREY}">{lo:+.2f}</text>'
    )
    xe = (x(-1) + x(0)) / 2 if 0 in rels else x(-1)
    parts.append(
        f'<line x1="{_n(xe)}" y1="{top}" x2="{_n(xe)}" y2="{height - bottom}" stroke="{GREY}" stroke-dasharray="5,4"/>'
    )
    parts.append(f'<text x="{_n(xe + 4)}" y="{top + 10}" font-size="12" fill="{GREY}">event</text>')
    if unit:
        parts.append(f'<text x="{left}" y="{top - 12}" font-size="12" fill="{BLACK}">{escape(unit)}</text>')
    for r in rels:
        p = pts[r]
        parts.append(
            f'<text x="{_n(x(r))}" y="{height - bottom + 18}" text-anchor="middle" '
            f'font-size="12">{"before" if r < 0 else "after"} {r:+d}</text>'
        )
        e = 0.0 if r == -1 else p.get("effect")
        if e is None:
            continue
        colour = GREY if r < 0 else BLUE
        if r != -1 and p.get("ci_low") is not None and p.get("ci_high") is not None:
            parts.append(
                f'<line x1="{_n(x(r))}" y1="{_n(y(p["ci_low"]))}" x2="{_n(x(r))}" y2="{_n(y(p["ci_high"]))}" '
                f'stroke="{colour}" stroke-width="3"/>'
            )
        shape = (
            f'<rect x="{_n(x(r) - 5)}" y="{_n(y(e) - 5)}" width="10" height="10" fill="{colour}"/>'
            if r < 0
            else f'<circle cx="{_n(x(r))}" cy="{_n(y(e))}" r="5" fill="{colour}"/>'
        )
        parts.append(shape)
        parts.append(
            f'<text x="{_n(x(r) + 8)}" y="{_n(y(e) - 6)}" font-size="12">{"ref" if r == -1 else _fmt(e)}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{height - 8}" text-anchor="middle" font-size="12">Years relative '
        "to the event (squares: before — should sit near 0)</text>"
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308


def before_after_chart(
    series: Sequence[Mapping[str, Any]], first_post: int, last_pre: int, chart_id: str, title: str, label: str
) -> SafeString:
    """The school's own values and its comparison schools' mean by year, with the event marked."""
    years = [int(s["year"]) for s in series]
    width, height, left, right, top, bottom = 640, 280, 70, 150, 30, 44
    lo, hi = _range([s.get("value") for s in series] + [s.get("comparison") for s in series])
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(yr: int) -> float:
        return left + (years.index(yr) + 0.5) / len(years) * plot_w

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * plot_h

    desc = "; ".join(
        f"{s['year'] - 1}/{str(s['year'])[-2:]}: school {_fmt(s.get('value'))}, family {_fmt(s.get('comparison'))}"
        for s in series
    )
    parts = _open(chart_id, title, desc, width, height)
    if lo < 0 < hi:
        parts.append(
            f'<line x1="{left}" y1="{_n(y(0))}" x2="{left + plot_w}" y2="{_n(y(0))}" stroke="#b1b4b6"/>'
        )
    parts.append(
        f'<text x="{left - 6}" y="{_n(y(hi) + 12)}" text-anchor="end" font-size="12" fill="{GREY}">{hi:+.1f}</text>'
    )
    parts.append(
        f'<text x="{left - 6}" y="{_n(y(lo))}" text-anchor="end" font-size="12" fill="{GREY}">{lo:+.1f}</text>'
    )
    if last_pre in years:
        xe = x(last_pre) + (plot_w / len(years)) * (0.5 if first_post == last_pre + 1 else 1.0)
        parts.append(
            f'<line x1="{_n(xe)}" y1="{top}" x2="{_n(xe)}" y2="{height - bottom}" stroke="{GREY}" '
            'stroke-dasharray="5,4"/>'
        )
        parts.append(f'<text x="{_n(xe + 4)}" y="{top + 10}" font-size="12" fill="{GREY}">event</text>')
    for key, colour, dash, name in (
        ("value", BLUE, "", "This school"),
        ("comparison", BLACK, ' stroke-dasharray="6,4"', "Family mean"),
    ):
        pts = [(x(s["year"]), y(s[key])) for s in series if s.get(key) is not None]
        if len(pts) > 1:
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2.5"{dash} '
                f'points="{" ".join(f"{_n(a)},{_n(b)}" for a, b in pts)}"/>'
            )
        for a, b in pts:
            parts.append(f'<circle cx="{_n(a)}" cy="{_n(b)}" r="4" fill="{colour}"/>')
        if pts:
            parts.append(
                f'<text x="{_n(pts[-1][0] + 10)}" y="{_n(pts[-1][1] + 4)}" font-size="12" fill="{colour}">{name}</text>'
            )
    for yr in years:
        parts.append(
            f'<text x="{_n(x(yr))}" y="{height - bottom + 18}" text-anchor="middle" '
            f'font-size="12">{yr - 1}/{str(yr)[-2:]}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{height - 6}" text-anchor="middle" font-size="12">{escape(label)}</text>'
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308
