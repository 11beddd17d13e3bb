"""`schoolpartners similarity`: recompute and store the national similar-schools results, or print coverage.

    schoolpartners similarity recompute [--family-size 50] [--radius 75] [--weights fsm=1,eal=1,sen=1,nor=1]
                                        [--year 2019] [--robust] [--no-current]
                                        [--preset intake-2025] [--any-rating]
    schoolpartners similarity coverage [--json] [--run ID] [--robust]
    schoolpartners similarity reach [--json]

`recompute` reads the census and results from the database, runs `similarity.core.national_recompute` and stores
one run (replacing the previous run of the same method). Without options it computes the default method
(docs/methodology-similarity.md). `coverage --json` prints the current run's England coverage by phase and
radius (default rule) as {"primary": {"10": percent, ...}, "secondary": {...}}. `--preset intake-2025` computes
the 2024/25 intake run (every open mainstream school gets a family; secondary headline Attainment 8 2024/25,
primary the last published KS2 progress through the results lineage). `--any-rating` lets a partner have any
Ofsted judgement (by default not Requires Improvement or Inadequate; stored with the run). `reach --json` prints,
by phase, the open mainstream schools of the 2024/25 census, how many reach a family and a partner (directly or
through their results lineage, in any stored run) and the reasons for none (`similarity.reach`).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from similarity import queries, reach, services
from similarity.method import DEFAULT_METHOD, INTAKE_2025_METHOD, Method

PRESETS = {"default": DEFAULT_METHOD, "intake-2025": INTAKE_2025_METHOD}

WEIGHT_ALIASES = {"fsm": "PNUMFSMEVER", "eal": "PNUMEAL", "sen": "PSEN", "nor": "LOG_NOR"}


def parse_weights(text: str, method: Method = DEFAULT_METHOD) -> tuple[tuple[str, float], ...]:
    """ "fsm=2,eal=1,sen=1,nor=0" -> features with weights; a weight of 0 drops the feature."""
    known = dict(method.features)
    given: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        if "=" not in part:
            raise CommandError(f"--weights: {part!r} is not name=weight")
        name, value = (s.strip() for s in part.split("=", 1))
        feature = WEIGHT_ALIASES.get(name.lower(), name.upper())
        if feature not in known:
            raise CommandError(f"--weights: unknown feature {name!r} (use {', '.join(WEIGHT_ALIASES)})")
        try:
            weight = float(value)
        except ValueError as exc:
            raise CommandError(f"--weights: {value!r} is not a number") from exc
        if weight < 0:
            raise CommandError("--weights: weights must be >= 0")
        given[feature] = weight
    features = tuple((f, given.get(f, w)) for f, w in method.features if given.get(f, w) > 0)
    if not features:
        raise CommandError("--weights: at least one feature needs a positive weight")
    return features


class Command(BaseCommand):
    help = "Similar schools: recompute and store the national results, or print coverage."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{recompute,coverage,reach}")
        rec = sub.add_parser("recompute", help="recompute families, partners, coverage, strengths and pairs")
        rec.add_argument(
            "--family-size", type=int, default=DEFAULT_METHOD.family_size, help="family size K (50)"
        )
        rec.add_argument(
            "--radius", type=float, default=DEFAULT_METHOD.radius_miles, help="partner radius, miles (75)"
        )
        rec.add_argument(
            "--weights", default="", help="feature weights, e.g. fsm=1,eal=1,sen=1,nor=1 (0 drops one)"
        )
        rec.add_argument(
            "--year", type=int, default=DEFAULT_METHOD.year, help="academic year end (2019 = 2018/19)"
        )
        rec.add_argument("--robust", action="store_true", help="pages show the robust partner for this run")
        rec.add_argument(
            "--no-current", dest="current", action="store_false", help="store without making it current"
        )
        rec.add_argument("--preset", choices=sorted(PRESETS), default="default", help="method preset")
        rec.add_argument(
            "--any-rating",
            action="store_true",
            help="a partner may have any Ofsted judgement (default: not Requires Improvement or Inadequate)",
        )
        rea = sub.add_parser("reach", help="open schools with a family and a partner, by phase")
        rea.add_argument("--json", action="store_true", help="print the figures as JSON")
        cov = sub.add_parser("coverage", help="print coverage from a stored run")
        cov.add_argument("--json", action="store_true", help='print {"primary": {"10": percent, ...}, ...}')
        cov.add_argument("--run", type=int, help="stored run id (default: the current run)")
        cov.add_argument("--robust", action="store_true", help="the robust rule instead of the default rule")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["action"] == "recompute":
            self.recompute(opts)
        elif opts["action"] == "reach":
            self.reach(opts)
        else:
            self.coverage(opts)

    # ------------------------------------------------------------------------------------------------------
    def method_from(self, opts: dict[str, Any]) -> Method:
        base = PRESETS[opts.get("preset") or "default"]
        changes: dict[str, Any] = {
            "family_size": opts["family_size"],
            "radius_miles": opts["radius"],
            "robust": opts["robust"],
        }
        if opts.get("any_rating"):
            changes["partner_exclude_ratings"] = ()
        if opts["year"] != DEFAULT_METHOD.year:
            y = opts["year"]
            changes["year"] = y
            changes["robust_years"] = (y - 2, y - 1, y)
        if opts["weights"]:
            changes["features"] = parse_weights(opts["weights"])
        try:
            return base.with_(**changes)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

    def recompute(self, opts: dict[str, Any]) -> None:
        method = self.method_from(opts)
        self.stderr.write(f"Method: {method.description()}")
        bars: dict[str, tqdm[Any]] = {}
        stream = getattr(
            self.stderr, "_out", sys.stderr
        )  # the raw stream: tqdm redraws with carriage returns

        def progress(step: str, done: int, total: int) -> None:
            bar = bars.get(step)
            if bar is None:
                unit = "school" if step == "write" else "step"
                bar = bars[step] = tqdm(total=total, desc=step, file=stream, unit=unit, dynamic_ncols=True)
            bar.update(done - bar.n)
            if done >= total:
                bar.close()

        t0 = time.perf_counter()
        try:
            report = services.recompute(method, make_current=opts["current"], progress=progress)
        except services.EmptyPopulation as exc:
            raise CommandError(str(exc)) from exc
        wall = time.perf_counter() - t0
        run = report.run
        s = report.seconds
        self.stdout.write(
            f"Stored run {run.pk} [method {run.method_hash}]{' (current)' if run.is_current else ''}: "
            + ", ".join(f"{p} {n:,} schools" for p, n in run.populations.items())
            + (f"; replaced {report.replaced} earlier run(s) of this method" if report.replaced else "")
        )
        self.stdout.write(
            f"Time: read {s['read']:.2f} s, compute {s['compute']:.2f} s, write {s['write']:.2f} s; "
            f"total {wall:.2f} s"
        )
        for phase, curve in queries.coverage_summary(run).items():
            self.stdout.write(
                f"Coverage {phase}: "
                + ", ".join(f"{r} mi {p:.1f}%" for r, p in curve.items() if p is not None)
            )

    def coverage(self, opts: dict[str, Any]) -> None:
        try:
            run = queries.get_run(opts.get("run"))
        except queries.RunNotFound as exc:
            raise CommandError(f"no stored run {exc}") from exc
        if run is None:
            raise CommandError("no similarity run is stored: run `schoolpartners similarity recompute` first")
        summary = queries.coverage_summary(run, robust=opts["robust"])
        if opts["json"]:
            self.stdout.write(json.dumps(summary))
            return
        radii = sorted({int(r) for curve in summary.values() for r in curve})
        rule = "robust" if opts["robust"] else "default"
        self.stdout.write(f"Run {run.pk}: {run.description}")
        self.stdout.write(
            f"Share of schools with a better-performing family member within R miles ({rule} rule)"
        )
        header = f"{'phase':<10} {'schools':>8} " + " ".join(f"{str(r) + ' mi':>8}" for r in radii)
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for phase, curve in summary.items():
            n = run.populations.get(phase, 0)
            cells = " ".join(
                f"{curve[str(r)]:>7.1f}%" if curve.get(str(r)) is not None else f"{'-':>8}" for r in radii
            )
            self.stdout.write(f"{phase:<10} {n:>8,} {cells}")

    def reach(self, opts: dict[str, Any]) -> None:
        figures = reach.reach()
        if opts["json"]:
            self.stdout.write(json.dumps(figures, indent=2))
            return
        for phase, f in figures["phases"].items():
            self.stdout.write(
                f"{phase}: {f['open_schools']:,} open schools; family {f['with_family']:,} "
                f"({f['family_percent']:.1f}%); partner {f['with_partner']:,} ({f['partner_percent']:.1f}%), "
                f"any Ofsted judgement {f['with_partner_any_rating']:,} ({f['partner_any_rating_percent']:.1f}%)"
            )
            for reason, n in f["no_family"].items():
                self.stdout.write(f"  no family, {reason}: {n:,}")
            for reason, n in f["no_partner"].items():
                self.stdout.write(f"  no partner, {reason}: {n:,}")
