"""The DfE July 2014 academies survey figures the support report shows beside the ledger's own.

Read from the copy bundled with the app (data/reference/academies_survey_2014.csv, provenance in its README):
the app runs without ../shared. Each row is a published percentage of responding academies in a group; `key`
names the matching ledger measure where there is one (`LEDGER_TYPE` maps it to a `SupportType`).
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings

FILE = "academies_survey_2014.csv"
SOURCE = (
    'Department for Education, "Do academies make use of their autonomy?" (research report, July 2014), '
    "survey of academies, summary figures; Crown copyright, Open Government Licence v3.0"
)
# survey key -> the ledger's support type (support.models.SupportType)
LEDGER_TYPE = {
    "joint_practice": "jpd",
    "middle_leadership": "middle_leadership",
    "cpd_courses": "cpd",
    "senior_leadership": "senior_leadership",
    "deploy_sle_lle_nle": "system_leader",
    "secondment": "secondment",
    "governance_review": "governance",
}
COLUMNS = [("measure", "Measure"), ("group", "Group"), ("percent", "% (DfE survey, July 2014)")]


def path() -> Path:
    return Path(settings.BASE_DIR) / "data" / "reference" / FILE


@cache
def survey_2014() -> tuple[dict[str, Any], ...]:
    """Every published figure: key, measure, group, percent (a number), base (None: not published)."""
    with path().open(encoding="utf-8", newline="") as f:
        return tuple(
            {
                "key": r["key"],
                "measure": r["measure"],
                "group": r["group"],
                "percent": float(r["percent"]),
                "base": int(r["base"]) if r["base"].strip() else None,
            }
            for r in csv.DictReader(f)
        )


def figure(key: str, group: str = "all academies") -> float | None:
    """The published percentage for a key and group (None when the survey gave none)."""
    return next((r["percent"] for r in survey_2014() if r["key"] == key and r["group"] == group), None)


def split(key: str) -> str:
    """The survey's figures for a key by group other than all academies, in words ("converter 42%; ...")."""
    return "; ".join(
        f"{r['group']} {r['percent']:g}%"
        for r in survey_2014()
        if r["key"] == key and r["group"] != "all academies"
    )
