"""`schoolpartners evaluation run`: estimate and store the national "what works" effects.

    schoolpartners evaluation run [--n-boot 999] [--seed N] [--min-group 10] [--min-comparison 5] [--json]

Reads events (GIAS links, support activities), results 2016-2019 and similar-schools families from the
database, runs `evaluation.engine` and stores one `EvaluationRun` (the current one) with its estimates and each
treated school's before-and-after series. `--json` prints the timings and the headline estimates.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from evaluation import queries, services
from evaluation.designs import DEFAULT_DESIGN
from evaluation.engine import DEFAULT_SETTINGS, Settings


class Command(BaseCommand):
    help = "What works: estimate and store the national effects of conversions, sponsor changes and support."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{run}")
        run = sub.add_parser("run", help="run the national evaluation and store it as the current run")
        run.add_argument("--n-boot", type=int, default=DEFAULT_SETTINGS.n_boot)
        run.add_argument("--seed", type=int, default=DEFAULT_SETTINGS.seed)
        run.add_argument("--min-group", type=int, default=DEFAULT_SETTINGS.min_group)
        run.add_argument("--min-comparison", type=int, default=DEFAULT_SETTINGS.min_comparison)
        run.add_argument(
            "--min-treated", type=int, default=DEFAULT_DESIGN.min_treated, help="schools a design needs"
        )
        run.add_argument("--json", action="store_true", help="print timings and headline estimates as JSON")

    def handle(self, *args: Any, **opts: Any) -> None:
        settings = Settings(
            n_boot=opts["n_boot"],
            seed=opts["seed"],
            min_group=opts["min_group"],
            min_comparison=opts["min_comparison"],
        )
        design = replace(DEFAULT_DESIGN, min_treated=opts["min_treated"])
        rep = services.run_national(settings, design_settings=design)
        designs = []
        for et in [t["code"] for t in queries.event_types(rep.run)]:
            for d in queries.design_rows(rep.run, et):
                if d["status"] != "not_enough":
                    designs.append(
                        {
                            k: d[k]
                            for k in (
                                "event_type",
                                "group",
                                "design",
                                "measure",
                                "effect",
                                "ci_low",
                                "ci_high",
                                "n_treated",
                                "n_comparison",
                                "n_clusters",
                                "status",
                                "headline",
                                "placebos",
                                "balance",
                                "leads",
                            )
                        }
                    )
        heads = []
        for et in [t["code"] for t in queries.event_types(rep.run)]:
            for r in queries.headline_rows(queries.effect_rows(rep.run, et)):
                if r["group_kind"] != "trust":
                    heads.append(
                        {
                            k: r[k]
                            for k in (
                                "event_type",
                                "group",
                                "measure",
                                "effect",
                                "ci_low",
                                "ci_high",
                                "n_treated",
                                "n_comparison",
                                "lead_2",
                                "lead_2_low",
                                "lead_2_high",
                            )
                        }
                    )
        if opts["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "run": rep.run.pk,
                        "estimates": rep.estimates,
                        "school_events": rep.school_events,
                        "read_seconds": round(rep.read_seconds, 3),
                        "compute_seconds": round(rep.compute_seconds, 3),
                        "write_seconds": round(rep.write_seconds, 3),
                        "total_seconds": round(rep.total_seconds, 3),
                        "counts": rep.run.counts,
                        "headline": heads,
                        "designs": designs,
                    },
                    indent=1,
                )
            )
            return
        self.stdout.write(
            f"Stored evaluation run {rep.run.pk} (current): {rep.estimates} estimates, "
            f"{rep.school_events} school events; families from {rep.run.families_source}"
        )
        self.stdout.write(
            f"Time: read {rep.read_seconds:.2f} s, compute {rep.compute_seconds:.2f} s, "
            f"write {rep.write_seconds:.2f} s; total {rep.total_seconds:.2f} s"
        )
        for h in heads:
            self.stdout.write(
                f"  {h['event_type']:<15} {h['group']:<32} {h['measure']:<13} {h['effect']:+.3f} "
                f"[{h['ci_low']:+.3f}, {h['ci_high']:+.3f}] n={h['n_treated']} comparison={h['n_comparison']}"
            )
